//! `safeguard demo`: fictional organisations, accounts and reports, then the server.

use std::net::SocketAddr;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use safeguard_domain::report::{IntakeState, ReportSource};
use safeguard_engine::accounts;
use safeguard_engine::demo::{DemoReports, ORGS, USERS};
use safeguard_store::{Store, Submission};
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
    /// Create the data and exit instead of serving.
    #[arg(long)]
    pub no_serve: bool,
}

const ACTOR: &str = "demo";

pub async fn run(global: GlobalArgs, args: DemoArgs) -> anyhow::Result<ExitCode> {
    runtime::init_logging("info,sqlx=warn,tower_http=warn");
    let store = runtime::open_store(&global).await?;
    if store.list_orgs().await?.is_empty() {
        seed(&store, args.reports).await?;
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
    serve::serve(
        store,
        args.listen,
        Some(banner),
        &global.data_dir,
        safeguard_engine::intake::DEFAULT_MAX_UPLOAD,
    )
    .await
}

async fn seed(store: &Store, reports: u64) -> anyhow::Result<()> {
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
    let mut generator = DemoReports::new(2026, OffsetDateTime::now_utc());
    for _ in 0..reports {
        let report = generator.next_report();
        store
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
        bar.inc(1);
    }
    bar.finish();
    Ok(())
}
