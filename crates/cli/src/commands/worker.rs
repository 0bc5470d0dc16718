//! `safeguard worker` (background jobs only, no HTTP) and `safeguard jobs` (the queue).

use std::path::PathBuf;
use std::process::ExitCode;

use super::background::{spawn_background, BackgroundArgs};
use super::{runtime, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// Routing rule file: the pipeline also routes finished reports (without it, it matches and
    /// links only).
    #[arg(long, env = "SAFEGUARD_ROUTING_RULES", value_name = "FILE")]
    pub rules: Option<PathBuf>,
    #[command(flatten)]
    pub background: BackgroundArgs,
}

/// Runs the node's background work until SIGINT or SIGTERM.
pub async fn run(global: GlobalArgs, args: WorkerArgs) -> anyhow::Result<ExitCode> {
    runtime::init_logging("info,sqlx=warn");
    let store = runtime::open_store(&global).await?;
    let vault = runtime::open_vault(&global.data_dir)?;
    spawn_background(
        &global,
        &store,
        &vault,
        args.rules.as_deref(),
        &args.background,
        true,
    )
    .await?;
    println!("Safeguard worker running (pid {})", std::process::id());
    use std::io::Write as _;
    std::io::stdout().flush()?;
    super::serve::shutdown_signal().await;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct JobsArgs {
    /// Put the parked jobs of this kind back in the queue (after fixing what made them fail).
    #[arg(long, value_name = "KIND")]
    pub retry_parked: Option<String>,
}

/// Prints the queue by kind (JSON lines), or re-queues parked jobs.
pub async fn jobs(global: GlobalArgs, args: JobsArgs) -> anyhow::Result<ExitCode> {
    let store = runtime::open_store(&global).await?;
    if let Some(kind) = &args.retry_parked {
        let n = store.retry_parked_jobs(kind).await?;
        println!("{n} parked {kind} job(s) back in the queue");
        return Ok(ExitCode::SUCCESS);
    }
    for count in store.job_counts().await? {
        println!("{}", serde_json::to_string(&count)?);
    }
    Ok(ExitCode::SUCCESS)
}
