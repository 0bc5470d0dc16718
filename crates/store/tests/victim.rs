//! Victim identification in the store (metadata, clues, public objects with two approvals, tips,
//! taskforce editions), run on SQLite and on PostgreSQL alike.

mod support;

use safeguard_domain::account::{OrgId, OrgKind, OrgName, Role, UserId, Username};
use safeguard_domain::digest::{Digester, Sha256};
use safeguard_domain::known::{
    EntryFacts, EntryHashes, HashSetPurpose, PdqHash, SeriesId, SeriesStatus,
};
use safeguard_domain::victim::{
    ClueCategory, ClueStatus, ObjectState, Region, TaskforceEventKind, TipStatus,
};
use safeguard_store::{
    ApprovalOutcome, ClueFilter, ImportContext, KnownActor, MediaMetadata, NewClue, NewHashSet,
    NewKnownEntry, NewObject, NewTaskforceEvent, NewUser, Store, TipOutcome,
};
use time::macros::datetime;

both_databases!(
    clues_objects_and_tips_follow_the_workflow,
    taskforce_editions_count_their_work,
);

async fn org(store: &Store, name: &str) -> OrgId {
    store
        .create_org(&OrgName::parse(name).expect("name"), OrgKind::Agency, None)
        .await
        .expect("org")
        .id
}

async fn user(store: &Store, org: OrgId, name: &str, role: Role) -> UserId {
    store
        .create_user(&NewUser {
            org,
            username: Username::parse(name).expect("username"),
            role,
            password_hash: "x".into(),
        })
        .await
        .expect("user")
        .id
}

fn actor(id: UserId, name: &str) -> KnownActor<'_> {
    KnownActor {
        user: Some(id.0),
        name,
    }
}

/// A series with two media, one with metadata. Returns the series, entry ids and SHA-256s.
async fn series_with_media(
    store: &Store,
    owner: OrgId,
) -> (SeriesId, Vec<safeguard_domain::known::EntryId>, Vec<Sha256>) {
    let a = KnownActor {
        user: None,
        name: "test",
    };
    let set = store
        .create_hash_set(
            &NewHashSet {
                name: "SERIES_SET",
                owner_org: owner,
                purpose: HashSetPurpose::Known,
                source: None,
                licence: None,
                category_scheme: None,
                shared: false,
            },
            a,
        )
        .await
        .expect("set");
    let series = store
        .create_series("Series Harbour", SeriesStatus::New, None, owner, a)
        .await
        .expect("series");
    let mut shas = Vec::new();
    let entries: Vec<NewKnownEntry> = (0..2u8)
        .map(|i| {
            let d = Digester::digest(&[i, 1, 2, 3]);
            shas.push(d.sha256);
            NewKnownEntry {
                hashes: EntryHashes {
                    md5: None,
                    sha1: None,
                    sha256: Some(d.sha256),
                    pdq: Some(PdqHash([i; 32])),
                    photodna: None,
                },
                facts: EntryFacts {
                    file_names: vec![format!("scene-{i}.jpg")],
                    ..EntryFacts::default()
                },
                series: Some("Series Harbour".into()),
            }
        })
        .collect();
    store
        .upsert_known_entries(
            ImportContext {
                hash_set: set.id,
                import_id: None,
                org: owner,
            },
            &entries,
            a,
        )
        .await
        .expect("entries");
    let media = store.series_media(series.id, owner).await.expect("media");
    (series.id, media.iter().map(|m| m.entry).collect(), shas)
}

async fn clues_objects_and_tips_follow_the_workflow(store: &Store) {
    let hotline = org(store, "Agency A").await;
    let other = org(store, "Agency B").await;
    let specialist = user(store, hotline, "spec", Role::Specialist).await;
    let r1 = user(store, hotline, "rev1", Role::Reviewer).await;
    let r2 = user(store, other, "rev2", Role::Reviewer).await;
    let (series, entries, shas) = series_with_media(store, hotline).await;
    assert_eq!(entries.len(), 2);
    // Another organisation does not see media of a private hash set.
    assert!(store
        .series_media(series, other)
        .await
        .expect("media")
        .is_empty());

    let meta = MediaMetadata {
        width: Some(640),
        height: Some(480),
        captured_at: Some(datetime!(2024-05-01 10:30 UTC)),
        camera_make: Some("DemoCam".into()),
        camera_model: Some("X100".into()),
        camera_serial: Some("SN-1".into()),
        gps: Some((52.370216, 4.895168)),
        pdq: Some(PdqHash([9; 32])),
        ..MediaMetadata::default()
    };
    store
        .put_media_metadata(&shas[0], &meta)
        .await
        .expect("meta");
    store
        .put_media_metadata(&shas[0], &meta)
        .await
        .expect("replace");
    let media = store.series_media(series, hotline).await.expect("media");
    let got = media[0].metadata.as_ref().expect("metadata");
    assert_eq!(got.camera_serial.as_deref(), Some("SN-1"));
    assert_eq!(got.captured_at, meta.captured_at);
    let (lat, lon) = got.gps.expect("gps");
    assert!((lat - 52.370216).abs() < 1e-6 && (lon - 4.895168).abs() < 1e-6);
    assert_eq!(
        media[0].pdq(),
        Some(PdqHash([9; 32])),
        "extracted PDQ first"
    );
    assert_eq!(media[1].pdq(), Some(PdqHash([1; 32])), "else the entry's");
    assert!(media[1].metadata.is_none());

    let clue = store
        .add_clue(
            &NewClue {
                series,
                entry: entries[0],
                region: Some(Region::new(1000, 2000, 3000, 2500).expect("region")),
                category: ClueCategory::Logo,
                description: "Green shop bag with a sun logo (50% off)",
                country: Some("NL"),
                place: None,
                org: hotline,
            },
            actor(specialist, "spec"),
        )
        .await
        .expect("clue");
    assert_eq!(clue.status, ClueStatus::Open);
    assert_eq!(clue.series_name, "Series Harbour");
    let search = |text: &str| ClueFilter {
        text: Some(text.into()),
        limit: 50,
        ..ClueFilter::default()
    };
    assert_eq!(
        store
            .search_clues(&search("SUN bag"))
            .await
            .expect("s")
            .len(),
        1
    );
    assert_eq!(
        store
            .search_clues(&search("harbour"))
            .await
            .expect("s")
            .len(),
        1
    );
    assert!(store
        .search_clues(&search("sofa"))
        .await
        .expect("s")
        .is_empty());
    // LIKE wildcards in the query are taken literally.
    assert_eq!(
        store.search_clues(&search("50%")).await.expect("s").len(),
        1
    );
    assert!(store
        .search_clues(&search("5_%"))
        .await
        .expect("s")
        .is_empty());
    let updated = store
        .update_clue(
            clue.id,
            ClueStatus::Lead,
            None,
            Some("Coastal town"),
            actor(specialist, "spec"),
        )
        .await
        .expect("update");
    assert_eq!(updated.status, ClueStatus::Lead);
    assert_eq!(updated.country.as_deref(), Some("NL"), "kept");

    let object = store
        .add_public_object(
            &NewObject {
                clue: clue.id,
                title: "Green shop bag",
                question: "Where is this bag from?",
                crop_png: b"not really a png",
                crop_width: 10,
                crop_height: 8,
            },
            actor(specialist, "spec"),
        )
        .await
        .expect("object");
    assert_eq!(object.state, ObjectState::Pending);
    // No tip for an object that is not public.
    assert_eq!(
        store
            .add_tip(object.id, "I know this bag", &[1; 32], None, None)
            .await
            .expect("tip"),
        TipOutcome::NotPublic
    );
    assert_eq!(
        store
            .approve_public_object(object.id, r1, actor(r1, "rev1"))
            .await
            .expect("approve"),
        ApprovalOutcome::Recorded { published: false }
    );
    assert_eq!(
        store
            .approve_public_object(object.id, r1, actor(r1, "rev1"))
            .await
            .expect("again"),
        ApprovalOutcome::SamePerson
    );
    assert_eq!(
        store.public_object(object.id).await.expect("o").state,
        ObjectState::Pending,
        "one person is not enough"
    );
    assert_eq!(
        store
            .approve_public_object(object.id, r2, actor(r2, "rev2"))
            .await
            .expect("second"),
        ApprovalOutcome::Recorded { published: true }
    );
    let published = store.public_object(object.id).await.expect("o");
    assert_eq!(published.state, ObjectState::Published);
    let approvers: Vec<&str> = published
        .approvals
        .iter()
        .map(|a| a.username.as_str())
        .collect();
    assert_eq!(approvers, ["rev1", "rev2"]);
    assert!(matches!(
        store
            .approve_public_object(object.id, specialist, actor(specialist, "spec"))
            .await
            .expect("late"),
        ApprovalOutcome::NotPending(ObjectState::Published)
    ));
    let listed = store
        .list_public_objects(&[ObjectState::Published, ObjectState::Traced])
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        store
            .public_object_crop(object.id)
            .await
            .expect("crop")
            .map(|(s, b)| (s, b.len())),
        Some((ObjectState::Published, 16))
    );

    let tip = store
        .add_tip(
            object.id,
            "Sold at a market",
            &[2; 32],
            Some("Netherlands"),
            None,
        )
        .await
        .expect("tip");
    let TipOutcome::Stored(tip_id) = tip else {
        panic!("stored: {tip:?}")
    };
    assert_eq!(
        store
            .add_tip(object.id, "sold at a market", &[2; 32], None, None)
            .await
            .expect("dup"),
        TipOutcome::Duplicate
    );
    let queue = store
        .list_tips(None, Some(TipStatus::New), 50)
        .await
        .expect("queue");
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].object_title, "Green shop bag");
    store
        .triage_tip(tip_id, TipStatus::Useful, actor(specialist, "spec"))
        .await
        .expect("triage");
    assert!(store
        .list_tips(None, Some(TipStatus::New), 50)
        .await
        .expect("queue")
        .is_empty());

    let traced = store
        .close_public_object(
            object.id,
            ObjectState::Traced,
            Some("NL"),
            Some("bakery chain"),
            actor(specialist, "spec"),
        )
        .await
        .expect("traced");
    assert_eq!(traced.state, ObjectState::Traced);
    let stats = store.public_statistics().await.expect("stats");
    assert_eq!(
        (
            stats.tips_received,
            stats.objects_published,
            stats.objects_traced,
            stats.countries_identified
        ),
        (1, 1, 1, 1)
    );
    // Tips for a traced object are refused.
    assert_eq!(
        store
            .add_tip(object.id, "another thought", &[3; 32], None, None)
            .await
            .expect("tip"),
        TipOutcome::NotPublic
    );
}

async fn taskforce_editions_count_their_work(store: &Store) {
    let a = org(store, "Agency A").await;
    let b = org(store, "Agency B").await;
    let spec = user(store, a, "spec", Role::Specialist).await;
    let (series, entries, _) = series_with_media(store, a).await;
    let now = time::OffsetDateTime::now_utc();
    let edition = store
        .create_taskforce(
            "VIDTF 1",
            Some("Demo"),
            now - time::Duration::days(1),
            now + time::Duration::days(9),
            a,
            actor(spec, "spec"),
        )
        .await
        .expect("edition");
    assert!(store.taskforce_has_org(edition.id, a).await.expect("has"));
    assert!(!store.taskforce_has_org(edition.id, b).await.expect("has"));
    store
        .add_taskforce_org(edition.id, b, actor(spec, "spec"), a)
        .await
        .expect("join");
    store
        .add_taskforce_org(edition.id, b, actor(spec, "spec"), a)
        .await
        .expect("join twice is a no-op");
    assert_eq!(store.list_taskforces(b).await.expect("list").len(), 1);
    store
        .assign_taskforce_series(edition.id, series, Some(spec), actor(spec, "spec"), a)
        .await
        .expect("assign");
    store
        .add_clue(
            &NewClue {
                series,
                entry: entries[1],
                region: None,
                category: ClueCategory::LanguageHeard,
                description: "Radio in the background speaks Dutch",
                country: Some("NL"),
                place: None,
                org: a,
            },
            actor(spec, "spec"),
        )
        .await
        .expect("clue");
    store
        .add_taskforce_event(
            edition.id,
            &NewTaskforceEvent {
                kind: TaskforceEventKind::Lead,
                series: Some(series),
                clue: None,
                country: Some("BE"),
                to_org: Some(b),
                body: Some("Bag sold in Belgian shops too"),
                org: Some(a),
            },
            actor(spec, "spec"),
        )
        .await
        .expect("lead");
    store
        .review_taskforce_series(edition.id, series, spec, actor(spec, "spec"), a)
        .await
        .expect("review");
    let counts = store.taskforce_counts(edition.id).await.expect("counts");
    assert_eq!(counts.series, 1);
    assert_eq!(counts.series_reviewed, 1);
    assert_eq!(
        counts.countries_suggested, 2,
        "NL from the clue, BE from the lead"
    );
    assert_eq!(counts.leads_disseminated, 1);
    assert_eq!(counts.clues, 1);
    let kinds: Vec<TaskforceEventKind> = store
        .taskforce_timeline(edition.id)
        .await
        .expect("timeline")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            TaskforceEventKind::Created,
            TaskforceEventKind::OrgJoined,
            TaskforceEventKind::Assigned,
            TaskforceEventKind::CountrySuggested,
            TaskforceEventKind::Lead,
            TaskforceEventKind::Reviewed,
        ]
    );
    let rows = store.taskforce_series(edition.id).await.expect("series");
    assert_eq!(
        rows[0].assignee.as_ref().map(|(_, n)| n.as_str()),
        Some("spec")
    );
    assert!(rows[0].reviewed_at.is_some());
}
