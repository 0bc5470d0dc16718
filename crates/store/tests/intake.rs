//! The CyberTipline intake lifecycle in the store, on SQLite and PostgreSQL alike: group-commit
//! batches with per-operation savepoints, conditional state transitions, refusals that change
//! nothing, and expiry.

mod support;

use safeguard_domain::account::{OrgId, OrgKind, OrgName, Role, Username};
use safeguard_domain::digest::Digester;
use safeguard_domain::report::{IncidentType, IntakeState, NewReport, ReportId};
use safeguard_store::{
    FileMetadata, IntakeActor, IntakeOp, IntakeOutcome, IntakeRefusal, NewUser, OwnedSubmission,
    Store,
};
use time::macros::datetime;
use time::OffsetDateTime;

both_databases!(
    a_batch_runs_every_operation_and_refusals_change_nothing,
    expiry_removes_unfinished_reports,
    files_own_ip_events_are_loaded_back,
    pdq_groups_are_filed_once
);

async fn actor(store: &Store, org: &str) -> IntakeActor {
    let o = store
        .create_org(&OrgName::parse(org).expect("name"), OrgKind::Reporter, None)
        .await
        .expect("org");
    let u = store
        .create_user(&NewUser {
            org: o.id,
            username: Username::parse(&format!("{}-user", org.to_lowercase())).expect("username"),
            role: Role::Reporter,
            password_hash: "x".into(),
        })
        .await
        .expect("user");
    IntakeActor {
        org: o.id,
        user: u.id,
        username: u.username.to_string(),
    }
}

fn open(actor: &IntakeActor, holder: OrgId) -> IntakeOp {
    IntakeOp::Open(Box::new(OwnedSubmission {
        actor: actor.clone(),
        holder_org: holder,
        report: NewReport::new(
            IncidentType::ChildPornography,
            datetime!(2025-01-01 00:00 UTC),
        ),
        media_type: "text/xml".into(),
        original: b"<report/>".to_vec(),
        at: OffsetDateTime::now_utc(),
    }))
}

fn opened(o: &Result<IntakeOutcome, safeguard_store::StoreError>) -> ReportId {
    match o {
        Ok(IntakeOutcome::Opened(id)) => *id,
        other => panic!("expected Opened, got {other:?}"),
    }
}

fn attach(actor: &IntakeActor, report: ReportId, file_id: &str, bytes: &[u8]) -> IntakeOp {
    IntakeOp::Attach {
        actor: actor.clone(),
        report,
        file_id: file_id.into(),
        digests: Digester::digest(bytes),
        size: bytes.len() as u64,
        at: OffsetDateTime::now_utc(),
    }
}

async fn a_batch_runs_every_operation_and_refusals_change_nothing(store: &Store) {
    let hotline = store
        .create_org(
            &OrgName::parse("Hotline").expect("name"),
            OrgKind::Hotline,
            None,
        )
        .await
        .expect("org");
    let me = actor(store, "Company").await;
    let rival = actor(store, "Rival").await;
    let results = store
        .intake_batch(&[
            open(&me, hotline.id),
            open(&me, hotline.id),
            open(&rival, hotline.id),
        ])
        .await
        .expect("batch");
    let (a, b, r) = (
        opened(&results[0]),
        opened(&results[1]),
        opened(&results[2]),
    );
    let now = OffsetDateTime::now_utc();
    let details = |report, file: &str| IntakeOp::Details {
        actor: me.clone(),
        report,
        file_id: file.into(),
        metadata: Box::new(FileMetadata {
            original_name: Some("x.jpg".into()),
            ..FileMetadata::default()
        }),
        document: b"<fileDetails/>".to_vec(),
        at: now,
    };
    let results = store
        .intake_batch(&[
            attach(&me, a, "f1", b"one"),
            attach(&me, r, "f2", b"two"), // not ours
            details(a, "f1"),
            details(a, "f1"),   // twice
            details(a, "nope"), // unknown file
            IntakeOp::Finish {
                actor: me.clone(),
                report: a,
                at: now,
            },
            IntakeOp::Retract {
                actor: me.clone(),
                report: a,
                at: now,
            }, // already finished
            IntakeOp::Retract {
                actor: me.clone(),
                report: b,
                at: now,
            },
            attach(&me, b, "f3", b"three"), // retracted
            IntakeOp::Finish {
                actor: me.clone(),
                report: ReportId(999_999),
                at: now,
            },
        ])
        .await
        .expect("batch");
    let outcomes: Vec<_> = results
        .into_iter()
        .map(|r| r.expect("no database error"))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            IntakeOutcome::Attached,
            IntakeOutcome::Refused(IntakeRefusal::NotOwner),
            IntakeOutcome::DetailsStored,
            IntakeOutcome::Refused(IntakeRefusal::DetailsAlreadyGiven),
            IntakeOutcome::Refused(IntakeRefusal::FileNotFound),
            IntakeOutcome::Finished(vec!["f1".into()]),
            IntakeOutcome::Refused(IntakeRefusal::AlreadyFinished),
            IntakeOutcome::Retracted,
            IntakeOutcome::Refused(IntakeRefusal::AlreadyRetracted),
            IntakeOutcome::Refused(IntakeRefusal::ReportNotFound),
        ]
    );
    assert_eq!(store.intake_counts().await.expect("counts"), (3, 1, 1));
    assert_eq!(
        store
            .intake_status(a)
            .await
            .expect("status")
            .expect("a")
            .state,
        IntakeState::Finished
    );
    assert_eq!(
        store
            .file_details_document("f1")
            .await
            .expect("doc")
            .as_deref(),
        Some(&b"<fileDetails/>"[..])
    );
    let stored = store.report(a).await.expect("report");
    assert_eq!(
        stored.report.files[0].original_name.as_deref(),
        Some("x.jpg")
    );
    assert!(store.verify_audit().await.expect("audit").broken.is_none());
}

async fn expiry_removes_unfinished_reports(store: &Store) {
    let hotline = store
        .create_org(
            &OrgName::parse("Hotline").expect("name"),
            OrgKind::Hotline,
            None,
        )
        .await
        .expect("org");
    let me = actor(store, "Company").await;
    let results = store
        .intake_batch(&[open(&me, hotline.id), open(&me, hotline.id)])
        .await
        .expect("batch");
    let (a, b) = (opened(&results[0]), opened(&results[1]));
    store
        .intake(&attach(&me, a, "fa", b"same"))
        .await
        .expect("attach");
    store
        .intake(&attach(&me, b, "fb", b"same"))
        .await
        .expect("attach");
    store
        .intake(&IntakeOp::Finish {
            actor: me.clone(),
            report: b,
            at: OffsetDateTime::now_utc(),
        })
        .await
        .expect("finish");
    let now = OffsetDateTime::now_utc();
    let none = store
        .expire_unfinished(now + time::Duration::hours(23), 10)
        .await
        .expect("expiry");
    assert!(none.reports.is_empty());
    let gone = store
        .expire_unfinished(now + time::Duration::hours(25), 10)
        .await
        .expect("expiry");
    assert_eq!(gone.reports, vec![a]);
    // The content is still used by the finished report: not released.
    assert!(gone.released.is_empty());
    assert_eq!(store.intake_counts().await.expect("counts"), (1, 1, 1));
}

async fn files_own_ip_events_are_loaded_back(store: &Store) {
    use safeguard_domain::report::{CaptureEvent, IpEvent};
    let me = actor(store, "FileIps").await;
    let id = opened(&store.intake(&open(&me, me.org)).await);
    let at = datetime!(2025-03-04 05:06:07 +02:00);
    let events = vec![
        IpEvent {
            ip: "112.198.3.3".parse().expect("ip"),
            event: Some(CaptureEvent::Upload),
            at: Some(at),
            port: Some(443),
            possible_proxy: Some(false),
        },
        IpEvent {
            ip: "2001:db8::7".parse().expect("ip"),
            event: None,
            at: None,
            port: None,
            possible_proxy: Some(true),
        },
    ];
    let now = OffsetDateTime::now_utc();
    let details = |file: &str, ip_events: Vec<IpEvent>| IntakeOp::Details {
        actor: me.clone(),
        report: id,
        file_id: file.into(),
        metadata: Box::new(FileMetadata {
            ip_events,
            ..FileMetadata::default()
        }),
        document: b"<fileDetails/>".to_vec(),
        at: now,
    };
    let results = store
        .intake_batch(&[
            attach(&me, id, "g1", b"first file"),
            attach(&me, id, "g2", b"second file"),
            attach(&me, id, "g3", b"third file"),
            details("g1", vec![]),
            details("g2", events.clone()),
            details("g3", events[..1].to_vec()),
            IntakeOp::Finish {
                actor: me.clone(),
                report: id,
                at: now,
            },
        ])
        .await
        .expect("batch");
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    let stored = store.report(id).await.expect("report");
    let files = &stored.report.files;
    assert_eq!(files.len(), 3);
    assert_eq!(files[0].ip_events, vec![]);
    assert_eq!(files[1].ip_events, events);
    assert_eq!(
        files[1].ip_events[0].at.map(|t| t.offset()),
        Some(at.offset())
    );
    assert_eq!(files[2].ip_events, events[..1].to_vec());
    // They are the files' own: the report's parties and channels do not get them.
    assert_eq!(stored.report.content.ip_events().count(), 0);
}

async fn pdq_groups_are_filed_once(store: &Store) {
    use safeguard_domain::digest::Sha256;
    use safeguard_domain::known::PdqHash;
    use safeguard_store::BlobPdq;
    let sha = |b: u8| Sha256::from_bytes([b; 32]);
    assert_eq!(store.blob_pdq(&sha(1)).await.expect("read"), None);
    let first = BlobPdq {
        pdq: PdqHash([1; 32]),
        quality: 90,
        group: PdqHash([1; 32]),
    };
    assert_eq!(
        store.file_blob_pdq(&sha(1), &first).await.expect("file"),
        first
    );
    // Filing again (another worker, a re-run) keeps the first filing.
    let other = BlobPdq {
        group: PdqHash([9; 32]),
        ..first
    };
    assert_eq!(
        store.file_blob_pdq(&sha(1), &other).await.expect("file"),
        first
    );
    let member = BlobPdq {
        pdq: PdqHash([3; 32]),
        quality: 70,
        group: PdqHash([1; 32]),
    };
    store.file_blob_pdq(&sha(2), &member).await.expect("file");
    let second_group = BlobPdq {
        pdq: PdqHash([5; 32]),
        quality: 80,
        group: PdqHash([5; 32]),
    };
    store
        .file_blob_pdq(&sha(3), &second_group)
        .await
        .expect("file");
    let reps = store.pdq_representatives_after(0, 100).await.expect("reps");
    assert_eq!(
        reps.iter().map(|(_, p)| *p).collect::<Vec<_>>(),
        vec![PdqHash([1; 32]), PdqHash([5; 32])]
    );
    let after_first = store
        .pdq_representatives_after(reps[0].0, 100)
        .await
        .expect("reps");
    assert_eq!(after_first, reps[1..].to_vec());
    assert_eq!(store.blob_pdq(&sha(2)).await.expect("read"), Some(member));
    let marks = store.known_watermark().await.expect("watermark");
    assert_eq!((marks.pdq_entry, marks.frame_entry), (0, 0));
}
