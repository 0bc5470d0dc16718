//! Routing throughput on SQLite: generate `BENCH_REPORTS` demo reports (default 100 000) with
//! `DemoReports` and batch inserts, then route them all (candidates, priority, referrals, one
//! transaction per `BENCH_BATCH` reports) with `BENCH_CONCURRENCY` tasks (default 4) and print reports/s.
//!
//! Reports are stored `BENCH_BATCH` (default 100) per transaction with `route_reports_with`;
//! `BENCH_BATCH=1` routes them one by one with `route_report`.
//!
//! `BENCH_REPORTS=1000000 cargo bench -p safeguard-engine --bench routing`
//! Not a CI test: run by hand.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use safeguard_domain::account::OrgName;
use safeguard_domain::report::{IntakeState, ReportSource};
use safeguard_engine::demo::{DemoReports, ORGS};
use safeguard_engine::routing::{route_report, route_reports_with, Router, RulesFile};
use safeguard_geo::Geolocator;
use safeguard_store::{Store, StoreOptions, Submission};
use time::OffsetDateTime;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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

fn main() {
    // `cargo bench` passes `--bench`; any other run (e.g. `cargo test --benches`) does nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let n = env_number("BENCH_REPORTS", 100_000);
    let concurrency = env_number("BENCH_CONCURRENCY", 4).max(1);
    // Reports stored per transaction (`route_reports_with`); 1 routes one by one (`route_report`).
    let batch = env_number("BENCH_BATCH", 100).max(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
        .await
        .expect("store");
    for org in ORGS {
        store
            .create_org(
                &OrgName::parse(org.name).expect("name"),
                org.kind,
                org.country,
            )
            .await
            .expect("org");
    }
    let hotline = store.org_by_name("Demo Hotline").await.expect("hotline").id;
    let company = store
        .org_by_name("Demo Social Network")
        .await
        .expect("company")
        .id;

    let started = Instant::now();
    let mut demo = DemoReports::new(42, OffsetDateTime::now_utc());
    let mut inserted = 0;
    while inserted < n {
        let batch: Vec<_> = (0..(n - inserted).min(2_000))
            .map(|_| demo.next_report())
            .collect();
        let subs: Vec<Submission<'_>> = batch
            .iter()
            .map(|report| Submission {
                source: ReportSource::Demo,
                reporter_org: company,
                holder_org: hotline,
                submitted_by: None,
                actor: "bench",
                state: IntakeState::Finished,
                report,
                original: None,
                idempotency: None,
            })
            .collect();
        store
            .insert_reports_batch(&subs)
            .await
            .expect("batch insert");
        inserted += batch.len();
    }
    let load = started.elapsed().as_secs_f64();
    println!(
        "generated and stored {n} reports in {load:.1} s ({:.0}/s), load {}",
        n as f64 / load,
        loadavg()
    );

    let rules_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/routing.example.toml");
    let rules = RulesFile::load(rules_path).expect("rules");
    let router = Arc::new(Router::new(&store, rules.current()).await.expect("router"));
    let geo_started = Instant::now();
    let geo = Arc::new(Geolocator::bundled().expect("geolocation data"));
    eprintln!(
        "geolocation data loaded in {:.2} s",
        geo_started.elapsed().as_secs_f64()
    );

    let now = OffsetDateTime::now_utc();
    let cpu_before = process_cpu_seconds();
    let started = Instant::now();
    let mut after = 0;
    let mut routed = 0usize;
    loop {
        let ids = store.report_ids_after(after, 2_000).await.expect("ids");
        let Some(last) = ids.last() else { break };
        after = last.0;
        let mut tasks = tokio::task::JoinSet::new();
        for chunk in ids.chunks(ids.len().div_ceil(concurrency)) {
            let chunk = chunk.to_vec();
            let (store, geo, router) = (store.clone(), geo.clone(), router.clone());
            tasks.spawn(async move {
                if batch <= 1 {
                    for id in chunk {
                        route_report(&store, &geo, &router, id)
                            .await
                            .expect("route");
                    }
                } else {
                    for ids in chunk.chunks(batch) {
                        let reports: Vec<_> = ids.iter().map(|&id| (id, None)).collect();
                        route_reports_with(&store, &geo, &router, &reports, now)
                            .await
                            .expect("route");
                    }
                }
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.expect("task");
        }
        routed += ids.len();
        if routed.is_multiple_of(50_000) {
            eprintln!(
                "  {routed} routed, {:.0} reports/s so far, load {}",
                routed as f64 / started.elapsed().as_secs_f64(),
                loadavg()
            );
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds() - cpu_before;
    println!(
        "routing process CPU (user + system): {cpu:.1} s = {:.3} ms per report",
        cpu * 1e3 / routed.max(1) as f64
    );
    println!(
        "routing/sqlite: {routed} reports in {seconds:.1} s = {:.0} reports/s (concurrency {concurrency}, \
         {batch} per transaction), load {}, peak memory {} MiB",
        routed as f64 / seconds,
        loadavg(),
        peak_rss_kib() / 1024
    );
    store.close().await;
}
