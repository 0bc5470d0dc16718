//! `safeguard demo`: fictional organisations, accounts and reports, then the server.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use safeguard_domain::report::{FileRelevance, IntakeState, ReportSource};
use safeguard_engine::accounts;
use safeguard_engine::demo::{synthetic_image, DemoReports, ORGS, USERS};
use safeguard_engine::linking::{link_report, LinkConfig, NoPdq};
use safeguard_store::{DemoBulkReport, NewFile, Store, Submission};
use safeguard_vault::Vault;
use time::OffsetDateTime;

use super::{runtime, serve, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Number of fictional reports to create in a fresh database.
    #[arg(long, default_value_t = 2_000)]
    pub reports: u64,
    /// Address to listen on.
    #[arg(long, env = "SAFEGUARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Also serve the public "Trace an Object" site on this address.
    #[arg(long, env = "SAFEGUARD_PUBLIC_LISTEN", value_name = "ADDR")]
    pub public_listen: Option<SocketAddr>,
    /// Create the data and exit instead of serving.
    #[arg(long)]
    pub no_serve: bool,
    /// Demo sets up to this many reports go through the after-acknowledgement pipeline and are
    /// cross-checked at once; larger ones are stored and routed in batches as they are created
    /// (about a thousand reports a second) and cross-checked later by `safeguard link run`.
    #[arg(long, default_value_t = 20_000)]
    pub pipeline_up_to: u64,
}

const ACTOR: &str = "demo";

/// The example routing rules, which name the demo organisations.
const EXAMPLE_RULES: &str = include_str!("../../../../config/routing.example.toml");

pub async fn run(global: GlobalArgs, args: DemoArgs) -> anyhow::Result<ExitCode> {
    runtime::init_logging("info,sqlx=warn,tower_http=warn");
    let store = runtime::open_store(&global).await?;
    let vault = runtime::open_vault(&global.data_dir)?;
    // The demo routes its reports with the example rules (EU countries through the demo
    // coordinator), so priorities and referrals appear within seconds of start.
    let rules = global.data_dir.join("routing.toml");
    if !rules.exists() {
        std::fs::write(&rules, EXAMPLE_RULES)?;
    }
    if store.list_orgs().await?.is_empty() {
        seed(&store, &vault, args.reports, args.pipeline_up_to, &rules).await?;
    } else {
        eprintln!("the database already has organisations: keeping its data, not adding demo data");
    }
    let mut banner = String::from("DEMO DATA — every person, account and report is fictional.\nDemo accounts (username / password):\n");
    for user in USERS {
        banner.push_str(&format!(
            "  {:<18} {:<28} {} of {}\n",
            user.username, user.password, user.role, user.org
        ));
    }
    if args.no_serve {
        println!("{banner}");
        return Ok(ExitCode::SUCCESS);
    }
    super::background::spawn_pipeline(&store, &vault, &global.data_dir, Some(&rules), 300)?;
    serve::serve(
        store,
        vault,
        &global.data_dir,
        args.listen,
        args.public_listen,
        Some(banner),
        safeguard_engine::intake::DEFAULT_MAX_UPLOAD,
        Some(safeguard_server::ratelimit::RateLimits::default()),
    )
    .await
}

/// Distinct synthetic pictures in the demo; reports share them, as real reports share files.
const DEMO_IMAGES: u64 = 60;

/// Reports stored per transaction.
const BATCH: u64 = 500;

/// The example rules and the bundled geolocation data, for routing a large demo set as it is
/// created.
async fn scale_routing(
    store: &Store,
    rules: &std::path::Path,
) -> anyhow::Result<(safeguard_geo::Geolocator, safeguard_engine::routing::Router)> {
    let file = safeguard_engine::routing::RulesFile::load(rules)?;
    let router = safeguard_engine::routing::Router::new(store, file.current()).await?;
    let data_dir = rules.parent().unwrap_or(std::path::Path::new("."));
    let geo = safeguard_geo::Geolocator::builder()
        .data_dir(data_dir)
        .build()
        .context("loading geolocation data")?;
    Ok((geo, router))
}

async fn seed(
    store: &Store,
    vault: &Vault,
    reports: u64,
    pipeline_up_to: u64,
    rules_path: &std::path::Path,
) -> anyhow::Result<()> {
    for org in ORGS {
        accounts::add_org(store, org.name, org.kind, org.country, ACTOR).await?;
    }
    for user in USERS {
        accounts::add_user(
            store,
            user.org,
            user.username,
            user.role,
            user.password,
            ACTOR,
        )
        .await?;
    }
    let hotline = store.org_by_name(ORGS[0].name).await?;
    let company = store.org_by_name("Demo Social Network").await?;
    let bar = ProgressBar::new(reports).with_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} reports ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("creating demo reports");
    let mut images = Vec::new();
    for seed in 0..DEMO_IMAGES {
        images.push(vault.put_bytes(&synthetic_image(seed))?);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let now = OffsetDateTime::now_utc();
    let mut generator = DemoReports::new(2026, now);
    // Small demo sets go through the after-acknowledgement pipeline (a `report.finished` job
    // each: matching, routing, linking, within seconds of start); large ones are routed here,
    // batch by batch, and linked later by `safeguard link run`.
    let at_scale = reports > pipeline_up_to;
    let routing = if at_scale {
        Some(scale_routing(store, rules_path).await?)
    } else {
        None
    };
    let names: Vec<String> = (0..3).map(|n| format!("demo-pattern-{n}.png")).collect();
    let mut left = reports;
    while left > 0 {
        let n = left.min(BATCH);
        left -= n;
        let mut batch = Vec::with_capacity(n as usize);
        let mut file_ids = Vec::new();
        for _ in 0..n {
            let report = generator.next_report();
            // Received a little after the incident, so the queue shows ages and the charts
            // show days.
            let received = (report.incident.occurred_at
                + time::Duration::minutes(rng.gen_range(5..600)))
            .min(now);
            let files: Vec<(usize, String, usize)> = (0..rng.gen_range(0..3))
                .map(|k| {
                    let image = rng.gen_range(0..images.len());
                    (k, format!("{:032x}", rng.gen::<u128>()), image)
                })
                .collect();
            file_ids.push(files);
            batch.push((report, received));
        }
        let bulk: Vec<DemoBulkReport<'_>> = batch
            .iter()
            .zip(&file_ids)
            .map(|((report, received), files)| DemoBulkReport {
                submission: Submission {
                    source: ReportSource::Demo,
                    reporter_org: company.id,
                    holder_org: hotline.id,
                    submitted_by: None,
                    actor: ACTOR,
                    state: IntakeState::Finished,
                    report,
                    original: None,
                    idempotency: None,
                },
                received_at: *received,
                files: files
                    .iter()
                    .map(|(k, file_id, image)| NewFile {
                        report: safeguard_domain::report::ReportId(0),
                        file_id,
                        digests: images[*image].digests,
                        size: images[*image].size,
                        original_name: Some(&names[*k]),
                        media_type: Some("image/png"),
                        relevance: FileRelevance::Reported,
                        actor_user: None,
                        actor: ACTOR,
                    })
                    .collect(),
            })
            .collect();
        let ids = store.insert_demo_reports(&bulk, !at_scale).await?;
        if let Some((geo, router)) = &routing {
            for chunk in ids.chunks(100) {
                let reports: Vec<_> = chunk.iter().map(|&id| (id, None)).collect();
                safeguard_engine::routing::route_reports_with(
                    store,
                    geo,
                    router,
                    &reports,
                    OffsetDateTime::now_utc(),
                )
                .await?;
            }
        }
        bar.inc(n);
    }
    bar.finish();
    // Victim identification: series of synthetic scenes with visible clues, an object on the
    // public Trace-an-Object site, a taskforce edition.
    safeguard_engine::victim::demo::seed(store, vault, hotline.id).await?;
    // Cross-check the reports, so the cluster view and deconfliction have something to show
    // (one transaction per report: large benchmark data sets skip it, `safeguard link run`
    // does it later).
    if at_scale {
        eprintln!(
            "{reports} reports: not cross-checking them now (run `safeguard link run` for that)"
        );
        return Ok(());
    }
    let config = LinkConfig::default();
    let mut pdq = NoPdq;
    for id in store.unlinked_reports(i64::MAX).await? {
        link_report(store, id, &config, &mut pdq).await?;
    }
    Ok(())
}
