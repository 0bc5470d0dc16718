//! The web application's storage — sessions, saved views, wellness settings, the triage queue,
//! bulk changes and statistics — on SQLite and on PostgreSQL alike.

mod support;

use safeguard_domain::account::{OrgId, OrgKind, OrgName, Role, UserId, Username};
use safeguard_domain::report::{
    IncidentType, IntakeState, NewReport, Priority, ReportId, ReportSource,
};
use safeguard_store::{
    BulkChange, NewUser, PriorityFilter, QueueFilter, Store, Submission, WellnessSettings,
};
use time::macros::datetime;
use time::OffsetDateTime;

both_databases!(
    sessions_are_found_by_token_digest_and_end,
    saved_views_and_wellness_settings_are_per_user,
    the_queue_orders_by_priority_then_age_and_pages_by_keyset,
    bulk_changes_touch_only_visible_reports_and_audit_each,
    statistics_count_the_period_of_one_organisation,
);

async fn org(store: &Store, name: &str, kind: OrgKind) -> OrgId {
    store
        .create_org(&OrgName::parse(name).expect("name"), kind, Some("DE"))
        .await
        .expect("org")
        .id
}

async fn user(store: &Store, org: OrgId, name: &str) -> UserId {
    store
        .create_user(&NewUser {
            org,
            username: Username::parse(name).expect("username"),
            role: Role::Analyst,
            password_hash: "not-a-hash".into(),
        })
        .await
        .expect("user")
        .id
}

async fn report(store: &Store, reporter: OrgId, holder: OrgId, kind: IncidentType) -> ReportId {
    let r = NewReport::new(kind, datetime!(2024-03-01 18:22:05 UTC));
    let (stored, _) = store
        .insert_report(&Submission {
            source: ReportSource::Api,
            reporter_org: reporter,
            holder_org: holder,
            submitted_by: None,
            actor: "test",
            state: IntakeState::Open,
            report: &r,
            original: None,
            idempotency: None,
        })
        .await
        .expect("report");
    stored.report.id
}

async fn sessions_are_found_by_token_digest_and_end(store: &Store) {
    let o = org(store, "Hotline", OrgKind::Hotline).await;
    let u = user(store, o, "analyst").await;
    let s = store
        .create_session(&[7; 32], u, "csrf-token", true, i64::MAX)
        .await
        .expect("session");
    assert!(s.totp_pending && !s.ended);
    assert_eq!(
        store.session_by_token(&[8; 32]).await.expect("lookup"),
        None
    );
    let found = store
        .session_by_token(&[7; 32])
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(found.csrf_token, "csrf-token");
    assert_eq!(found.user, u);
    store.complete_session_totp(s.id).await.expect("totp");
    assert!(
        !store
            .session_by_token(&[7; 32])
            .await
            .expect("l")
            .expect("f")
            .totp_pending
    );
    store.touch_session(s.id).await.expect("touch");
    store.end_session(s.id).await.expect("end");
    store
        .end_session(s.id)
        .await
        .expect("ending twice is harmless");
    assert!(
        store
            .session_by_token(&[7; 32])
            .await
            .expect("l")
            .expect("f")
            .ended
    );
    // A second session with the same token digest is refused.
    assert!(store
        .create_session(&[7; 32], u, "x", false, 1)
        .await
        .is_err());
}

async fn saved_views_and_wellness_settings_are_per_user(store: &Store) {
    let o = org(store, "Hotline", OrgKind::Hotline).await;
    let a = user(store, o, "analyst").await;
    let b = user(store, o, "other").await;
    store
        .save_view(a, "P1 only", "priority=p1")
        .await
        .expect("save");
    store
        .save_view(a, "P1 only", "priority=p1&state=open")
        .await
        .expect("replace");
    store
        .save_view(b, "Mine", "state=open")
        .await
        .expect("save");
    let views = store.saved_views(a).await.expect("views");
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].query, "priority=p1&state=open");
    assert!(
        !store.delete_view(b, views[0].id).await.expect("delete"),
        "not b's view"
    );
    assert!(store.delete_view(a, views[0].id).await.expect("delete"));
    assert!(store.saved_views(a).await.expect("views").is_empty());

    assert_eq!(
        store.wellness_settings(a).await.expect("w"),
        WellnessSettings::default()
    );
    let mine = WellnessSettings {
        blur_strength: 99,
        greyscale: false,
        thumbnail_px: 10,
    };
    store.set_wellness_settings(a, mine).await.expect("set");
    let stored = store.wellness_settings(a).await.expect("w");
    assert_eq!(
        stored,
        WellnessSettings {
            blur_strength: 40,
            greyscale: false,
            thumbnail_px: 64
        }
    );
    assert_eq!(
        store.wellness_settings(b).await.expect("w"),
        WellnessSettings::default()
    );
}

async fn the_queue_orders_by_priority_then_age_and_pages_by_keyset(store: &Store) {
    let hotline = org(store, "Hotline", OrgKind::Hotline).await;
    let company = org(store, "Company", OrgKind::Reporter).await;
    let agency = org(store, "Agency", OrgKind::Agency).await;
    let u = user(store, hotline, "analyst").await;
    let mut ids = Vec::new();
    for _ in 0..7 {
        ids.push(report(store, company, hotline, IncidentType::OnlineEnticement).await);
    }
    let foreign = report(store, agency, agency, IncidentType::OnlineEnticement).await;
    for (i, p) in [
        (5, Priority::P1),
        (3, Priority::P2),
        (0, Priority::Informational),
        (6, Priority::P3),
    ] {
        store
            .bulk_change(hotline, &[ids[i]], BulkChange::SetPriority(p), u, "analyst")
            .await
            .expect("priority");
    }
    let expected = [ids[5], ids[3], ids[6], ids[1], ids[2], ids[4], ids[0]];
    let mut filter = QueueFilter::visible_to(hotline);
    filter.limit = 3;
    let mut seen = Vec::new();
    loop {
        let page = store.queue(&filter).await.expect("queue");
        seen.extend(page.items.iter().map(|i| i.summary.id));
        match page.next {
            Some(c) => filter.after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    assert!(!seen.contains(&foreign));
    let mut unset = QueueFilter::visible_to(hotline);
    unset.priority = Some(PriorityFilter::Unset);
    let page = store.queue(&unset).await.expect("queue");
    assert_eq!(
        page.items.iter().map(|i| i.summary.id).collect::<Vec<_>>(),
        [ids[1], ids[2], ids[4]]
    );
    let first = &store
        .queue(&QueueFilter::visible_to(hotline))
        .await
        .expect("q")
        .items[0];
    assert_eq!(first.reporter_org_name, "Company");
    assert_eq!(first.files, 0);
}

async fn bulk_changes_touch_only_visible_reports_and_audit_each(store: &Store) {
    let hotline = org(store, "Hotline", OrgKind::Hotline).await;
    let agency = org(store, "Agency", OrgKind::Agency).await;
    let u = user(store, hotline, "analyst").await;
    let a = report(store, hotline, hotline, IncidentType::ChildSexTourism).await;
    let b = report(store, hotline, hotline, IncidentType::ChildSexTourism).await;
    let foreign = report(store, agency, agency, IncidentType::ChildSexTourism).await;
    let changed = store
        .bulk_change(
            hotline,
            &[a, b, foreign],
            BulkChange::Assign(Some(u)),
            u,
            "analyst",
        )
        .await
        .expect("assign");
    assert_eq!(changed, [a, b]);
    assert_eq!(
        store.report_assignee(a).await.expect("a"),
        Some((u, "analyst".into()))
    );
    assert_eq!(store.report_assignee(foreign).await.expect("f"), None);
    let again = store
        .bulk_change(hotline, &[a], BulkChange::Assign(Some(u)), u, "analyst")
        .await
        .expect("again");
    assert!(again.is_empty(), "no change, no entry");
    let entries = store
        .audit_for_object("report", &a.to_string(), 100)
        .await
        .expect("audit");
    let assigned: Vec<_> = entries
        .iter()
        .filter(|e| e.event.action == "report.assign")
        .collect();
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0].event.detail, "assigned to analyst");
    assert_eq!(assigned[0].event.actor_user, Some(u.0));
    assert!(store
        .audit_for_object("report", &foreign.to_string(), 100)
        .await
        .expect("audit")
        .iter()
        .all(|e| e.event.action != "report.assign"));
    store
        .bulk_change(hotline, &[a], BulkChange::Assign(None), u, "analyst")
        .await
        .expect("unassign");
    assert_eq!(store.report_assignee(a).await.expect("a"), None);
    assert!(store.verify_audit().await.expect("verify").broken.is_none());
}

async fn statistics_count_the_period_of_one_organisation(store: &Store) {
    let hotline = org(store, "Hotline", OrgKind::Hotline).await;
    let agency = org(store, "Agency", OrgKind::Agency).await;
    report(store, hotline, hotline, IncidentType::ChildSexTourism).await;
    report(store, hotline, hotline, IncidentType::ChildSexTourism).await;
    report(store, hotline, hotline, IncidentType::OnlineEnticement).await;
    report(store, agency, agency, IncidentType::OnlineEnticement).await;
    let now = OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    let s = store
        .statistics(hotline, now - day, now + day)
        .await
        .expect("stats");
    assert_eq!(s.total, 3);
    assert_eq!(s.per_day.iter().map(|d| d.1).sum::<i64>(), 3);
    assert_eq!(s.by_incident_type[0].label, "child_sex_tourism");
    assert_eq!(s.by_incident_type[0].count, 2);
    assert_eq!(s.referred, 0);
    assert!(s.referral_latencies.is_empty());
    let before = store
        .statistics(hotline, now - day * 10, now - day * 5)
        .await
        .expect("stats");
    assert_eq!(before.total, 0);
    assert!(before.per_day.is_empty());
}
