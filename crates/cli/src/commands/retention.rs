//! `safeguard retention show|purge`: the periods in force, and the purge of what they make due
//! (rows and evidence files deleted, tombstones with hashes and audit entries kept).

use std::path::PathBuf;
use std::process::ExitCode;

use safeguard_engine::retention::{purge_due, RetentionPolicy};
use time::OffsetDateTime;

use super::{runtime, GlobalArgs};

#[derive(Debug, clap::Subcommand)]
pub enum RetentionCommand {
    /// The period of each data class and how many rows are due now.
    Show(RetentionArgs),
    /// Delete what is due now (or only count it with --dry-run).
    Purge {
        #[command(flatten)]
        args: RetentionArgs,
        /// Count what is due without deleting anything.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct RetentionArgs {
    /// Retention file (TOML: days per data class, or "keep"); the defaults without it.
    #[arg(long, env = "SAFEGUARD_RETENTION", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

fn policy(args: &RetentionArgs) -> anyhow::Result<RetentionPolicy> {
    Ok(match &args.config {
        Some(file) => RetentionPolicy::load(file)?,
        None => RetentionPolicy::default(),
    })
}

pub async fn run(global: GlobalArgs, cmd: RetentionCommand) -> anyhow::Result<ExitCode> {
    let store = runtime::open_store(&global).await?;
    let vault = runtime::open_vault(&global.data_dir)?;
    let (args, dry_run) = match &cmd {
        RetentionCommand::Show(args) => (args, true),
        RetentionCommand::Purge { args, dry_run } => (args, *dry_run),
    };
    let policy = policy(args)?;
    let run = purge_due(&store, &vault, &policy, OffsetDateTime::now_utc(), dry_run).await?;
    for (class, period) in policy.periods() {
        let c = run.classes.get(&class).cloned().unwrap_or_default();
        let line = serde_json::json!({
            "class": class.as_str(),
            "period": period.to_string(),
            "due": c.due,
            "purged": c.purged,
            "files": c.files,
            "blobs_deleted": c.blobs_deleted,
        });
        println!("{line}");
    }
    if !dry_run {
        eprintln!(
            "{} row(s) purged; tombstones and audit entries kept (`safeguard audit verify`)",
            run.purged()
        );
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
