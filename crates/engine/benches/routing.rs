//! Routing throughput on SQLite: generate `BENCH_REPORTS` demo reports (default 100 000) with
//! `DemoReports` and batch inserts, then route them all (candidates, priority, referrals, one
//! transaction per report) with `BENCH_CONCURRENCY` tasks (default 4) and print reports/s.
//!
//! `BENCH_REPORTS=1000000 cargo bench -p safeguard-engine --bench routing`
//! Not a CI test: run by hand.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use safeguard_domain::account::OrgName;
use safeguard_domain::report::{IntakeState, ReportSource};
use safeguard_engine::demo::{DemoReports, ORGS};
use safeguard_engine::routing::{route_report, Router, RulesFile};
use safeguard_geo::Geolocator;
use safeguard_store::{Store, StoreOptions, Submission};
use time::OffsetDateTime;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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
    eprintln!(
        "generated and stored {n} reports in {load:.1} s ({:.0}/s)",
        n as f64 / load
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
                for id in chunk {
                    route_report(&store, &geo, &router, id)
                        .await
                        .expect("route");
                }
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.expect("task");
        }
        routed += ids.len();
        if routed.is_multiple_of(20_000) {
            eprintln!(
                "  {routed} routed, {:.0} reports/s so far",
                routed as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "routing/sqlite: {routed} reports in {seconds:.1} s = {:.0} reports/s (concurrency {concurrency})",
        routed as f64 / seconds
    );
    store.close().await;
}
