//! Linking benchmark (not run in CI): N generated demo reports (`DemoReports`, seed 7) are
//! stored in SQLite with the bulk path first, then linked incrementally in arrival (id) order,
//! each against everything linked before it. Reports are linked in batches of
//! `LINK_BENCH_BATCH` (default 100) per write transaction, except the 1000 reports before each
//! checkpoint (100k, 300k, 1M and N), which are linked one at a time with `link_report` (their
//! own transaction and commit): the latency of one new report arriving at that size.
//!
//! Prints, per checkpoint: throughput since the previous checkpoint, per-report latency
//! percentiles, peak memory (VmHWM), database size and the bytes of the linking tables.
//!
//! `cargo bench -p safeguard-engine --bench linking -- 1000000`

use std::time::{Duration, Instant};

use safeguard_domain::account::{OrgKind, OrgName};
use safeguard_domain::report::{IntakeState, ReportSource};
use safeguard_engine::demo::DemoReports;
use safeguard_engine::linking::{keys_of_stored_report, link_report, LinkConfig, NoPdq};
use safeguard_store::{Store, StoreOptions, Submission};
use time::macros::datetime;

const SINGLE_WINDOW: usize = 1000;

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

/// User + system CPU seconds of this process so far.
fn process_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            let user: f64 = after.get(11)?.parse().ok()?;
            let system: f64 = after.get(12)?.parse().ok()?;
            Some((user + system) / 100.0)
        })
        .unwrap_or(0.0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let batch_size: usize = std::env::var("LINK_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
        .max(1);
    let mut checkpoints: Vec<usize> = [100_000, 300_000, 1_000_000]
        .into_iter()
        .filter(|&c| c < n)
        .collect();
    checkpoints.push(n);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let dir = tempfile::tempdir_in(std::env::var("LINK_BENCH_DIR").unwrap_or("/tmp".into()))?;
        let store =
            Store::connect(&Store::default_url(dir.path()), StoreOptions::default()).await?;
        let org = store
            .create_org(&OrgName::parse("Bench Hotline")?, OrgKind::Hotline, None)
            .await?
            .id;
        println!("reports: {n}, batch {batch_size}, load at start {}", loadavg());

        let started = Instant::now();
        let mut demo = DemoReports::new(7, datetime!(2026-01-01 00:00 UTC));
        let mut ids = Vec::with_capacity(n);
        while ids.len() < n {
            let reports: Vec<_> = (0..(n - ids.len()).min(2_000))
                .map(|_| demo.next_report())
                .collect();
            let subs: Vec<Submission<'_>> = reports
                .iter()
                .map(|report| Submission {
                    source: ReportSource::Api,
                    reporter_org: org,
                    holder_org: org,
                    submitted_by: None,
                    actor: "bench",
                    state: IntakeState::Finished,
                    report,
                    original: None,
                    idempotency: None,
                })
                .collect();
            ids.extend(store.insert_reports_batch(&subs).await?);
        }
        println!(
            "stored {n} reports in {:.1} s (bulk path, 2000 per transaction), load {}",
            started.elapsed().as_secs_f64(),
            loadavg()
        );

        let config = LinkConfig::default();
        let mut links = 0usize;
        let mut done = 0usize;
        let mut window_start = Instant::now();
        let mut window_reports = 0usize;
        let mut window_busy = Duration::ZERO;
        let mut batched_work: Vec<f64> = Vec::new();
        let mut commits: Vec<f64> = Vec::new();
        let mut single: Vec<f64> = Vec::new();
        let mut total_busy = Duration::ZERO;
        let mut window_cpu = process_cpu_seconds();
        for &checkpoint in &checkpoints {
            let single_from = checkpoint.saturating_sub(SINGLE_WINDOW).max(done);
            // Batched up to the single window.
            while done < single_from {
                let end = (done + batch_size).min(single_from);
                let t_batch = Instant::now();
                let mut batch = store.begin_link_batch().await?;
                for &id in &ids[done..end] {
                    let t = Instant::now();
                    let (keys, viral) =
                        keys_of_stored_report(&store, id, &config, &mut NoPdq).await?;
                    let outcome = batch.link(id, &keys, viral, config.settings).await?;
                    batched_work.push(t.elapsed().as_secs_f64() * 1e3);
                    links += outcome.links.len();
                }
                let t = Instant::now();
                batch.commit().await?;
                commits.push(t.elapsed().as_secs_f64() * 1e3);
                let dt = t_batch.elapsed();
                window_busy += dt;
                total_busy += dt;
                window_reports += end - done;
                done = end;
                if done % 50_000 < batch_size {
                    eprintln!(
                        "  {done} linked, {:.0}/s in this window, peak {} MiB, load {}",
                        window_reports as f64 / window_busy.as_secs_f64(),
                        peak_rss_kib() / 1024,
                        loadavg()
                    );
                }
            }
            // One at a time, each in its own transaction, as a report arriving alone would be.
            while done < checkpoint {
                let id = ids[done];
                let t = Instant::now();
                let outcome = link_report(&store, id, &config, &mut NoPdq).await?;
                let dt = t.elapsed();
                single.push(dt.as_secs_f64() * 1e3);
                window_busy += dt;
                total_busy += dt;
                window_reports += 1;
                links += outcome.links.len();
                done += 1;
            }
            let wall = window_start.elapsed().as_secs_f64();
            let cpu = process_cpu_seconds();
            let tail = batched_work.len().saturating_sub(SINGLE_WINDOW);
            let mut recent: Vec<f64> = batched_work[tail..].to_vec();
            recent.sort_by(f64::total_cmp);
            let ctail = commits.len().saturating_sub(100);
            let mut recent_commits: Vec<f64> = commits[ctail..].to_vec();
            recent_commits.sort_by(f64::total_cmp);
            single.sort_by(f64::total_cmp);
            let db = std::fs::metadata(dir.path().join("safeguard.db"))
                .map(|m| m.len())
                .unwrap_or(0);
            let wal = std::fs::metadata(dir.path().join("safeguard.db-wal"))
                .map(|m| m.len())
                .unwrap_or(0);
            println!("== checkpoint {checkpoint} reports linked (load {})", loadavg());
            println!(
                "  window: {window_reports} reports in {wall:.1} s wall, {:.0} reports/s (linking time); \
                 cumulative {:.0} reports/s; links so far {links}",
                window_reports as f64 / window_busy.as_secs_f64(),
                done as f64 / total_busy.as_secs_f64()
            );
            println!(
                "  batched, per report (read report + keys + link statements, last {} before the window): \
                 p50 {:.3} ms, p99 {:.3} ms; commit per batch of {batch_size} (last {}): p50 {:.3} ms, p99 {:.3} ms",
                recent.len(),
                pct(&recent, 0.5),
                pct(&recent, 0.99),
                recent_commits.len(),
                pct(&recent_commits, 0.5),
                pct(&recent_commits, 0.99),
            );
            println!(
                "  one at a time ({} reports, own transaction and commit each): p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                single.len(),
                pct(&single, 0.5),
                pct(&single, 0.9),
                pct(&single, 0.99),
                pct(&single, 1.0)
            );
            println!(
                "  peak memory (VmHWM) {} MiB; database {} MiB + WAL {} MiB",
                peak_rss_kib() / 1024,
                db / (1024 * 1024),
                wal / (1024 * 1024)
            );
            let sizes = store.storage_by_table().await?;
            let linking: Vec<String> = sizes
                .iter()
                .filter(|(name, _)| {
                    name.starts_with("link_")
                        || name.starts_with("report_cluster")
                        || name.starts_with("report_link")
                        || name.starts_with("cluster_org")
                        || name.starts_with("bundle")
                })
                .map(|(name, bytes)| format!("{name} {:.1} MiB", *bytes as f64 / 1048576.0))
                .collect();
            let link_total: i64 = sizes
                .iter()
                .filter(|(name, _)| {
                    name.starts_with("link_")
                        || name.starts_with("report_cluster")
                        || name.starts_with("report_link")
                        || name.starts_with("cluster_org")
                        || name.starts_with("bundle")
                })
                .map(|(_, b)| b)
                .sum();
            println!(
                "  linking tables {:.1} MiB ({:.0} bytes per linked report): {}",
                link_total as f64 / 1048576.0,
                link_total as f64 / done as f64,
                linking.join(", ")
            );
            println!(
                "  process CPU (user + system, both runtime threads and SQLite) in this window: {:.1} s = {:.3} ms per report",
                cpu - window_cpu,
                (cpu - window_cpu) * 1e3 / window_reports as f64
            );
            window_cpu = process_cpu_seconds();
            single.clear();
            window_start = Instant::now();
            window_reports = 0;
            window_busy = Duration::ZERO;
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
