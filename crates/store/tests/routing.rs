//! Routing results and the job queue, on SQLite and PostgreSQL alike.

mod support;

use safeguard_domain::account::{OrgKind, OrgName};
use safeguard_domain::jurisdiction::{Assessment, Candidate, Evidence, SignalKind};
use safeguard_domain::priority::{FiredRule, PriorityAssessment};
use safeguard_domain::report::{IncidentType, IntakeState, NewReport, Priority, ReportSource};
use safeguard_domain::routing::RoutedCountry;
use safeguard_store::{NewReferral, RoutingRecord, Store, Submission, JOB_REPORT_FINISHED};
use time::macros::datetime;

both_databases!(
    routing_is_stored_and_rerunning_adds_no_referral,
    finished_reports_enqueue_one_job_claimed_once,
    referrals_are_forwarded_through_intermediaries,
);

async fn setup(store: &Store) -> (i64, i64, i64, safeguard_domain::report::ReportId) {
    let mut ids = Vec::new();
    for (name, kind) in [
        ("Hotline", OrgKind::Hotline),
        ("Coordinator", OrgKind::Coordinator),
        ("Agency", OrgKind::Agency),
    ] {
        let org = store
            .create_org(&OrgName::parse(name).expect("name"), kind, None)
            .await
            .expect("org");
        ids.push(org.id.0);
    }
    let report = NewReport::new(
        IncidentType::ChildPornography,
        datetime!(2024-01-01 00:00 UTC),
    );
    let (stored, _) = store
        .insert_report(&Submission {
            source: ReportSource::Api,
            reporter_org: safeguard_domain::account::OrgId(ids[0]),
            holder_org: safeguard_domain::account::OrgId(ids[0]),
            submitted_by: None,
            actor: "test",
            state: IntakeState::Finished,
            report: &report,
            original: None,
            idempotency: None,
        })
        .await
        .expect("report");
    (ids[0], ids[1], ids[2], stored.report.id)
}

fn route(path: &[&str]) -> Vec<RoutedCountry> {
    vec![RoutedCountry {
        country: Some("DE".into()),
        confidence: 0.8,
        path: path.iter().map(|s| (*s).to_owned()).collect(),
        rule: "route DE".into(),
    }]
}

async fn routing_is_stored_and_rerunning_adds_no_referral(store: &Store) {
    let (hotline, coordinator, _, report) = setup(store).await;
    let assessment = Assessment {
        candidates: vec![Candidate {
            country: "DE".into(),
            confidence: 0.8,
            evidence: vec![Evidence {
                signal: SignalKind::IpAddress,
                value: "87.128.0.1".into(),
                source: "bundled".into(),
                weight: 0.6,
                note: None,
            }],
        }],
        unplaced: vec![],
    };
    let priority = PriorityAssessment {
        priority: Priority::P2,
        score: 40,
        fired: vec![FiredRule {
            rule: "escalation_requested".into(),
            weight: 40,
            facts: vec!["escalation: x".into()],
        }],
    };
    let referrals = [NewReferral {
        from_org: safeguard_domain::account::OrgId(hotline),
        to_org: safeguard_domain::account::OrgId(coordinator),
        via_org: None,
        reason: "DE".into(),
        due_at: Some(datetime!(2030-01-01 00:00 UTC)),
        route: route(&["Coordinator", "Agency"]),
    }];
    let record = RoutingRecord {
        report_id: report,
        actor: "test",
        assessment: &assessment,
        priority: &priority,
        skipped: &[],
        referrals: &referrals,
    };
    let first = store.save_routing(&record).await.expect("save");
    let second = store.save_routing(&record).await.expect("save again");
    assert_eq!(first.len(), 1);
    assert_eq!(first, second);
    let stored = store.routing(report).await.expect("read").expect("routed");
    assert_eq!(stored.priority, Some(Priority::P2));
    assert_eq!(stored.fired, priority.fired);
    assert_eq!(stored.candidates, assessment.candidates);
    assert_eq!(stored.referrals[0].route[0].path, ["Coordinator", "Agency"]);
    assert_eq!(
        stored.referrals[0].due_at,
        Some(datetime!(2030-01-01 00:00 UTC))
    );
    assert_eq!(
        store.report(report).await.expect("r").report.priority,
        Some(Priority::P2)
    );
}

async fn finished_reports_enqueue_one_job_claimed_once(store: &Store) {
    let (_, _, _, report) = setup(store).await;
    store
        .enqueue_job(JOB_REPORT_FINISHED, report.0)
        .await
        .expect("enqueue twice is fine");
    let lease = time::Duration::minutes(5);
    let jobs = store
        .claim_jobs(JOB_REPORT_FINISHED, "w1", 10, lease)
        .await
        .expect("claim");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].subject_id, report.0);
    assert!(store
        .claim_jobs(JOB_REPORT_FINISHED, "w2", 10, lease)
        .await
        .expect("claim")
        .is_empty());
    store
        .fail_job(jobs[0].id, "boom", time::OffsetDateTime::now_utc())
        .await
        .expect("fail");
    let again = store
        .claim_jobs(JOB_REPORT_FINISHED, "w2", 10, lease)
        .await
        .expect("claim");
    assert_eq!(again[0].attempts, 2);
    store.complete_job(again[0].id).await.expect("done");
    assert!(store
        .claim_jobs(JOB_REPORT_FINISHED, "w3", 10, lease)
        .await
        .expect("claim")
        .is_empty());
}

async fn referrals_are_forwarded_through_intermediaries(store: &Store) {
    let (hotline, coordinator, agency, report) = setup(store).await;
    let assessment = Assessment::default();
    let priority = PriorityAssessment {
        priority: Priority::P3,
        score: 0,
        fired: vec![],
    };
    let referrals = [NewReferral {
        from_org: safeguard_domain::account::OrgId(hotline),
        to_org: safeguard_domain::account::OrgId(coordinator),
        via_org: None,
        reason: "DE".into(),
        due_at: None,
        route: route(&["Coordinator", "Agency"]),
    }];
    let saved = store
        .save_routing(&RoutingRecord {
            report_id: report,
            actor: "test",
            assessment: &assessment,
            priority: &priority,
            skipped: &[],
            referrals: &referrals,
        })
        .await
        .expect("save");
    let agency_id = safeguard_domain::account::OrgId(agency);
    assert!(!store.can_see_report(agency_id, report).await.expect("see"));
    let after = store
        .forward_referral(saved[0].id, agency_id, &route(&["Agency"]), "forwarded")
        .await
        .expect("forward");
    assert_eq!(after.len(), 2);
    assert_eq!(after[0].status, "forwarded");
    assert_eq!(after[1].via_org.map(|o| o.0), Some(coordinator));
    assert_eq!(after[1].from_org.0, coordinator);
    assert!(store.can_see_report(agency_id, report).await.expect("see"));
    let again = store
        .forward_referral(saved[0].id, agency_id, &route(&["Agency"]), "forwarded")
        .await
        .expect("forward again");
    assert_eq!(again.len(), 2);
}
