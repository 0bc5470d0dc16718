//! Routing end to end on SQLite with the bundled geolocation data and the example rule file:
//! a table of reports and the candidates and referrals each must get.

use std::path::Path;
use std::sync::Arc;

use safeguard_domain::account::{OrgId, OrgName};
use safeguard_domain::jurisdiction::SignalKind;
use safeguard_domain::report::{
    Address, IncidentType, IntakeState, IpEvent, NewReport, Party, PartyRole, Phone, Priority,
    ReportId, ReportSource,
};
use safeguard_engine::demo::ORGS;
use safeguard_engine::routing::{
    forward_referral, process_finished_jobs, route_report, route_report_with, Router, RulesFile,
};
use safeguard_geo::Geolocator;
use safeguard_store::{Store, StoreOptions, Submission};
use time::{Duration, OffsetDateTime};

const HOTLINE: &str = "Demo Hotline";
const COORDINATOR: &str = "Demo Coordinator (EU)";
const GERMANY: &str = "Demo Agency Germany";
const NETHERLANDS: &str = "Demo Agency Netherlands";
const PHILIPPINES: &str = "Demo Agency Philippines";

struct Env {
    store: Store,
    geo: Geolocator,
    router: Router,
    rules: RulesFile,
    reporter: OrgId,
    holder: OrgId,
    _dir: tempfile::TempDir,
}

fn example_rules() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/routing.example.toml")
}

async fn env() -> Env {
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
    let rules = RulesFile::load(example_rules()).expect("rules");
    let router = Router::new(&store, rules.current()).await.expect("router");
    let reporter = store
        .org_by_name("Demo Social Network")
        .await
        .expect("reporter")
        .id;
    let holder = store.org_by_name(HOTLINE).await.expect("hotline").id;
    Env {
        store,
        geo: Geolocator::bundled().expect("bundled geolocation data"),
        router,
        rules,
        reporter,
        holder,
        _dir: dir,
    }
}

impl Env {
    async fn insert(&self, report: &NewReport) -> ReportId {
        let (stored, _) = self
            .store
            .insert_report(&Submission {
                source: ReportSource::Api,
                reporter_org: self.reporter,
                holder_org: self.holder,
                submitted_by: None,
                actor: "test",
                state: IntakeState::Finished,
                report,
                original: None,
                idempotency: None,
            })
            .await
            .expect("insert");
        stored.report.id
    }

    async fn name(&self, id: OrgId) -> String {
        self.store
            .org(id)
            .await
            .expect("org")
            .name
            .as_str()
            .to_owned()
    }
}

fn ip(text: &str, proxy: bool) -> IpEvent {
    IpEvent {
        ip: text.parse().expect("literal address"),
        event: None,
        at: Some(OffsetDateTime::now_utc() - Duration::days(2)),
        port: None,
        possible_proxy: Some(proxy),
    }
}

/// An old child-pornography report (level 3 unless the case adds more).
fn base() -> NewReport {
    let mut r = NewReport::new(
        IncidentType::ChildPornography,
        OffsetDateTime::now_utc() - Duration::days(200),
    );
    let mut suspect = Party::new(PartyRole::Reported);
    suspect.screen_name = Some("fictional_user".into());
    r.parties.push(suspect);
    r
}

struct Case {
    name: &'static str,
    report: NewReport,
    /// Expected candidates at or above 0.3, best first.
    countries: &'static [&'static str],
    /// Expected referrals: (first hop, final recipients).
    referrals: &'static [(&'static str, &'static [&'static str])],
    priority: Priority,
}

fn cases() -> Vec<Case> {
    let mut several = base();
    several.incident.incident_type = IncidentType::OnlineEnticement;
    several.incident.escalation = Some("He wants to meet her this weekend".into());
    several.parties[0].ip_events = vec![
        ip("87.128.1.1", false),
        ip("::ffff:87.128.2.2", false),
        ip("112.198.3.3", false),
    ];

    let mut phone_only = base();
    phone_only.parties[0].phones.push(Phone {
        number: "30 901820".into(),
        country_calling_code: Some("+49".into()),
        verified: None,
    });

    let no_signal = base();

    let mut conflicting = base();
    conflicting.parties[0].ip_events = vec![ip("145.53.4.4", false)];
    conflicting.parties[0].addresses.push(Address {
        country: Some("fr".into()),
        ..Address::default()
    });

    let mut reserved = base();
    reserved.parties[0].ip_events = vec![
        ip("10.1.2.3", false),
        ip("192.168.0.5", false),
        ip("2001:db8::1", false),
    ];

    let mut proxied = base();
    proxied.parties[0].ip_events = vec![ip("87.128.5.5", true), ip("87.128.6.6", true)];

    let mut unknown_country = base();
    unknown_country.parties[0].ip_events = vec![ip("177.32.7.7", false)];

    // The Philippine agency accepts P2 or more urgent: a level-3 report falls back.
    let mut filtered = base();
    filtered.parties[0].ip_events = vec![ip("112.198.8.8", false)];

    // Germany's agency does not take misleading-words reports: the coordinator keeps nothing,
    // the report falls back to the hotline.
    let mut wrong_type = base();
    wrong_type.incident.incident_type = IncidentType::MisleadingWordsOrImages;
    wrong_type.parties[0].ip_events = vec![ip("87.128.9.9", false)];

    vec![
        Case {
            name: "IPs in two countries, urgent",
            report: several,
            countries: &["DE", "PH"],
            referrals: &[(COORDINATOR, &[GERMANY]), (PHILIPPINES, &[PHILIPPINES])],
            priority: Priority::P1,
        },
        Case {
            name: "phone only",
            report: phone_only,
            countries: &["DE"],
            referrals: &[(COORDINATOR, &[GERMANY])],
            priority: Priority::P3,
        },
        Case {
            name: "no signal",
            report: no_signal,
            countries: &[],
            referrals: &[(HOTLINE, &[HOTLINE])],
            priority: Priority::P3,
        },
        Case {
            name: "conflicting IP and address",
            report: conflicting,
            countries: &["FR", "NL"],
            referrals: &[(COORDINATOR, &[COORDINATOR, NETHERLANDS])],
            priority: Priority::P3,
        },
        Case {
            name: "reserved addresses only",
            report: reserved,
            countries: &[],
            referrals: &[(HOTLINE, &[HOTLINE])],
            priority: Priority::P3,
        },
        Case {
            name: "proxy-flagged addresses",
            report: proxied,
            countries: &[],
            referrals: &[(HOTLINE, &[HOTLINE])],
            priority: Priority::P3,
        },
        Case {
            name: "country without a route",
            report: unknown_country,
            countries: &["BR"],
            referrals: &[(HOTLINE, &[HOTLINE])],
            priority: Priority::P3,
        },
        Case {
            name: "declined by the organisation's priority filter",
            report: filtered,
            countries: &["PH"],
            referrals: &[(HOTLINE, &[HOTLINE])],
            priority: Priority::P3,
        },
        Case {
            name: "declined by the organisation's incident-type filter",
            report: wrong_type,
            countries: &["DE"],
            referrals: &[(HOTLINE, &[HOTLINE])],
            priority: Priority::P3,
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_routing_table() {
    let env = env().await;
    for case in cases() {
        let id = env.insert(&case.report).await;
        let outcome = route_report(&env.store, &env.geo, &env.router, id)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let countries: Vec<&str> = outcome
            .assessment
            .candidates
            .iter()
            .filter(|c| c.confidence >= 0.3)
            .map(|c| c.country.as_str())
            .collect();
        assert_eq!(
            countries, case.countries,
            "{}: {:#?}",
            case.name, outcome.assessment
        );
        assert_eq!(
            outcome.priority.priority, case.priority,
            "{}: {:?}",
            case.name, outcome.priority
        );
        let mut got = Vec::new();
        for r in &outcome.referrals {
            let first = env.name(r.to_org).await;
            let finals: Vec<String> = r
                .route
                .iter()
                .filter_map(|route| route.path.last().cloned())
                .collect();
            assert_eq!(r.from_org, env.holder, "{}", case.name);
            assert_eq!(r.via_org, None, "{}", case.name);
            got.push((first, finals));
        }
        let want: Vec<(String, Vec<String>)> = case
            .referrals
            .iter()
            .map(|(first, finals)| {
                (
                    (*first).to_owned(),
                    finals.iter().map(|s| (*s).to_owned()).collect(),
                )
            })
            .collect();
        assert_eq!(got, want, "{}: skipped {:?}", case.name, outcome.skipped);
        // Due dates follow the priority: P1 24 h, P3 30 days.
        let due = outcome.referrals[0].due_at.expect("due date") - outcome.referrals[0].created_at;
        let expected = if case.priority == Priority::P1 {
            Duration::hours(24)
        } else {
            Duration::days(30)
        };
        assert!(
            (due - expected).abs() < Duration::minutes(1),
            "{}: {due}",
            case.name
        );

        // Re-running changes nothing.
        let again = route_report(&env.store, &env.geo, &env.router, id)
            .await
            .expect("rerun");
        assert_eq!(again.referrals, outcome.referrals, "{}", case.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_names_signal_value_and_source() {
    let env = env().await;
    let mut report = base();
    report.parties[0].ip_events = vec![ip("::ffff:87.128.1.1", true), ip("10.0.0.1", false)];
    let id = env.insert(&report).await;
    let outcome = route_report(&env.store, &env.geo, &env.router, id)
        .await
        .expect("route");
    let de = outcome
        .assessment
        .candidates
        .iter()
        .find(|c| c.country == "DE")
        .expect("mapped IPv6 located as IPv4");
    let ev = &de.evidence[0];
    assert_eq!(ev.signal, SignalKind::IpAddress);
    assert_eq!(ev.value, "::ffff:87.128.1.1");
    assert!(!ev.source.is_empty());
    let note = ev.note.clone().unwrap_or_default();
    assert!(
        note.contains("proxy") && note.contains("no historical"),
        "{note}"
    );
    assert_eq!(de.confidence, 0.15);
    assert!(outcome.assessment.unplaced[0].why.contains("private"));
    // The reporting company's country is weak evidence, below the routing threshold.
    let us = outcome
        .assessment
        .candidates
        .iter()
        .find(|c| c.country == "US")
        .expect("reporter location");
    assert_eq!(us.evidence[0].signal, SignalKind::ReporterLocation);
    // Stored and read back as routed.
    let stored = env.store.routing(id).await.expect("read").expect("routed");
    assert_eq!(stored.candidates, outcome.assessment.candidates);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinator_forwards_along_the_chain() {
    let env = env().await;
    let mut report = base();
    report.parties[0].ip_events = vec![ip("87.128.1.1", false)];
    let id = env.insert(&report).await;
    let outcome = route_report(&env.store, &env.geo, &env.router, id)
        .await
        .expect("route");
    let germany = env.store.org_by_name(GERMANY).await.expect("org").id;
    let coordinator = env.store.org_by_name(COORDINATOR).await.expect("org").id;
    assert!(!env.store.can_see_report(germany, id).await.expect("see"));
    assert!(env
        .store
        .can_see_report(coordinator, id)
        .await
        .expect("see"));
    let all = forward_referral(&env.store, &env.router, &outcome.referrals[0])
        .await
        .expect("forward");
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].status, "forwarded");
    assert_eq!(all[1].to_org, germany);
    assert_eq!(all[1].from_org, coordinator);
    assert_eq!(all[1].via_org, Some(coordinator));
    assert_eq!(all[1].route[0].path, [GERMANY]);
    assert!(env.store.can_see_report(germany, id).await.expect("see"));
    // Routing again does not re-create anything.
    let again = route_report(&env.store, &env.geo, &env.router, id)
        .await
        .expect("rerun");
    assert_eq!(again.referrals.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_reports_are_routed_from_the_job_queue_once() {
    let env = env().await;
    let mut report = base();
    report.parties[0].ip_events = vec![ip("112.198.1.1", false)];
    report.incident.escalation = Some("urgent".into());
    let a = env.insert(&report).await;
    let b = env.insert(&base()).await;
    let first = process_finished_jobs(&env.store, &env.geo, &env.rules, "test")
        .await
        .expect("jobs");
    assert_eq!((first.routed, first.failed), (2, 0));
    let second = process_finished_jobs(&env.store, &env.geo, &env.rules, "test")
        .await
        .expect("jobs");
    assert_eq!(second.routed, 0);
    for id in [a, b] {
        assert!(env.store.routing(id).await.expect("read").is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rules_file_reloads_when_it_changes() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, "min_confidence = 0.3\n").expect("write");
    let file = RulesFile::load(&path).expect("load");
    assert_eq!(file.current().min_confidence, 0.3);
    std::fs::write(&path, "min_confidence = 0.5\n").expect("write");
    bump_mtime(&path, 10);
    assert_eq!(file.current().min_confidence, 0.5);
    // A broken edit keeps the rules in force; an explicit reload reports the line.
    std::fs::write(
        &path,
        "min_confidence = 0.5\n[[route]]\ncountries = \"DE\"\n",
    )
    .expect("write");
    bump_mtime(&path, 20);
    assert_eq!(file.current().min_confidence, 0.5);
    let err = file.reload().expect_err("invalid");
    assert!(err.to_string().contains("rules.toml:3:"), "{err}");
    let _ = Arc::new(file);
}

fn bump_mtime(path: &Path, seconds: u64) {
    let f = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open");
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(seconds))
        .expect("set mtime");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_material_verdict_raises_the_priority() {
    let env = env().await;
    let mut report = base();
    report.incident.occurred_at = OffsetDateTime::now_utc() - Duration::days(2);
    let id = env.insert(&report).await;
    let now = OffsetDateTime::now_utc();
    let unknown = route_report_with(&env.store, &env.geo, &env.router, id, None, now)
        .await
        .expect("route");
    assert_eq!(unknown.priority.priority, Priority::P3);
    let new_material = route_report_with(
        &env.store,
        &env.geo,
        &env.router,
        id,
        Some(safeguard_domain::priority::Verdict::NewMaterial),
        now,
    )
    .await
    .expect("route");
    // recent 10 + unknown material 15 = 25: level 2.
    assert_eq!(new_material.priority.priority, Priority::P2);
    let stored = env.store.routing(id).await.expect("read").expect("routed");
    assert_eq!(stored.priority, Some(Priority::P2));
    assert_eq!(stored.fired.len(), 2);
}

#[tokio::test]
async fn a_batch_routes_exactly_as_one_report_at_a_time() {
    use safeguard_engine::routing::route_reports_with;
    let one = env().await;
    let batch = env().await;
    let now = time::OffsetDateTime::now_utc();
    let mut ids = Vec::new();
    for case in cases() {
        let a = one.insert(&case.report).await;
        let b = batch.insert(&case.report).await;
        assert_eq!(a, b);
        ids.push(a);
    }
    let mut singles = Vec::new();
    for &id in &ids {
        singles.push(
            route_report_with(&one.store, &one.geo, &one.router, id, None, now)
                .await
                .expect("route one"),
        );
    }
    let reports: Vec<_> = ids.iter().map(|&id| (id, None)).collect();
    let batched = route_reports_with(&batch.store, &batch.geo, &batch.router, &reports, now)
        .await
        .expect("route batch");
    assert_eq!(batched.len(), singles.len());
    for (s, b) in singles.iter().zip(&batched) {
        assert_eq!(s.report_id, b.report_id);
        assert_eq!(s.priority, b.priority);
        assert_eq!(s.assessment, b.assessment);
        assert_eq!(s.skipped, b.skipped);
        let strip = |r: &Vec<safeguard_store::Referral>| -> Vec<_> {
            r.iter()
                .map(|r| {
                    (
                        r.report_id,
                        r.from_org,
                        r.to_org,
                        r.reason.clone(),
                        r.due_at,
                        r.route.clone(),
                    )
                })
                .collect()
        };
        assert_eq!(strip(&s.referrals), strip(&b.referrals));
        assert!(!b.referrals.is_empty());
        // Stored the same way as well.
        let stored = batch
            .store
            .routing(b.report_id)
            .await
            .expect("read")
            .expect("routed");
        assert_eq!(stored.priority, Some(b.priority.priority));
        assert_eq!(stored.referrals.len(), b.referrals.len());
    }
    // A batch naming a report that does not exist fails as a whole.
    let mut bad = reports.clone();
    bad.push((safeguard_domain::report::ReportId(999_999), None));
    assert!(
        route_reports_with(&batch.store, &batch.geo, &batch.router, &bad, now)
            .await
            .is_err()
    );
}
