//! `safeguard hash`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct HashArgs {
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Files to hash.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(_global: &GlobalArgs, _args: HashArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("safeguard hash is not built yet")
}
