//! Retention on SQLite and PostgreSQL alike: each data class selects what its period makes due,
//! a purge deletes rows and files (releasing blobs for the vault), keeps a tombstone with hashes
//! and writes the purge to the audit log; nothing not due is touched.

mod support;

use safeguard_domain::account::{OrgKind, OrgName};
use safeguard_domain::digest::Digester;
use safeguard_domain::report::{
    FileRelevance, IncidentType, IntakeState, NewReport, ReportId, ReportSource,
};
use safeguard_store::{DataClass, NewFile, Store, Submission};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

both_databases!(each_class_purges_what_is_due_and_keeps_a_tombstone);

async fn report(
    store: &Store,
    org: safeguard_domain::account::OrgId,
    state: IntakeState,
) -> ReportId {
    let r = NewReport::new(
        IncidentType::ChildPornography,
        datetime!(2025-01-01 00:00 UTC),
    );
    let (stored, _) = store
        .insert_report(&Submission {
            source: ReportSource::Api,
            reporter_org: org,
            holder_org: org,
            submitted_by: None,
            actor: "test",
            state,
            report: &r,
            original: None,
            idempotency: None,
        })
        .await
        .expect("report");
    stored.report.id
}

async fn file(store: &Store, report: ReportId, content: &[u8]) -> (String, String) {
    let digests = Digester::digest(content);
    let file_id = digests.sha256.to_hex()[..32].to_owned();
    let hex = digests.sha256.to_hex();
    store
        .attach_file(&NewFile {
            report,
            file_id: &file_id,
            digests,
            size: content.len() as u64,
            original_name: None,
            media_type: Some("image/png"),
            relevance: FileRelevance::Reported,
            actor_user: None,
            actor: "test",
        })
        .await
        .expect("file");
    (file_id, hex)
}

async fn each_class_purges_what_is_due_and_keeps_a_tombstone(store: &Store) {
    let hotline = store
        .create_org(
            &OrgName::parse("Hotline").expect("name"),
            OrgKind::Hotline,
            Some("US"),
        )
        .await
        .expect("org");
    let agency = store
        .create_org(
            &OrgName::parse("Agency").expect("name"),
            OrgKind::Agency,
            Some("DE"),
        )
        .await
        .expect("org");
    let informational = report(store, hotline.id, IntakeState::Finished).await;
    let (info_file, info_sha) = file(store, informational, b"synthetic pattern one").await;
    store
        .execute_admin(&format!(
            "UPDATE report SET priority = 'informational' WHERE id = {}",
            informational.0
        ))
        .await
        .expect("priority");
    let referred = report(store, hotline.id, IntakeState::Finished).await;
    store
        .insert_referral(referred, hotline.id, agency.id, "test")
        .await
        .expect("referral");
    let unfinished = report(store, hotline.id, IntakeState::Open).await;
    let kept = report(store, hotline.id, IntakeState::Finished).await;
    let (kept_file, kept_sha) = file(store, kept, b"synthetic pattern two").await;

    // Nothing is due before its period has run.
    let past = OffsetDateTime::now_utc() - Duration::days(1);
    for class in DataClass::ALL {
        assert!(store
            .retention_candidates(class, past, 100)
            .await
            .expect("candidates")
            .is_empty());
    }
    let cutoff = OffsetDateTime::now_utc() + Duration::days(1);
    let ids = |c: Vec<safeguard_store::PurgeCandidate>| {
        c.into_iter().map(|c| c.object_id).collect::<Vec<_>>()
    };
    let due = |class| store.retention_candidates(class, cutoff, 100);
    assert_eq!(
        ids(due(DataClass::UnfinishedIntake).await.expect("c")),
        vec![unfinished.0.to_string()]
    );
    assert_eq!(
        ids(due(DataClass::Informational).await.expect("c")),
        vec![informational.0.to_string()]
    );
    assert_eq!(
        ids(due(DataClass::Referred).await.expect("c")),
        vec![referred.0.to_string()]
    );
    let mut media = ids(due(DataClass::Media).await.expect("c"));
    media.sort();
    let mut want = vec![info_file.clone(), kept_file.clone()];
    want.sort();
    assert_eq!(media, want);

    // An informational report: the report, its file and its blob go; a tombstone stays.
    let candidate = due(DataClass::Informational).await.expect("c").remove(0);
    let purged = store
        .purge(&candidate, cutoff, "system:retention")
        .await
        .expect("purge")
        .expect("due");
    assert_eq!(purged.files, 1);
    assert_eq!(purged.released.len(), 1);
    assert_eq!(purged.released[0].sha256.to_hex(), info_sha);
    assert!(
        store.report(informational).await.is_err(),
        "the report is gone"
    );
    let stones = store
        .tombstones("report", &informational.0.to_string())
        .await
        .expect("t");
    assert_eq!(stones.len(), 1);
    assert_eq!(stones[0].data_class, "informational");
    assert_eq!(stones[0].detail["files_sha256"][0], info_sha.as_str());
    // Purging it again does nothing.
    assert!(store
        .purge(&candidate, cutoff, "system:retention")
        .await
        .expect("purge")
        .is_none());

    // Media: the file goes, its report stays.
    let candidate = due(DataClass::Media).await.expect("c").remove(0);
    assert_eq!(candidate.object_id, kept_file);
    let purged = store
        .purge(&candidate, cutoff, "system:retention")
        .await
        .expect("purge")
        .expect("due");
    assert_eq!(purged.released.len(), 1);
    let still = store.report(kept).await.expect("report kept");
    assert!(still.report.files.is_empty());
    let stones = store.tombstones("file", &kept_file).await.expect("t");
    assert_eq!(stones[0].sha256.map(hex::encode), Some(kept_sha));

    // A report not due under the cut-off given is refused even if named.
    let candidate = due(DataClass::Referred).await.expect("c").remove(0);
    assert!(store
        .purge(&candidate, past, "system:retention")
        .await
        .expect("purge")
        .is_none());
    assert!(store.report(referred).await.is_ok());

    // Every purge is in the audit log, and the chain holds.
    let audit = store
        .audit_for_object("report", &informational.0.to_string(), 10)
        .await
        .expect("audit");
    assert!(audit.iter().any(|e| e.event.action == "retention.purge"));
    let audit = store
        .audit_for_object("file", &kept_file, 10)
        .await
        .expect("audit");
    assert!(audit.iter().any(|e| e.event.action == "retention.purge"));
    assert!(store.verify_audit().await.expect("verify").broken.is_none());
}
