//! Intelligence packages: minimised content, ISP requests with costs, signatures that break on
//! any changed byte, and the package life (inbox, acknowledgement, outcomes).

use std::io::Read;
use std::net::IpAddr;

use safeguard_domain::account::{OrgId, OrgKind, OrgName};
use safeguard_domain::report::{
    IncidentType, IntakeState, IpEvent, NewReport, Party, PartyRole, ReportId, ReportSource,
};
use safeguard_engine::linking::{link_report, LinkConfig, NoPdq};
use safeguard_engine::packages::{
    build_package, load_or_create_signing_key, parse_public_key, verify_file, Operator,
    OperatorLookup, PackageDocument, SCHEMA,
};
use safeguard_store::{Outcome, PackageState, Store, StoreOptions, Submission};
use time::macros::datetime;

struct ExampleGeo;

impl OperatorLookup for ExampleGeo {
    fn operator(&self, ip: IpAddr) -> Option<Operator> {
        ip.to_string().starts_with("198.51.100.").then(|| Operator {
            asn: Some(64500),
            name: "Example Net".into(),
        })
    }
}

async fn org(store: &Store, name: &str, kind: OrgKind) -> OrgId {
    store
        .create_org(&OrgName::parse(name).expect("name"), kind, None)
        .await
        .expect("org")
        .id
}

async fn report(store: &Store, holder: OrgId, email: &str, ips: &[(&str, i64)]) -> ReportId {
    let at = datetime!(2024-03-01 12:00 UTC);
    let mut r = NewReport::new(IncidentType::OnlineEnticement, at);
    let mut p = Party::new(PartyRole::Reported);
    p.emails.push(email.into());
    for (ip, minutes) in ips {
        p.ip_events.push(IpEvent {
            ip: ip.parse().expect("ip"),
            event: None,
            at: Some(at + time::Duration::minutes(*minutes)),
            port: Some(443),
            possible_proxy: None,
        });
    }
    r.parties.push(p);
    let (stored, _) = store
        .insert_report(&Submission {
            source: ReportSource::Api,
            reporter_org: holder,
            holder_org: holder,
            submitted_by: None,
            actor: "test",
            state: IntakeState::Finished,
            report: &r,
            original: None,
            idempotency: None,
        })
        .await
        .expect("insert");
    link_report(store, stored.report.id, &LinkConfig::default(), &mut NoPdq)
        .await
        .expect("link");
    stored.report.id
}

fn zip_entry(zip: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("zip");
    let mut entry = archive.by_name(name).expect("entry");
    let mut text = String::new();
    entry.read_to_string(&mut text).expect("utf-8");
    text
}

#[tokio::test]
async fn a_package_is_minimised_signed_and_follows_its_life() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
        .await
        .expect("store");
    let hub = org(&store, "Coordinator", OrgKind::Coordinator).await;
    let nl = org(&store, "Politie NL", OrgKind::Agency).await;
    let fr = org(&store, "Police FR", OrgKind::Agency).await;
    let a = report(
        &store,
        hub,
        "shared@suspect.org",
        &[("198.51.100.7", 0), ("203.0.113.9", 5)],
    )
    .await;
    let b = report(&store, hub, "nl-second@suspect.org", &[("198.51.100.7", 0)]).await;
    let elsewhere = report(&store, hub, "shared@suspect.org", &[("192.0.2.200", 0)]).await;
    store.insert_referral(a, hub, nl, "geo").await.expect("ref");
    store.insert_referral(b, hub, nl, "geo").await.expect("ref");
    store
        .insert_referral(elsewhere, hub, fr, "geo")
        .await
        .expect("ref");
    store
        .set_isp_cost("Example Net", 250, "EUR")
        .await
        .expect("cost");

    let (key, created) =
        load_or_create_signing_key(&dir.path().join("keys/signing.key")).expect("key");
    assert!(created);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("keys/signing.key"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (again, created) =
        load_or_create_signing_key(&dir.path().join("keys/signing.key")).expect("key");
    assert!(!created);
    assert_eq!(again.to_bytes(), key.to_bytes());

    let built = build_package(&store, hub, nl, &ExampleGeo, &key, "analyst")
        .await
        .expect("package");
    let doc: PackageDocument =
        serde_json::from_str(&zip_entry(&built.zip, "package.json")).expect("json");
    assert_eq!(doc.schema, SCHEMA);
    assert_eq!(
        doc.reports.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![a.0, b.0]
    );
    // b shares an IP (same time) with a, elsewhere shares a's address: one cluster of three,
    // of which the recipient sees its two and only a count of the third.
    let ra = &doc.reports[0];
    assert_eq!(ra.cluster.reports_in_package, vec![a.0, b.0]);
    assert_eq!(ra.cluster.linked_reports_elsewhere, 1);
    assert_eq!(ra.cluster.links.len(), 1);
    assert_eq!(ra.cluster.links[0].kind, "ip");
    assert_eq!(
        (ra.cluster.links[0].report_a, ra.cluster.links[0].report_b),
        (b.0, a.0)
    );
    assert!(ra.geolocation.is_none() && ra.known_material.is_none());
    // Nothing of the other organisation's report travels.
    let json = zip_entry(&built.zip, "package.json");
    assert!(!json.contains("192.0.2.200"));
    assert!(!json.contains(&format!("\"report_b\": {}", elsewhere.0)));
    // ISP requests: grouped by operator, the shared (IP, time) asked once for both reports.
    assert_eq!(doc.isp_requests.len(), 2);
    // Operators in a stable order: unknown (no ASN) first, then by ASN.
    assert_eq!(doc.isp_requests[0].operator.name, "unknown operator");
    assert_eq!(doc.isp_requests[0].cost_cents, 0);
    let example = &doc.isp_requests[1];
    assert_eq!(example.operator.name, "Example Net");
    assert_eq!(example.items.len(), 1);
    assert_eq!(example.items[0].reports, vec![a.0, b.0]);
    assert_eq!(example.cost_cents, 250);
    assert_eq!(doc.isp_cost_total_cents, 250);
    let csv = zip_entry(&built.zip, "isp/requests.csv");
    assert_eq!(csv.lines().count(), 3);
    assert!(csv.contains("Example Net,64500,198.51.100.7,2024-03-01T12:00:00Z,443,"));
    let letter = zip_entry(&built.zip, "isp/letter-02-example-net.txt");
    assert!(letter.contains("198.51.100.7") && letter.contains("2.50 EUR"));
    let html = zip_entry(&built.zip, "report.html");
    assert!(html.contains("@media print") && html.contains("shared@suspect.org"));

    // Signature: valid as built, broken by any changed byte, by another key.
    let public = parse_public_key(&hex::encode(key.verifying_key().to_bytes())).expect("pk");
    verify_file(&built.zip, &built.signature, &public).expect("verifies");
    for i in (0..built.zip.len()).step_by(13) {
        let mut changed = built.zip.clone();
        changed[i] ^= 0x01;
        assert!(
            verify_file(&changed, &built.signature, &public).is_err(),
            "byte {i} changed but verified"
        );
    }
    let mut longer = built.zip.clone();
    longer.push(0);
    assert!(verify_file(&longer, &built.signature, &public).is_err());
    let other = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    assert!(verify_file(&built.zip, &built.signature, &other.verifying_key()).is_err());
    assert!(verify_file(&built.zip, "garbage", &public).is_err());

    // Life: not in the inbox until sent; no skipping or going back.
    assert!(store.inbox(nl, 10).await.expect("inbox").is_empty());
    assert!(store
        .set_package_state(built.id, PackageState::Sent, "x")
        .await
        .is_err());
    store
        .set_package_state(built.id, PackageState::Approved, "lead")
        .await
        .expect("approve");
    store
        .set_package_state(built.id, PackageState::Sent, "lead")
        .await
        .expect("send");
    let inbox = store.inbox(nl, 10).await.expect("inbox");
    assert_eq!(inbox.len(), 1);
    assert!(store.inbox(fr, 10).await.expect("inbox").is_empty());
    store
        .set_package_state(built.id, PackageState::Acknowledged, "nl")
        .await
        .expect("ack");
    store
        .add_outcomes(
            built.id,
            &[
                (a, Outcome::Arrest, Some("suspect arrested".into())),
                (b, Outcome::VictimSafeguarded, None),
            ],
        )
        .await
        .expect("outcomes");
    store
        .set_package_state(built.id, PackageState::OutcomeReported, "nl")
        .await
        .expect("outcome");
    assert!(store
        .set_package_state(built.id, PackageState::Draft, "x")
        .await
        .is_err());
    let history: Vec<PackageState> = store
        .package_history(built.id)
        .await
        .expect("history")
        .into_iter()
        .map(|(s, _, _)| s)
        .collect();
    assert_eq!(
        history,
        vec![
            PackageState::Draft,
            PackageState::Approved,
            PackageState::Sent,
            PackageState::Acknowledged,
            PackageState::OutcomeReported
        ]
    );
    let counts = store.outcome_counts().await.expect("counts");
    assert_eq!(counts.len(), 2);
    assert_eq!(counts[0].outcome, "arrest");
    assert_eq!(counts[0].count, 1);
}

#[test]
fn every_single_byte_of_a_small_signed_file_matters() {
    use safeguard_engine::packages::sign_file;
    let key = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
    let doc = PackageDocument {
        schema: SCHEMA.into(),
        package_uid: "small".into(),
        created_at: datetime!(2024-01-01 00:00 UTC),
        from_org: "A".into(),
        to_org: "B".into(),
        reports: vec![],
        alerts: vec![],
        isp_requests: vec![],
        isp_cost_total_cents: 0,
    };
    let zip = safeguard_engine::packages::package_zip(&doc).expect("zip");
    let signature = sign_file(&key, &zip);
    let public = key.verifying_key();
    verify_file(&zip, &signature, &public).expect("verifies");
    for i in 0..zip.len() {
        let mut changed = zip.clone();
        changed[i] ^= 0x01;
        assert!(
            verify_file(&changed, &signature, &public).is_err(),
            "byte {i}"
        );
    }
}

#[test]
fn isp_requests_are_grouped_by_the_operator_the_geolocation_data_names() {
    use safeguard_engine::packages::{isp_csv, isp_requests};
    use safeguard_geo::Geolocator;
    let geo = Geolocator::bundled().expect("bundled geolocation data");
    // The bundled IP-to-ASN data names the operator; reserved ranges have none.
    let ripe = geo
        .operator("193.0.6.139".parse().expect("ip"))
        .expect("RIPE NCC is known");
    assert_eq!(ripe.asn, Some(3333));
    assert!(ripe.name.contains("RIPE"), "{ripe:?}");
    assert_eq!(geo.operator("10.1.2.3".parse().expect("ip")), None);
    assert_eq!(geo.operator("100.64.0.9".parse().expect("ip")), None);

    let at = datetime!(2024-03-01 12:00 UTC);
    let event = |ip: &str, minutes: i64| IpEvent {
        ip: ip.parse().expect("ip"),
        event: None,
        at: Some(at + time::Duration::minutes(minutes)),
        port: Some(443),
        possible_proxy: None,
    };
    let events = vec![
        (ReportId(1), event("193.0.6.139", 0)),
        // Same operator over IPv6, and the same address and time from another report
        // (deduplicated into one line naming both reports).
        (ReportId(2), event("2001:67c:2e8::1", 5)),
        (ReportId(3), event("193.0.6.139", 0)),
        (ReportId(3), event("200.160.0.1", 9)),
        (ReportId(4), event("10.1.2.3", 1)),
    ];
    let costs = vec![(ripe.name.clone(), 250, "EUR".to_owned())];
    let requests = isp_requests(&events, &geo, &costs);
    let summary: Vec<(Option<u32>, usize, i64)> = requests
        .iter()
        .map(|r| (r.operator.asn, r.items.len(), r.cost_cents))
        .collect();
    // Sorted by operator: the unknown one (no ASN) first, then AS3333 and AS22548.
    assert_eq!(
        summary,
        vec![(None, 1, 0), (Some(3333), 2, 500), (Some(22548), 1, 0)]
    );
    assert_eq!(requests[0].operator.name, "unknown operator");
    assert!(requests[2].operator.name.contains("NIC.BR"), "{requests:?}");
    let ripe_items = &requests[1].items;
    assert_eq!(ripe_items[0].ip, "193.0.6.139");
    assert_eq!(ripe_items[0].reports, vec![1, 3]);
    assert_eq!(ripe_items[1].ip, "2001:67c:2e8::1");
    let csv = isp_csv(&requests);
    assert!(csv.contains(",3333,193.0.6.139,"), "{csv}");
    assert!(csv.contains(",22548,200.160.0.1,"), "{csv}");
}
