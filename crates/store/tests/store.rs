//! The store's behaviour, run on SQLite and on PostgreSQL alike.

mod support;

use safeguard_domain::account::{OrgKind, OrgName, Role, Username};
use safeguard_domain::digest::Digester;
use safeguard_domain::report::{
    Address, CaptureEvent, Channel, ChannelKind, DeviceId, FileRelevance, IncidentType,
    IntakeState, IpEvent, LawEnforcement, NewReport, Party, PartyRole, Phone, ReportAnnotation,
    ReportId, ReportSource,
};
use safeguard_store::{NewFile, NewUser, ReportFilter, Store, StoreError, Submission};
use time::macros::{date, datetime};

both_databases!(
    migrations_are_idempotent,
    duplicate_names_are_refused,
    tokens_identify_their_user,
    a_full_report_round_trips,
    idempotency_keys_return_the_first_report,
    reports_are_visible_only_to_their_organisations,
    lists_filter_and_page,
    the_audit_chain_catches_tampering,
    shared_evidence_is_released_only_by_its_last_file,
);

async fn org(store: &Store, name: &str, kind: OrgKind) -> safeguard_domain::account::Organisation {
    store
        .create_org(&OrgName::parse(name).expect("name"), kind, None)
        .await
        .expect("org")
}

fn full_report() -> NewReport {
    let mut r = NewReport::new(
        IncidentType::OnlineEnticement,
        datetime!(2024-03-01 18:22:05 +01:00),
    );
    r.incident.platform = Some("Example Chat".into());
    r.incident.escalation = Some("Intends to meet this weekend".into());
    r.incident.annotations = vec![
        ReportAnnotation::Sextortion,
        ReportAnnotation::MinorToMinorInteraction,
    ];
    r.channels.push(Channel {
        kind: ChannelKind::WebPage,
        name: None,
        detail: None,
        content: None,
        urls: vec!["https://chat.example.com/u/reported_user".into()],
        emails: vec![],
        phones: vec![],
        ip_events: vec![IpEvent {
            ip: "198.51.100.7".parse().expect("ip"),
            event: Some(CaptureEvent::Upload),
            at: Some(datetime!(2024-03-01 17:00 UTC)),
            port: Some(443),
            possible_proxy: Some(true),
        }],
        additional_info: Some("hosted by a third party".into()),
    });
    r.law_enforcement = Some(LawEnforcement {
        agency_name: "Example Police".into(),
        case_number: Some("EPD-1".into()),
        reported_to_le: Some(true),
        legal_process_domestic: Some(false),
        legal_process_international_country: Some("DE".into()),
    });
    let mut suspect = Party::new(PartyRole::Reported);
    suspect.esp_identifier = Some("user-123456".into());
    suspect.screen_name = Some("reported_user".into());
    suspect.display_names = vec!["R. User".into(), "Other Name".into()];
    suspect.emails = vec!["reported@example.net".into()];
    suspect.phones = vec![Phone {
        number: "5555550100".into(),
        country_calling_code: Some("+1".into()),
        verified: Some(true),
    }];
    suspect.ip_events = vec![
        IpEvent {
            ip: "192.0.2.10".parse().expect("ip"),
            event: Some(CaptureEvent::Login),
            at: Some(datetime!(2024-03-01 17:00 +02:00)),
            port: Some(51515),
            possible_proxy: Some(false),
        },
        IpEvent {
            ip: "2001:db8::1".parse().expect("ip"),
            event: None,
            at: None,
            port: None,
            possible_proxy: None,
        },
    ];
    suspect.device_ids = vec![DeviceId {
        id_type: "IMEI".into(),
        value: "490154203237518".into(),
        event: Some(CaptureEvent::Login),
        at: Some(datetime!(2024-03-01 17:00 UTC)),
    }];
    suspect.addresses = vec![Address {
        city: Some("Berlin".into()),
        country: Some("DE".into()),
        ..Address::default()
    }];
    suspect.prior_reports = vec![123456];
    suspect.age = Some(34);
    let mut victim = Party::new(PartyRole::Victim);
    victim.first_name = Some("Demo".into());
    victim.date_of_birth = Some(date!(2011 - 05 - 04));
    victim.school_name = Some("Example School".into());
    r.parties = vec![suspect, victim];
    r.additional_info = Some("synthetic test report".into());
    r.demo = true;
    r
}

fn submission<'a>(reporter: i64, holder: i64, report: &'a NewReport) -> Submission<'a> {
    Submission {
        source: ReportSource::Api,
        reporter_org: safeguard_domain::account::OrgId(reporter),
        holder_org: safeguard_domain::account::OrgId(holder),
        submitted_by: None,
        actor: "test",
        state: IntakeState::Finished,
        report,
        original: None,
        idempotency: None,
    }
}

async fn migrations_are_idempotent(store: &Store) {
    store.migrate().await.expect("second run is a no-op");
    store.migrate().await.expect("third run too");
    store.ping().await.expect("answers");
}

async fn duplicate_names_are_refused(store: &Store) {
    let hotline = org(store, "Hotline", OrgKind::Hotline).await;
    let err = store
        .create_org(
            &OrgName::parse("Hotline").expect("name"),
            OrgKind::Agency,
            None,
        )
        .await;
    assert!(
        matches!(
            err,
            Err(StoreError::Duplicate {
                what: "organisation",
                ..
            })
        ),
        "{err:?}"
    );
    let user = NewUser {
        org: hotline.id,
        username: Username::parse("analyst").expect("name"),
        role: Role::Analyst,
        password_hash: "x".into(),
    };
    store.create_user(&user).await.expect("first user");
    let err = store.create_user(&user).await;
    assert!(
        matches!(err, Err(StoreError::Duplicate { what: "user", .. })),
        "{err:?}"
    );
    assert!(matches!(
        store.org_by_name("Nobody").await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store.home_org().await.expect("query").map(|o| o.id),
        Some(hotline.id)
    );
}

async fn tokens_identify_their_user(store: &Store) {
    let agency = org(store, "Agency", OrgKind::Agency).await;
    let user = store
        .create_user(&NewUser {
            org: agency.id,
            username: Username::parse("inv").expect("name"),
            role: Role::Investigator,
            password_hash: "x".into(),
        })
        .await
        .expect("user");
    store
        .create_token(user.id, &[9u8; 32], "cli")
        .await
        .expect("token");
    let principal = store
        .principal_by_token(&[9u8; 32])
        .await
        .expect("query")
        .expect("known token");
    assert_eq!(principal.user, user.id);
    assert_eq!(principal.org, agency.id);
    assert_eq!(principal.org_kind, OrgKind::Agency);
    assert_eq!(principal.role, Role::Investigator);
    assert!(store
        .principal_by_token(&[8u8; 32])
        .await
        .expect("query")
        .is_none());
}

async fn a_full_report_round_trips(store: &Store) {
    let hotline = org(store, "Hotline", OrgKind::Hotline).await;
    let company = org(store, "Company", OrgKind::Reporter).await;
    let report = full_report();
    let mut sub = submission(company.id.0, hotline.id.0, &report);
    sub.original = Some(("application/xml", b"<report>original bytes</report>"));
    let (stored, created) = store.insert_report(&sub).await.expect("insert");
    assert!(created);
    assert_eq!(
        stored.report.content, report,
        "every field comes back as it went in"
    );
    assert_eq!(stored.report.state, IntakeState::Finished);
    assert_eq!(stored.holder_org, hotline.id);
    let reread = store.report(stored.report.id).await.expect("read");
    assert_eq!(reread, stored);
    let (media, bytes) = store
        .original_document(stored.report.id)
        .await
        .expect("query")
        .expect("kept");
    assert_eq!(media, "application/xml");
    assert_eq!(bytes, b"<report>original bytes</report>");
    assert!(matches!(
        store.report(ReportId(999_999)).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn idempotency_keys_return_the_first_report(store: &Store) {
    let hotline = org(store, "Hotline", OrgKind::Hotline).await;
    let report = full_report();
    let mut sub = submission(hotline.id.0, hotline.id.0, &report);
    sub.idempotency = Some(("key-1", [1u8; 32]));
    let (first, created) = store.insert_report(&sub).await.expect("first");
    assert!(created);
    let (again, created) = store.insert_report(&sub).await.expect("retry");
    assert!(!created, "a retry creates nothing");
    assert_eq!(again.report.id, first.report.id);
    sub.idempotency = Some(("key-1", [2u8; 32]));
    let err = store.insert_report(&sub).await;
    assert!(
        matches!(err, Err(StoreError::IdempotencyConflict { .. })),
        "{err:?}"
    );
    assert_eq!(store.count_reports().await.expect("count"), 1);
}

async fn reports_are_visible_only_to_their_organisations(store: &Store) {
    let hotline = org(store, "Hotline", OrgKind::Hotline).await;
    let company = org(store, "Company", OrgKind::Reporter).await;
    let other = org(store, "Other Company", OrgKind::Reporter).await;
    let agency = org(store, "Agency", OrgKind::Agency).await;
    let report = full_report();
    let (stored, _) = store
        .insert_report(&submission(company.id.0, hotline.id.0, &report))
        .await
        .expect("insert");
    let id = stored.report.id;
    assert!(store.can_see_report(hotline.id, id).await.expect("q"));
    assert!(store.can_see_report(company.id, id).await.expect("q"));
    assert!(!store.can_see_report(other.id, id).await.expect("q"));
    assert!(!store.can_see_report(agency.id, id).await.expect("q"));
    assert!(store
        .list_reports(&ReportFilter::visible_to(other.id))
        .await
        .expect("list")
        .items
        .is_empty());
    store
        .execute_admin(&format!(
            "INSERT INTO referral (report_id, from_org, to_org, status, reason, created_at) \
             VALUES ({}, {}, {}, 'sent', 'test', 0)",
            id.0, hotline.id.0, agency.id.0
        ))
        .await
        .expect("referral");
    assert!(
        store.can_see_report(agency.id, id).await.expect("q"),
        "a referral makes it visible"
    );
}

async fn lists_filter_and_page(store: &Store) {
    let hotline = org(store, "Hotline", OrgKind::Hotline).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let kind = if i % 2 == 0 {
            IncidentType::ChildPornography
        } else {
            IncidentType::OnlineEnticement
        };
        let report = NewReport::new(kind, datetime!(2024-01-01 00:00 UTC));
        let (stored, _) = store
            .insert_report(&submission(hotline.id.0, hotline.id.0, &report))
            .await
            .expect("insert");
        ids.push(stored.report.id.0);
    }
    let mut filter = ReportFilter::visible_to(hotline.id);
    filter.limit = 3;
    let first = store.list_reports(&filter).await.expect("page 1");
    assert_eq!(
        first.items.iter().map(|s| s.id.0).collect::<Vec<_>>(),
        vec![ids[6], ids[5], ids[4]]
    );
    filter.before_id = first.next_before_id;
    let second = store.list_reports(&filter).await.expect("page 2");
    assert_eq!(
        second.items.iter().map(|s| s.id.0).collect::<Vec<_>>(),
        vec![ids[3], ids[2], ids[1]]
    );
    filter.before_id = second.next_before_id;
    let third = store.list_reports(&filter).await.expect("page 3");
    assert_eq!(third.items.len(), 1);
    assert_eq!(third.next_before_id, None);
    let mut only = ReportFilter::visible_to(hotline.id);
    only.incident_type = Some(IncidentType::OnlineEnticement);
    let page = store.list_reports(&only).await.expect("filtered");
    assert_eq!(page.items.len(), 3);
    assert!(page
        .items
        .iter()
        .all(|s| s.incident_type == IncidentType::OnlineEnticement));
}

async fn the_audit_chain_catches_tampering(store: &Store) {
    let hotline = org(store, "Hotline", OrgKind::Hotline).await;
    for _ in 0..4 {
        let report = NewReport::new(
            IncidentType::ChildPornography,
            datetime!(2024-01-01 00:00 UTC),
        );
        store
            .insert_report(&submission(hotline.id.0, hotline.id.0, &report))
            .await
            .expect("insert");
    }
    let ok = store.verify_audit().await.expect("verify");
    assert_eq!(ok.entries, 4);
    assert_eq!(ok.broken, None);
    let exported = store.audit_head().await.expect("head");

    store
        .execute_admin("UPDATE audit_log SET actor = 'someone else' WHERE seq = 2")
        .await
        .expect("tamper");
    let edited = store.verify_audit().await.expect("verify");
    assert_eq!(
        edited.broken,
        Some(safeguard_domain::audit::ChainBreak::Altered { seq: 2 })
    );
    store
        .execute_admin("UPDATE audit_log SET actor = 'test' WHERE seq = 2")
        .await
        .expect("restore");
    assert_eq!(store.verify_audit().await.expect("verify").broken, None);

    // Deleting the newest entry and moving the head back to match is caught by the exported head.
    store
        .execute_admin("DELETE FROM audit_log WHERE seq = 4")
        .await
        .expect("delete tail");
    let truncated = store.verify_audit().await.expect("verify");
    assert!(
        truncated.broken.is_some(),
        "the stored head still says 4 entries"
    );
    let e3 = store.audit_entries(2, 1).await.expect("entry 3").remove(0);
    store
        .execute_admin(&format!(
            "UPDATE audit_head SET seq = 3, hash = {} WHERE id = 1",
            hex_literal(store, &e3.hash)
        ))
        .await
        .expect("rewrite head");
    assert_eq!(
        store.verify_audit().await.expect("verify").broken,
        None,
        "consistent after rewriting the head"
    );
    let against = store.verify_audit_against(&exported).await.expect("verify");
    assert!(matches!(
        against.broken,
        Some(safeguard_domain::audit::ChainBreak::Truncated { last: 3, head: 4 })
    ));
}

fn hex_literal(store: &Store, bytes: &[u8]) -> String {
    match store.backend() {
        safeguard_store::Backend::Sqlite => format!("X'{}'", hex::encode(bytes)),
        safeguard_store::Backend::Postgres => format!("'\\x{}'::bytea", hex::encode(bytes)),
    }
}

async fn shared_evidence_is_released_only_by_its_last_file(store: &Store) {
    let hotline = org(store, "Hotline", OrgKind::Hotline).await;
    let report = NewReport::new(
        IncidentType::ChildPornography,
        datetime!(2024-01-01 00:00 UTC),
    );
    let (a, _) = store
        .insert_report(&submission(hotline.id.0, hotline.id.0, &report))
        .await
        .expect("a");
    let (b, _) = store
        .insert_report(&submission(hotline.id.0, hotline.id.0, &report))
        .await
        .expect("b");
    let digests = Digester::digest(b"synthetic pattern bytes");
    for (report, file_id) in [(a.report.id, "a".repeat(32)), (b.report.id, "b".repeat(32))] {
        store
            .attach_file(&NewFile {
                report,
                file_id: &file_id,
                digests,
                size: 23,
                original_name: Some("pattern.png"),
                media_type: Some("image/png"),
                relevance: FileRelevance::Reported,
                actor_user: None,
                actor: "test",
            })
            .await
            .expect("attach");
    }
    assert_eq!(
        store.blob_refcount(&digests.sha256).await.expect("count"),
        2
    );
    let files = store.report(a.report.id).await.expect("read").report.files;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].digests, digests);
    assert_eq!(
        store
            .remove_file(&"a".repeat(32), None, "test")
            .await
            .expect("remove a"),
        None
    );
    assert_eq!(
        store.blob_refcount(&digests.sha256).await.expect("count"),
        1
    );
    let released = store
        .remove_file(&"b".repeat(32), None, "test")
        .await
        .expect("remove b");
    assert_eq!(released.map(|r| r.sha256), Some(digests.sha256));
    assert_eq!(
        store.blob_refcount(&digests.sha256).await.expect("count"),
        0
    );
    assert!(matches!(
        store.remove_file(&"b".repeat(32), None, "test").await,
        Err(StoreError::NotFound { .. })
    ));
}
