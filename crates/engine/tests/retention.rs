//! The retention purge over a real store and vault: with the default periods, 400 days on an
//! informational report, an unfinished one and a public tip are due (their rows and evidence
//! files go, tombstones and audit entries stay), a referred report and its media are not; a dry
//! run counts without deleting; running the purge again does nothing.

use std::sync::Arc;

use safeguard_domain::account::{OrgKind, OrgName, Role};
use safeguard_domain::report::{
    FileRelevance, IncidentType, IntakeState, NewReport, ReportId, ReportSource,
};
use safeguard_engine::accounts;
use safeguard_engine::retention::{purge_due, RetentionPolicy, RETENTION_ACTOR};
use safeguard_store::{DataClass, NewFile, Store, StoreOptions, Submission};
use safeguard_vault::{KeyId, KeyRing, MasterKey, Vault, VaultConfig};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

async fn report(
    store: &Store,
    vault: &Vault,
    org: safeguard_domain::account::OrgId,
    state: IntakeState,
    content: &[u8],
) -> (ReportId, safeguard_domain::digest::Sha256) {
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
    let blob = vault.put_bytes(content).expect("vault");
    let sha = blob.digests.sha256;
    store
        .attach_file(&NewFile {
            report: stored.report.id,
            file_id: &sha.to_hex()[..32],
            digests: blob.digests,
            size: blob.size,
            original_name: None,
            media_type: Some("application/octet-stream"),
            relevance: FileRelevance::Reported,
            actor_user: None,
            actor: "test",
        })
        .await
        .expect("file");
    (stored.report.id, sha)
}

#[tokio::test]
async fn the_purge_deletes_what_is_due_with_tombstones_and_leaves_the_rest() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
        .await
        .expect("store");
    let keys = KeyRing::new(MasterKey::generate(KeyId::generate()));
    let vault = Arc::new(
        Vault::open(&dir.path().join("vault"), keys, VaultConfig::default()).expect("vault"),
    );
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
    // Synthetic byte patterns stand for evidence files.
    let (informational, info_blob) = report(
        &store,
        &vault,
        hotline.id,
        IntakeState::Finished,
        b"synthetic pattern: informational",
    )
    .await;
    store
        .execute_admin(&format!(
            "UPDATE report SET priority = 'informational' WHERE id = {}",
            informational.0
        ))
        .await
        .expect("priority");
    let (unfinished, unfinished_blob) = report(
        &store,
        &vault,
        hotline.id,
        IntakeState::Open,
        b"synthetic pattern: unfinished",
    )
    .await;
    let (referred, referred_blob) = report(
        &store,
        &vault,
        hotline.id,
        IntakeState::Finished,
        b"synthetic pattern: referred",
    )
    .await;
    store
        .insert_referral(referred, hotline.id, agency.id, "test")
        .await
        .expect("referral");
    // A published Trace-an-Object picture with a tip from the public (the victim-identification
    // demo seed, run as its fictional specialist and reviewers).
    for (name, role) in [
        ("specialist", Role::Specialist),
        ("reviewer", Role::Reviewer),
        ("reviewer.nl", Role::Reviewer),
    ] {
        accounts::add_user(
            &store,
            "Hotline",
            name,
            role,
            "a long retention password",
            "test",
        )
        .await
        .expect("user");
    }
    safeguard_engine::victim::demo::seed(&store, &vault, hotline.id)
        .await
        .expect("victim demo");
    let tips = store.list_tips(None, None, 100).await.expect("tips");
    assert!(!tips.is_empty(), "the demo has a tip");

    let policy = RetentionPolicy::default();
    let now = OffsetDateTime::now_utc();

    // Nothing is due today.
    let run = purge_due(&store, &vault, &policy, now, false)
        .await
        .expect("purge");
    assert_eq!(run.purged(), 0);

    // 400 days on: a dry run counts, deletes nothing.
    let later = now + Duration::days(400);
    let dry = purge_due(&store, &vault, &policy, later, true)
        .await
        .expect("dry run");
    assert_eq!(dry.purged(), 0);
    assert_eq!(dry.classes[&DataClass::Informational].due, 1);
    assert_eq!(dry.classes[&DataClass::UnfinishedIntake].due, 1);
    assert_eq!(dry.classes[&DataClass::Referred].due, 0);
    assert_eq!(dry.classes[&DataClass::PublicTips].due, tips.len());
    assert!(store.report(informational).await.is_ok());
    assert!(vault.exists(&info_blob).expect("exists"));

    // The purge itself.
    let run = purge_due(&store, &vault, &policy, later, false)
        .await
        .expect("purge");
    let info = &run.classes[&DataClass::Informational];
    assert_eq!((info.purged, info.files, info.blobs_deleted), (1, 1, 1));
    let open = &run.classes[&DataClass::UnfinishedIntake];
    assert_eq!((open.purged, open.files, open.blobs_deleted), (1, 1, 1));
    assert_eq!(run.classes[&DataClass::Referred].purged, 0);
    assert_eq!(run.classes[&DataClass::Media].purged, 0);
    assert_eq!(run.classes[&DataClass::PublicTips].purged, tips.len());

    // Rows and evidence files gone; tombstones keep the hashes.
    assert!(store.report(informational).await.is_err());
    assert!(store.report(unfinished).await.is_err());
    assert!(!vault.exists(&info_blob).expect("exists"));
    assert!(!vault.exists(&unfinished_blob).expect("exists"));
    let stones = store
        .tombstones("report", &informational.0.to_string())
        .await
        .expect("tombstones");
    assert_eq!(stones.len(), 1);
    assert_eq!(
        stones[0].detail["files_sha256"][0],
        info_blob.to_hex().as_str()
    );
    assert!(store
        .list_tips(None, None, 100)
        .await
        .expect("tips")
        .is_empty());
    for tip in &tips {
        let stones = store
            .tombstones("public_tip", &tip.id.to_string())
            .await
            .expect("tombstones");
        assert_eq!(stones.len(), 1);
        assert!(stones[0].sha256.is_some(), "the tip's digest is kept");
        let audit = store
            .audit_for_object("public_tip", &tip.id.to_string(), 10)
            .await
            .expect("audit");
        assert!(audit
            .iter()
            .any(|e| e.event.action == "retention.purge" && e.event.actor == RETENTION_ACTOR));
    }

    // The referred report and its evidence stay; the audit chain holds.
    assert!(store.report(referred).await.is_ok());
    assert!(vault.exists(&referred_blob).expect("exists"));
    assert!(store.verify_audit().await.expect("verify").broken.is_none());

    // Again: nothing more to do.
    let again = purge_due(&store, &vault, &policy, later, false)
        .await
        .expect("purge");
    assert_eq!(again.purged(), 0);
}
