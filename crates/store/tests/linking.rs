//! Linking storage scenarios, run on SQLite and on PostgreSQL alike.

mod support;

use safeguard_domain::account::{OrgKind, OrgName};
use safeguard_domain::linking::{KeyKind, LinkKey};
use safeguard_domain::report::{IncidentType, IntakeState, NewReport, ReportId, ReportSource};
use safeguard_store::{LinkSettings, Outcome, PackageState, Store, Submission};
use time::macros::datetime;

both_databases!(
    keys_link_clusters_merge_and_alert,
    packages_move_forward_only,
);

async fn report(store: &Store, org: safeguard_domain::account::OrgId) -> ReportId {
    let r = NewReport::new(
        IncidentType::ChildPornography,
        datetime!(2024-03-01 12:00 UTC),
    );
    store
        .insert_report(&Submission {
            source: ReportSource::Api,
            reporter_org: org,
            holder_org: org,
            submitted_by: None,
            actor: "test",
            state: IntakeState::Open,
            report: &r,
            original: None,
            idempotency: None,
        })
        .await
        .expect("insert")
        .0
        .report
        .id
}

async fn keys_link_clusters_merge_and_alert(store: &Store) {
    let a_org = store
        .create_org(
            &OrgName::parse("Agency A").expect("n"),
            OrgKind::Agency,
            None,
        )
        .await
        .expect("org")
        .id;
    let b_org = store
        .create_org(
            &OrgName::parse("Agency B").expect("n"),
            OrgKind::Agency,
            None,
        )
        .await
        .expect("org")
        .id;
    let settings = LinkSettings {
        ip_window_micros: 3_600_000_000,
        fan_out_cap: 2,
        bundle_threshold: 2,
    };
    let email = LinkKey::new(KeyKind::Email, "x@suspect.org");
    let file = LinkKey::new(KeyKind::Sha256, "ab".repeat(32));
    let ip_at = |h: i64| LinkKey {
        kind: KeyKind::Ip,
        value: "198.51.100.7".into(),
        at: Some(datetime!(2024-03-01 12:00 UTC) + time::Duration::hours(h)),
    };
    let r1 = report(store, a_org).await;
    let r2 = report(store, b_org).await;
    let r3 = report(store, b_org).await;
    let r4 = report(store, b_org).await;
    let o1 = store
        .link_report(r1, &[email.clone(), ip_at(0)], false, settings)
        .await
        .expect("link");
    assert!(o1.links.is_empty());
    // IP 2 h later: outside the 1 h window; the file bundles at the threshold of 2 only later.
    let o2 = store
        .link_report(r2, &[ip_at(2), file.clone()], false, settings)
        .await
        .expect("link");
    assert!(o2.links.is_empty() && o2.bundles.is_empty());
    // Bridges r1 (email) and r2 (file): two links, alerts to A and B with their own reports.
    let o3 = store
        .link_report(r3, &[email.clone(), file.clone()], false, settings)
        .await
        .expect("link");
    assert_eq!(o3.links.len(), 2);
    assert_eq!(o3.bundles.len(), 1);
    let mut alerted: Vec<i64> = o3.alerts.iter().map(|(o, _)| o.0).collect();
    alerted.sort();
    assert_eq!(alerted, vec![a_org.0, b_org.0]);
    let a_alerts = store.alerts_for(a_org, 10).await.expect("alerts");
    assert_eq!(a_alerts.len(), 1);
    assert_eq!(a_alerts[0].own_reports, vec![r1]);
    assert_eq!(a_alerts[0].kind, "email");
    let c = store.cluster_id(r1).await.expect("c").expect("linked");
    assert_eq!(store.cluster_id(r2).await.expect("c"), Some(c));
    assert_eq!(store.cluster_id(r3).await.expect("c"), Some(c));
    // The email now has 3 reports > cap 2: too common, no link.
    let o4 = store
        .link_report(r4, std::slice::from_ref(&email), false, settings)
        .await
        .expect("link");
    assert!(o4.links.is_empty());
    assert_eq!(o4.too_common.len(), 1);
    assert_ne!(store.cluster_id(r4).await.expect("c"), Some(c));
    let view = store
        .cluster_of_report(r2, 10)
        .await
        .expect("view")
        .expect("cluster");
    assert_eq!(view.size, 3);
    assert_eq!(view.links.len(), 2);
    let bundles = store.bundles(10).await.expect("bundles");
    assert_eq!(bundles.len(), 1);
    assert_eq!(bundles[0].report_count, 2);
    assert_eq!(
        store.bundles_of_report(r2).await.expect("m"),
        vec![bundles[0].id]
    );
}

async fn packages_move_forward_only(store: &Store) {
    let hub = store
        .create_org(
            &OrgName::parse("Hub").expect("n"),
            OrgKind::Coordinator,
            None,
        )
        .await
        .expect("org")
        .id;
    let to = store
        .create_org(&OrgName::parse("Agency").expect("n"), OrgKind::Agency, None)
        .await
        .expect("org")
        .id;
    let r = report(store, hub).await;
    let id = store
        .insert_package(
            "uid-1",
            hub,
            to,
            &serde_json::json!({"schema": "x"}),
            500,
            "a",
        )
        .await
        .expect("package");
    assert!(store.inbox(to, 10).await.expect("inbox").is_empty());
    assert!(store
        .set_package_state(id, PackageState::Acknowledged, "x")
        .await
        .is_err());
    for s in [
        PackageState::Approved,
        PackageState::Sent,
        PackageState::Acknowledged,
    ] {
        store.set_package_state(id, s, "a").await.expect("state");
    }
    assert_eq!(store.inbox(to, 10).await.expect("inbox").len(), 1);
    store
        .add_outcomes(id, &[(r, Outcome::InvestigationOpened, None)])
        .await
        .expect("outcome");
    let p = store.package(id).await.expect("package");
    assert_eq!(p.state, PackageState::Acknowledged);
    assert_eq!(p.isp_cost_cents, 500);
    assert_eq!(store.outcome_counts().await.expect("c")[0].count, 1);
    store.set_isp_cost("Op", 100, "EUR").await.expect("cost");
    store
        .set_isp_cost("Op", 150, "EUR")
        .await
        .expect("cost again");
    assert_eq!(
        store.isp_costs().await.expect("costs"),
        vec![("Op".to_owned(), 150, "EUR".to_owned())]
    );
}
