//! `safeguard geo`.

use std::process::ExitCode;

use super::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct GeoArgs {
    /// IP addresses to look up.
    #[arg(required = true)]
    pub ips: Vec<String>,
}

pub fn run(_global: &GlobalArgs, _args: GeoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("safeguard geo is not built yet")
}
