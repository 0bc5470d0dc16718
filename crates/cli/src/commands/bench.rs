//! `safeguard bench intake`: a load generator for the CyberTipline intake. Many concurrent
//! reporters each run the full flow (submit → upload one file → fileinfo → finish) over
//! loopback HTTP, against `--url` or against a server started in this process on a temporary
//! data folder (SQLite); it prints reports/s and the latency percentiles.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::RngCore;
use safeguard_domain::account::{OrgKind, Role};
use safeguard_engine::accounts;
use safeguard_server::{AppState, ServerConfig};
use safeguard_store::{Store, StoreOptions};

use super::submit::{rewrite_element, IspwsClient};
use super::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Full CyberTipline reports per second over HTTP.
    Intake(IntakeBenchArgs),
}

#[derive(Debug, clap::Args)]
pub struct IntakeBenchArgs {
    /// Base URL of the API (e.g. http://127.0.0.1:8080/ispws); without it a server is started
    /// in this process on a temporary data folder. Repeat it to spread the reporters over
    /// several nodes (reporter i uses URL i mod n).
    #[arg(long)]
    pub url: Vec<String>,
    /// Reporter account (with --url; each concurrent reporter uses it).
    #[arg(long, default_value = "bench-reporter")]
    pub username: String,
    /// Its password (with --url).
    #[arg(
        long,
        env = "SAFEGUARD_BENCH_PASSWORD",
        default_value = "bench password 123"
    )]
    pub password: String,
    /// Concurrent reporters.
    #[arg(long, default_value_t = 64)]
    pub reporters: usize,
    /// Reports in total.
    #[arg(long, default_value_t = 5_000)]
    pub reports: u64,
    /// Bytes of the one file of each report (random, so nothing dedupes).
    #[arg(long, default_value_t = 100_000)]
    pub file_size: usize,
}

const REPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<report xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://report.cybertip.org/ispws/xsd">
  <incidentSummary>
    <incidentType>Child Pornography (possession, manufacture, and distribution)</incidentType>
    <incidentDateTime>2025-10-15T08:00:00-07:00</incidentDateTime>
  </incidentSummary>
  <internetDetails><webPageIncident><url>http://example.com/bench.html</url></webPageIncident></internetDetails>
  <reporter><reportingPerson><firstName>Bench</firstName><lastName>Reporter</lastName><email>bench@example.com</email></reportingPerson></reporter>
  <personOrUserReported><espIdentifier>bench-user</espIdentifier><ipCaptureEvent><ipAddress>192.0.2.10</ipAddress><eventName>Upload</eventName><dateTime>2025-10-15T07:59:00Z</dateTime></ipCaptureEvent></personOrUserReported>
</report>"#;

const DETAILS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<fileDetails xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://report.cybertip.org/ispws/xsd">
  <reportId>0</reportId><fileId>0</fileId><originalFileName>bench.bin</originalFileName>
  <fileViewedByEsp>true</fileViewedByEsp>
  <ipCaptureEvent><ipAddress>192.0.2.10</ipAddress><eventName>Upload</eventName><dateTime>2025-10-15T07:59:00Z</dateTime></ipCaptureEvent>
</fileDetails>"#;

pub async fn run(_global: GlobalArgs, cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Intake(args) => intake(args).await,
    }
}

#[derive(Default)]
struct Latencies {
    total: Vec<Duration>,
    steps: [Vec<Duration>; 4],
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

async fn local_server(args: &IntakeBenchArgs) -> anyhow::Result<(String, tempfile::TempDir)> {
    let dir = tempfile::tempdir().context("temporary data folder")?;
    let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default()).await?;
    accounts::add_org(
        &store,
        "Bench Hotline",
        OrgKind::Hotline,
        Some("US"),
        "bench",
    )
    .await?;
    accounts::add_org(&store, "Bench Company", OrgKind::Reporter, None, "bench").await?;
    accounts::add_user(
        &store,
        "Bench Company",
        &args.username,
        Role::Reporter,
        &args.password,
        "bench",
    )
    .await?;
    let vault = super::runtime::open_vault(dir.path())?;
    let intake = Arc::new(safeguard_engine::intake::Intake::new(store.clone(), vault));
    // The load comes from one address and one account: the rate limits would measure themselves.
    let config = ServerConfig {
        rate_limits: None,
        ..ServerConfig::default()
    };
    let state = AppState::new(store, config).with_intake(intake);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = safeguard_server::serve(listener, state, std::future::pending()).await {
            eprintln!("bench server stopped: {e}");
        }
    });
    Ok((format!("http://{addr}/ispws"), dir))
}

async fn intake(args: IntakeBenchArgs) -> anyhow::Result<ExitCode> {
    let (urls, _dir) = if args.url.is_empty() {
        let (u, d) = local_server(&args).await?;
        (vec![u], Some(d))
    } else {
        (args.url.clone(), None)
    };
    let url = urls.join(" ");
    println!(
        "bench intake: {} reports, {} concurrent reporters, {} B file each, against {url}",
        args.reports, args.reporters, args.file_size
    );
    let remaining = Arc::new(AtomicU64::new(args.reports));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..args.reporters.max(1) {
        let client = IspwsClient::new(&urls[i % urls.len()], &args.username, &args.password)?;
        let remaining = remaining.clone();
        let size = args.file_size;
        tasks.push(tokio::spawn(async move {
            let mut lat = Latencies::default();
            let mut bytes = vec![0u8; size];
            while remaining
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                rand::thread_rng().fill_bytes(&mut bytes);
                let t0 = Instant::now();
                let id = client.submit(REPORT.as_bytes().to_vec()).await?;
                let t1 = Instant::now();
                let (file_id, _) = client
                    .upload(
                        id,
                        "bench.bin",
                        reqwest::Body::from(bytes.clone()),
                        Some(size as u64),
                    )
                    .await?;
                let t2 = Instant::now();
                let details = rewrite_element(DETAILS, "reportId", &id.to_string())?;
                let details = rewrite_element(&details, "fileId", &file_id)?;
                client.file_info(details.into_bytes()).await?;
                let t3 = Instant::now();
                let files = client.finish(id).await?;
                let t4 = Instant::now();
                anyhow::ensure!(files == [file_id], "finish answered other files");
                lat.steps[0].push(t1 - t0);
                lat.steps[1].push(t2 - t1);
                lat.steps[2].push(t3 - t2);
                lat.steps[3].push(t4 - t3);
                lat.total.push(t4 - t0);
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Latencies::default();
    for t in tasks {
        let lat = t.await.context("reporter task")??;
        all.total.extend(lat.total);
        for (a, b) in all.steps.iter_mut().zip(lat.steps) {
            a.extend(b);
        }
    }
    let elapsed = started.elapsed();
    let n = all.total.len();
    println!(
        "{n} full reports in {:.2} s: {:.0} reports/s",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "full report latency: p50 {:.1} ms, p99 {:.1} ms",
        ms(percentile(&mut all.total, 0.5)),
        ms(percentile(&mut all.total, 0.99))
    );
    for (name, v) in ["submit", "upload", "fileinfo", "finish"]
        .iter()
        .zip(all.steps.iter_mut())
    {
        println!(
            "  {name:<9} p50 {:.1} ms, p99 {:.1} ms",
            ms(percentile(v, 0.5)),
            ms(percentile(v, 0.99))
        );
    }
    Ok(ExitCode::SUCCESS)
}
