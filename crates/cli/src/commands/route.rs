//! `safeguard route`: jurisdiction, priority and referrals for stored reports.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use safeguard_domain::report::ReportId;
use safeguard_engine::routing::{self, Router, RulesFile};
use safeguard_geo::Geolocator;

use super::{runtime, GlobalArgs};

/// `safeguard route --rules FILE (--report ID | --all | --pending)`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["report", "all", "pending"])))]
pub struct RouteArgs {
    /// The routing rule file (TOML; see config/routing.example.toml).
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    /// Route one report and print the outcome as JSON.
    #[arg(long, value_name = "ID")]
    pub report: Option<i64>,
    /// Route every stored report (idempotent: existing referrals are kept, not duplicated).
    #[arg(long)]
    pub all: bool,
    /// Process the pending `report.finished` jobs once.
    #[arg(long)]
    pub pending: bool,
    /// Reports routed at the same time with --all.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// MaxMind-format database(s) to prefer over the bundled geolocation data.
    #[arg(long = "mmdb", value_name = "FILE")]
    pub mmdb: Vec<PathBuf>,
    /// Anonymiser lists (`CIDR LABEL` lines): matching addresses count as proxies.
    #[arg(long = "anonymisers", value_name = "FILE")]
    pub anonymisers: Vec<PathBuf>,
}

pub async fn run(global: GlobalArgs, args: RouteArgs) -> anyhow::Result<ExitCode> {
    runtime::init_logging("warn,sqlx=warn");
    let rules = RulesFile::load(&args.rules)?;
    let store = runtime::open_store(&global).await?;
    let mut builder = Geolocator::builder().data_dir(&global.data_dir);
    for path in &args.mmdb {
        builder = builder.mmdb(path);
    }
    for path in &args.anonymisers {
        builder = builder.anonymiser_file(path);
    }
    let geo = Arc::new(builder.build().context("loading geolocation data")?);
    if args.pending {
        let done = routing::process_finished_jobs(&store, &geo, &rules, "cli").await?;
        println!("{}", serde_json::to_string(&done)?);
        return Ok(if done.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let router = Arc::new(Router::new(&store, rules.current()).await?);
    if let Some(id) = args.report {
        let outcome = routing::route_report(&store, &geo, &router, ReportId(id)).await?;
        println!("{}", serde_json::to_string_pretty(&outcome)?);
        return Ok(ExitCode::SUCCESS);
    }
    let total = u64::try_from(store.count_reports().await?).unwrap_or(0);
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template(
            "routing {bar:40} {pos}/{len} reports ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut after = 0;
    let mut routed = 0u64;
    let mut failed = 0u64;
    loop {
        let ids = store.report_ids_after(after, 1000).await?;
        let Some(last) = ids.last() else { break };
        after = last.0;
        let mut tasks = tokio::task::JoinSet::new();
        for chunk in ids.chunks(ids.len().div_ceil(args.concurrency.max(1))) {
            let chunk = chunk.to_vec();
            let (store, geo, router, bar) =
                (store.clone(), geo.clone(), router.clone(), bar.clone());
            tasks.spawn(async move {
                let mut failures = Vec::new();
                // 100 reports per transaction; a batch that fails is retried one by one so that
                // the failure is reported against its report and the others are still routed.
                for batch in chunk.chunks(100) {
                    let reports: Vec<_> = batch.iter().map(|&id| (id, None)).collect();
                    let now = time::OffsetDateTime::now_utc();
                    if routing::route_reports_with(&store, &geo, &router, &reports, now)
                        .await
                        .is_err()
                    {
                        for &id in batch {
                            if let Err(e) = routing::route_report(&store, &geo, &router, id).await {
                                failures.push(format!("report {id}: {e}"));
                            }
                        }
                    }
                    bar.inc(batch.len() as u64);
                }
                failures
            });
        }
        while let Some(joined) = tasks.join_next().await {
            for failure in joined.context("routing task")? {
                bar.suspend(|| eprintln!("{failure}"));
                failed += 1;
            }
        }
        routed += ids.len() as u64;
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "routed {} reports ({failed} failed) in {seconds:.1} s: {:.0} reports/s",
        routed - failed,
        routed as f64 / seconds.max(1e-9)
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
