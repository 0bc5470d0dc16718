//! Linking benchmark (not run in CI): N generated demo reports stored in SQLite and linked one by
//! one, as they would arrive. Prints reports/s, per-report linking latency percentiles (at the
//! end of the run, i.e. at full size) and peak memory (VmHWM).
//!
//! `cargo bench -p safeguard-engine --bench linking -- 100000`

use std::time::Instant;

use safeguard_domain::account::{OrgKind, OrgName};
use safeguard_domain::report::{IntakeState, ReportSource};
use safeguard_engine::demo::DemoReports;
use safeguard_engine::linking::{link_report, LinkConfig, NoPdq};
use safeguard_store::{Store, StoreOptions, Submission};
use time::macros::datetime;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let dir = tempfile::tempdir()?;
        let store =
            Store::connect(&Store::default_url(dir.path()), StoreOptions::default()).await?;
        let org = store
            .create_org(&OrgName::parse("Bench Hotline")?, OrgKind::Hotline, None)
            .await?
            .id;
        let mut demo = DemoReports::new(7, datetime!(2026-01-01 00:00 UTC));
        let config = LinkConfig::default();
        let mut link_total = std::time::Duration::ZERO;
        let mut insert_total = std::time::Duration::ZERO;
        let mut last: Vec<f64> = Vec::new();
        let mut links = 0usize;
        let start = Instant::now();
        for i in 0..n {
            let report = demo.next_report();
            let t = Instant::now();
            let (stored, _) = store
                .insert_report(&Submission {
                    source: ReportSource::Api,
                    reporter_org: org,
                    holder_org: org,
                    submitted_by: None,
                    actor: "bench",
                    state: IntakeState::Finished,
                    report: &report,
                    original: None,
                    idempotency: None,
                })
                .await?;
            insert_total += t.elapsed();
            let t = Instant::now();
            let outcome = link_report(&store, stored.report.id, &config, &mut NoPdq).await?;
            let dt = t.elapsed();
            link_total += dt;
            links += outcome.links.len();
            if i + 1000 >= n {
                last.push(dt.as_secs_f64() * 1e3);
            }
            if (i + 1) % 10_000 == 0 {
                eprintln!(
                    "{} reports, {:.0} linked/s so far, peak {} MiB",
                    i + 1,
                    (i + 1) as f64 / link_total.as_secs_f64(),
                    peak_rss_kib() / 1024
                );
            }
        }
        last.sort_by(f64::total_cmp);
        let pct = |p: f64| last[((last.len() as f64 - 1.0) * p) as usize];
        println!("reports: {n}");
        println!("wall time: {:.1} s", start.elapsed().as_secs_f64());
        println!(
            "insert: {:.0} reports/s; linking: {:.0} reports/s (linking time only)",
            n as f64 / insert_total.as_secs_f64(),
            n as f64 / link_total.as_secs_f64()
        );
        println!("links created: {links}");
        println!(
            "linking latency over the last 1000 reports: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
        println!("peak memory (VmHWM): {} MiB", peak_rss_kib() / 1024);
        let db = std::fs::metadata(dir.path().join("safeguard.db")).map(|m| m.len())?;
        println!("database file: {} MiB", db / (1024 * 1024));
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
