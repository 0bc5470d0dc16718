//! How many reports per second the store commits durably, on SQLite and on PostgreSQL.
//!
//! `cargo bench -p safeguard-store --bench commit` (PostgreSQL from `SAFEGUARD_BENCH_POSTGRES_URL`,
//! default `postgres://postgres@127.0.0.1:5432/postgres`; `BENCH_REPORTS` reports per run).
//! Each report is a realistic one (two parties, e-mail, phone, three IP events, a device, an
//! address) in its own transaction with its audit entry, committed before the next is counted.

use std::time::Instant;

use safeguard_domain::account::{OrgKind, OrgName};
use safeguard_domain::report::{
    Address, CaptureEvent, DeviceId, IncidentType, IntakeState, IpEvent, NewReport, Party,
    PartyRole, Phone, ReportSource,
};
use safeguard_store::{Store, StoreOptions, Submission};
use time::macros::datetime;

fn report(i: u32) -> NewReport {
    let mut r = NewReport::new(
        IncidentType::ChildPornography,
        datetime!(2024-03-01 18:22:05 +01:00),
    );
    let mut suspect = Party::new(PartyRole::Reported);
    suspect.esp_identifier = Some(format!("user-{i}"));
    suspect.screen_name = Some(format!("bench_user_{i}"));
    suspect.emails = vec![format!("bench{i}@example.net")];
    suspect.phones = vec![Phone {
        number: "5555550100".into(),
        country_calling_code: Some("+1".into()),
        verified: None,
    }];
    for k in 0..3u8 {
        suspect.ip_events.push(IpEvent {
            ip: std::net::Ipv4Addr::new(198, 51, 100, k).into(),
            event: Some(CaptureEvent::Login),
            at: Some(datetime!(2024-03-01 17:00 UTC)),
            port: Some(443),
            possible_proxy: None,
        });
    }
    suspect.device_ids = vec![DeviceId {
        id_type: "IMEI".into(),
        value: format!("35{i:013}"),
        event: None,
        at: None,
    }];
    suspect.addresses = vec![Address {
        city: Some("Exampletown".into()),
        country: Some("DE".into()),
        ..Address::default()
    }];
    let mut victim = Party::new(PartyRole::Victim);
    victim.age = Some(13);
    r.parties = vec![suspect, victim];
    r
}

async fn run(label: &str, store: &Store, n: u32, concurrency: u32) -> anyhow::Result<()> {
    let org = store
        .create_org(
            &OrgName::parse(&format!("Bench {label} {concurrency}"))?,
            OrgKind::Hotline,
            None,
        )
        .await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..n).step_by(concurrency as usize) {
                let r = report(i);
                store
                    .insert_report(&Submission {
                        source: ReportSource::Api,
                        reporter_org: org.id,
                        holder_org: org.id,
                        submitted_by: None,
                        actor: "bench",
                        state: IntakeState::Finished,
                        report: &r,
                        original: None,
                        idempotency: None,
                    })
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{label:<10} {concurrency:>3} writers  {n:>6} reports  {:>8.1} reports/s",
        f64::from(n) / secs
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: u32 = std::env::var("BENCH_REPORTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let dir = tempfile::tempdir()?;
    let sqlite = Store::connect(&Store::default_url(dir.path()), StoreOptions::default()).await?;
    for c in [1, 8] {
        run("sqlite", &sqlite, n, c).await?;
    }
    let url = std::env::var("SAFEGUARD_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let schema = format!("sg_bench_{}", std::process::id());
    match Store::connect(
        &url,
        StoreOptions {
            schema: Some(schema.clone()),
            ..StoreOptions::default()
        },
    )
    .await
    {
        Ok(pg) => {
            for c in [1, 8] {
                run("postgres", &pg, n, c).await?;
            }
            pg.execute_admin(&format!("DROP SCHEMA {schema} CASCADE"))
                .await?;
        }
        Err(e) => println!("postgres   skipped: {e}"),
    }
    Ok(())
}
