//! `safeguard demo`: fictional organisations, accounts and reports, then the server.

use std::net::SocketAddr;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use safeguard_domain::report::{FileRelevance, IntakeState, ReportSource};
use safeguard_engine::accounts;
use safeguard_engine::demo::{synthetic_image, DemoReports, ORGS, USERS};
use safeguard_engine::linking::{link_report, LinkConfig, NoPdq};
use safeguard_store::{NewFile, Store, Submission};
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
}

const ACTOR: &str = "demo";

/// The example routing rules, which name the demo organisations.
const EXAMPLE_RULES: &str = include_str!("../../../../config/routing.example.toml");

pub async fn run(global: GlobalArgs, args: DemoArgs) -> anyhow::Result<ExitCode> {
    runtime::init_logging("info,sqlx=warn,tower_http=warn");
    let store = runtime::open_store(&global).await?;
    let vault = runtime::open_vault(&global.data_dir)?;
    if store.list_orgs().await?.is_empty() {
        seed(&store, &vault, args.reports).await?;
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
    // The demo routes its reports with the example rules (EU countries through the demo
    // coordinator), so priorities and referrals appear within seconds of start.
    let rules = global.data_dir.join("routing.toml");
    if !rules.exists() {
        std::fs::write(&rules, EXAMPLE_RULES)?;
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

/// Demo data sets up to this size are cross-checked (linked) when created.
const LINK_AT_SEED_UP_TO: u64 = 20_000;

/// Distinct synthetic pictures in the demo; reports share them, as real reports share files.
const DEMO_IMAGES: u64 = 60;

async fn seed(store: &Store, vault: &Vault, reports: u64) -> anyhow::Result<()> {
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
    for _ in 0..reports {
        let report = generator.next_report();
        let (stored, _) = store
            .insert_report(&Submission {
                source: ReportSource::Demo,
                reporter_org: company.id,
                holder_org: hotline.id,
                submitted_by: None,
                actor: ACTOR,
                state: IntakeState::Finished,
                report: &report,
                original: None,
                idempotency: None,
            })
            .await?;
        // Received a little after the incident, so the queue shows ages and the charts show days.
        let received =
            (report.incident.occurred_at + time::Duration::minutes(rng.gen_range(5..600))).min(now);
        store
            .backdate_demo_report(stored.report.id, received)
            .await?;
        for n in 0..rng.gen_range(0..3) {
            let blob = &images[rng.gen_range(0..images.len())];
            let file_id = format!("{:032x}", rng.gen::<u128>());
            store
                .attach_file(&NewFile {
                    report: stored.report.id,
                    file_id: &file_id,
                    digests: blob.digests,
                    size: blob.size,
                    original_name: Some(&format!("demo-pattern-{n}.png")),
                    media_type: Some("image/png"),
                    relevance: FileRelevance::Reported,
                    actor_user: None,
                    actor: ACTOR,
                })
                .await?;
        }
        bar.inc(1);
    }
    bar.finish();
    // Victim identification: series of synthetic scenes with visible clues, an object on the
    // public Trace-an-Object site, a taskforce edition.
    safeguard_engine::victim::demo::seed(store, vault, hotline.id).await?;
    // Cross-check the reports, so the cluster view and deconfliction have something to show
    // (one transaction per report: large benchmark data sets skip it, `safeguard link run`
    // does it later).
    if reports > LINK_AT_SEED_UP_TO {
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
