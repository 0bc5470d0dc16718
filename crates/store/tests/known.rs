//! Known material in the store (hash sets, entries, imports, series, matches, verdicts), run on
//! SQLite and on PostgreSQL alike.

mod support;

use safeguard_domain::account::{OrgId, OrgKind, OrgName};
use safeguard_domain::digest::Digester;
use safeguard_domain::known::{
    EntryFacts, EntryHashes, FileVerdict, HashSetPurpose, MatchHashKind, MatchMethod, PdqHash,
    SeriesStatus, Verdict,
};
use safeguard_domain::report::{
    FileRelevance, IncidentType, IntakeState, NewReport, ReportId, ReportSource,
};
use safeguard_store::{
    EntryFilter, ImportContext, ImportCounts, KnownActor, KnownFrame, NewFile, NewHashSet,
    NewKnownEntry, Store, StoreError, Submission, UpsertOutcome,
};
use time::macros::datetime;

both_databases!(
    hash_sets_are_unique_and_visible_to_owner_or_when_shared,
    reimporting_updates_instead_of_duplicating,
    conflicting_records_are_refused_without_aborting_the_batch,
    exact_matches_respect_visibility_and_disabling,
    series_merge_split_and_status_keep_their_history,
    file_verdicts_roll_up_to_the_report,
    video_frames_round_trip,
);

const ACTOR: KnownActor<'static> = KnownActor {
    user: None,
    name: "test",
};

async fn org(store: &Store, name: &str) -> OrgId {
    store
        .create_org(&OrgName::parse(name).expect("name"), OrgKind::Hotline, None)
        .await
        .expect("org")
        .id
}

async fn set(
    store: &Store,
    name: &str,
    owner: OrgId,
    purpose: HashSetPurpose,
    shared: bool,
) -> safeguard_domain::known::HashSet {
    store
        .create_hash_set(
            &NewHashSet {
                name,
                owner_org: owner,
                purpose,
                source: Some("synthetic"),
                licence: None,
                category_scheme: Some("US"),
                shared,
            },
            ACTOR,
        )
        .await
        .expect("hash set")
}

fn entry_of(content: &[u8], series: Option<&str>) -> NewKnownEntry {
    let d = Digester::digest(content);
    NewKnownEntry {
        hashes: EntryHashes {
            md5: Some(d.md5),
            sha1: Some(d.sha1),
            sha256: None,
            pdq: None,
            photodna: None,
        },
        facts: EntryFacts {
            category: Some(1),
            ..EntryFacts::default()
        },
        series: series.map(str::to_owned),
    }
}

fn ctx(set: &safeguard_domain::known::HashSet, org: OrgId) -> ImportContext {
    ImportContext {
        hash_set: set.id,
        import_id: None,
        org,
    }
}

async fn hash_sets_are_unique_and_visible_to_owner_or_when_shared(store: &Store) {
    let a = org(store, "Hotline A").await;
    let b = org(store, "Hotline B").await;
    let own = set(store, "A_PRIVATE", a, HashSetPurpose::Known, false).await;
    set(store, "B_SHARED", b, HashSetPurpose::Known, true).await;
    set(store, "B_PRIVATE", b, HashSetPurpose::Known, false).await;
    let err = store
        .create_hash_set(
            &NewHashSet {
                name: "A_PRIVATE",
                owner_org: b,
                purpose: HashSetPurpose::Known,
                source: None,
                licence: None,
                category_scheme: None,
                shared: false,
            },
            ACTOR,
        )
        .await
        .expect_err("duplicate name");
    assert!(matches!(err, StoreError::Duplicate { .. }), "{err}");
    let names: Vec<String> = store
        .list_hash_sets(Some(a))
        .await
        .expect("list")
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, vec!["A_PRIVATE", "B_SHARED"]);
    assert_eq!(store.list_hash_sets(None).await.expect("all").len(), 3);
    let found = store
        .hash_set_by_name("A_PRIVATE")
        .await
        .expect("by name")
        .expect("exists");
    assert_eq!(found.id, own.id);
    assert_eq!(found.category_scheme.as_deref(), Some("US"));
    assert!(found.enabled && !found.shared);
    let updated = store
        .update_hash_set_flags(own.id, Some(false), Some(true), ACTOR)
        .await
        .expect("flags");
    assert!(!updated.enabled && updated.shared);
}

async fn reimporting_updates_instead_of_duplicating(store: &Store) {
    let a = org(store, "Hotline A").await;
    let s = set(store, "SET", a, HashSetPurpose::Known, false).await;
    let import = store
        .begin_known_import(s.id, "vics", Some("file.json"), a, ACTOR)
        .await
        .expect("import");
    let c = ImportContext {
        import_id: Some(import),
        ..ctx(&s, a)
    };
    let batch: Vec<NewKnownEntry> = (0..5)
        .map(|i| entry_of(format!("media {i}").as_bytes(), Some("Series One")))
        .collect();
    let first = store
        .upsert_known_entries(c, &batch, ACTOR)
        .await
        .expect("first");
    assert!(first
        .iter()
        .all(|o| matches!(o, UpsertOutcome::Inserted { .. })));
    // Same records again, one now saying more (victim identified, SHA-256 and PDQ added).
    let mut again = batch.clone();
    again[2].facts = EntryFacts {
        victim_identified: Some(true),
        ..EntryFacts::default()
    };
    again[2].hashes.sha256 = Some(Digester::digest(b"media 2").sha256);
    again[2].hashes.pdq = Some(PdqHash([7; 32]));
    let second = store
        .upsert_known_entries(c, &again, ACTOR)
        .await
        .expect("second");
    assert!(second
        .iter()
        .all(|o| matches!(o, UpsertOutcome::Updated { .. })));
    assert!(matches!(
        second[2],
        UpsertOutcome::Updated {
            new_pdq: Some(_),
            ..
        }
    ));
    assert!(matches!(
        second[0],
        UpsertOutcome::Updated { new_pdq: None, .. }
    ));
    let entries = store
        .list_known_entries(&EntryFilter {
            hash_set: Some(s.id),
            ..EntryFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(entries.len(), 5);
    let e2 = &entries[2];
    // What the second record did not say is kept; what it said is taken.
    assert_eq!(e2.facts.category, Some(1));
    assert_eq!(e2.facts.victim_identified, Some(true));
    assert!(e2.hashes.sha256.is_some());
    assert_eq!(e2.series_name.as_deref(), Some("Series One"));
    assert_eq!(e2.import_id, Some(import));
    // A PDQ-only record is identified by its PDQ.
    let pdq_only = NewKnownEntry {
        hashes: EntryHashes {
            pdq: Some(PdqHash([9; 32])),
            ..EntryHashes::default()
        },
        ..NewKnownEntry::default()
    };
    let o = store
        .upsert_known_entries(c, &[pdq_only.clone(), pdq_only], ACTOR)
        .await
        .expect("pdq only");
    assert!(matches!(o[0], UpsertOutcome::Inserted { .. }));
    assert!(matches!(o[1], UpsertOutcome::Updated { .. }));
    let pdqs = store.known_pdq_page(0, 100).await.expect("pdq page");
    assert_eq!(pdqs.len(), 2);
    store
        .finish_known_import(
            import,
            &ImportCounts {
                records: 12,
                inserted: 6,
                updated: 6,
                errors: 0,
            },
            None,
            ACTOR,
        )
        .await
        .expect("finish");
    let stored = store.known_import(import).await.expect("import row");
    assert!(stored.finished);
    assert_eq!(stored.counts.inserted, 6);
    let series = store
        .series_by_name("Series One")
        .await
        .expect("series")
        .expect("created by import");
    assert_eq!(series.entries, 5);
    assert_eq!(series.orgs, vec![a]);
    assert_eq!(series.status, SeriesStatus::New);
}

async fn conflicting_records_are_refused_without_aborting_the_batch(store: &Store) {
    let a = org(store, "Hotline A").await;
    let s = set(store, "SET", a, HashSetPurpose::Known, false).await;
    let x = entry_of(b"x", None);
    let y = entry_of(b"y", None);
    store
        .upsert_known_entries(ctx(&s, a), &[x.clone(), y.clone()], ACTOR)
        .await
        .expect("seed");
    // MD5 of x with SHA-1 of y names two entries; MD5 of x with another SHA-1 contradicts x.
    let mut both = x.clone();
    both.hashes.sha1 = y.hashes.sha1;
    let mut contradicting = x.clone();
    contradicting.hashes.sha1 = Some(Digester::digest(b"z").sha1);
    let z = entry_of(b"fresh", None);
    let empty = NewKnownEntry::default();
    let out = store
        .upsert_known_entries(ctx(&s, a), &[both, contradicting, empty, z], ACTOR)
        .await
        .expect("batch goes through");
    assert!(
        matches!(&out[0], UpsertOutcome::Refused(m) if m.contains("2 different entries")),
        "{out:?}"
    );
    assert!(
        matches!(&out[1], UpsertOutcome::Refused(m) if m.contains("SHA-1")),
        "{out:?}"
    );
    assert!(matches!(&out[2], UpsertOutcome::Refused(_)));
    assert!(matches!(out[3], UpsertOutcome::Inserted { .. }));
    let n = store
        .list_known_entries(&EntryFilter::default())
        .await
        .expect("list")
        .len();
    assert_eq!(n, 3);
}

async fn exact_matches_respect_visibility_and_disabling(store: &Store) {
    let a = org(store, "Hotline A").await;
    let b = org(store, "Hotline B").await;
    let private_b = set(store, "B_PRIVATE", b, HashSetPurpose::Known, false).await;
    let shared_b = set(store, "B_SHARED", b, HashSetPurpose::Known, true).await;
    let content = b"synthetic checkerboard bytes";
    let mut e = entry_of(content, None);
    e.hashes.sha256 = Some(Digester::digest(content).sha256);
    store
        .upsert_known_entries(ctx(&private_b, b), std::slice::from_ref(&e), ACTOR)
        .await
        .expect("private");
    let d = Digester::digest(content);
    assert!(store
        .exact_known_matches(&d, Some(a))
        .await
        .expect("match")
        .is_empty());
    assert_eq!(
        store
            .exact_known_matches(&d, Some(b))
            .await
            .expect("own")
            .len(),
        1
    );
    let mut md5_only = e.clone();
    md5_only.hashes.sha1 = None;
    md5_only.hashes.sha256 = None;
    store
        .upsert_known_entries(ctx(&shared_b, b), &[md5_only], ACTOR)
        .await
        .expect("shared");
    let found = store
        .exact_known_matches(&d, Some(a))
        .await
        .expect("shared");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].hash_set_name, "B_SHARED");
    assert_eq!(found[0].hash_kind, MatchHashKind::Md5);
    assert_eq!(found[0].method, MatchMethod::Exact);
    let own = store.exact_known_matches(&d, Some(b)).await.expect("own");
    assert_eq!(own.len(), 2);
    assert!(own.iter().any(|m| m.hash_kind == MatchHashKind::Sha256));
    // Perceptual candidates go through the same visibility rules.
    let ids: Vec<_> = own.iter().map(|m| (m.entry, 5)).collect();
    let p = store
        .perceptual_known_matches(&ids, MatchHashKind::Pdq, Some(a))
        .await
        .expect("perceptual");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].distance, 5);
    store
        .update_hash_set_flags(shared_b.id, Some(false), None, ACTOR)
        .await
        .expect("disable");
    assert!(store
        .exact_known_matches(&d, Some(a))
        .await
        .expect("m")
        .is_empty());
    assert_eq!(
        store
            .exact_known_matches(&d, None)
            .await
            .expect("all")
            .len(),
        1
    );
}

async fn series_merge_split_and_status_keep_their_history(store: &Store) {
    let a = org(store, "Hotline A").await;
    let b = org(store, "Agency B").await;
    let s = set(store, "SET", a, HashSetPurpose::Known, false).await;
    let out = store
        .upsert_known_entries(
            ctx(&s, a),
            &[
                entry_of(b"1", Some("Red")),
                entry_of(b"2", Some("Red")),
                entry_of(b"3", Some("Blue")),
                entry_of(b"4", None),
            ],
            ACTOR,
        )
        .await
        .expect("seed");
    let ids: Vec<_> = out
        .iter()
        .map(|o| match o {
            UpsertOutcome::Inserted { id, .. } => *id,
            other => panic!("{other:?}"),
        })
        .collect();
    let red = store.series_by_name("Red").await.expect("r").expect("red");
    let blue = store
        .series_by_name("Blue")
        .await
        .expect("b")
        .expect("blue");
    let green = store
        .create_series(
            "Green",
            SeriesStatus::UnderInvestigation,
            Some("notes"),
            b,
            ACTOR,
        )
        .await
        .expect("create");
    assert!(matches!(
        store
            .create_series("Green", SeriesStatus::New, None, b, ACTOR)
            .await,
        Err(StoreError::Duplicate { .. })
    ));
    assert_eq!(
        store
            .add_entries_to_series(green.id, &[ids[3], ids[2]], ACTOR)
            .await
            .expect("add"),
        2
    );
    assert_eq!(store.series(blue.id).await.expect("blue").entries, 0);
    let merged = store
        .merge_series(red.id, green.id, ACTOR)
        .await
        .expect("merge");
    assert_eq!(merged.entries, 4);
    assert_eq!(merged.orgs, vec![a, b]);
    let red_after = store.series(red.id).await.expect("red");
    assert_eq!(red_after.merged_into, Some(green.id));
    assert!(store
        .add_entries_to_series(red.id, &[ids[0]], ACTOR)
        .await
        .is_err());
    let split = store
        .split_series(green.id, "Green B", &[ids[0]], ACTOR)
        .await
        .expect("split");
    assert_eq!(split.entries, 1);
    assert!(store
        .split_series(green.id, "Green C", &[ids[0]], ACTOR)
        .await
        .is_err());
    let status = store
        .set_series_status(green.id, SeriesStatus::VictimIdentified, ACTOR)
        .await
        .expect("status");
    assert_eq!(status.status, SeriesStatus::VictimIdentified);
    let entries = store
        .list_known_entries(&EntryFilter {
            series: Some(green.id),
            ..EntryFilter::default()
        })
        .await
        .expect("entries");
    assert_eq!(entries.len(), 3);
    assert!(entries
        .iter()
        .all(|e| e.facts.victim_identified == Some(true)));
    let history: Vec<String> = store
        .series_history(green.id)
        .await
        .expect("history")
        .into_iter()
        .map(|h| h.action)
        .collect();
    assert_eq!(
        history,
        vec!["create", "add_media", "merge_in", "split_out", "status"]
    );
    let red_history: Vec<String> = store
        .series_history(red.id)
        .await
        .expect("h")
        .into_iter()
        .map(|h| h.action)
        .collect();
    assert_eq!(red_history, vec!["create", "merged_into"]);
    let blue_history = store.series_history(blue.id).await.expect("h");
    assert_eq!(
        blue_history.last().map(|h| h.action.as_str()),
        Some("media_moved_out")
    );
    // An import naming the merged series lands in the series it went into.
    store
        .upsert_known_entries(ctx(&s, a), &[entry_of(b"5", Some("Red"))], ACTOR)
        .await
        .expect("import into tombstone name");
    assert_eq!(store.series(green.id).await.expect("g").entries, 4);
    assert_eq!(store.list_series().await.expect("list").len(), 4);
}

async fn file_verdicts_roll_up_to_the_report(store: &Store) {
    let a = org(store, "Hotline A").await;
    let s = set(store, "SET", a, HashSetPurpose::Known, false).await;
    let good = set(store, "GOOD", a, HashSetPurpose::KnownGood, false).await;
    store
        .upsert_known_entries(ctx(&s, a), &[entry_of(b"known", Some("Red"))], ACTOR)
        .await
        .expect("seed");
    store
        .upsert_known_entries(ctx(&good, a), &[entry_of(b"harmless", None)], ACTOR)
        .await
        .expect("seed good");
    let report = NewReport::new(
        IncidentType::ChildPornography,
        datetime!(2024-01-01 00:00 UTC),
    );
    let (stored, _) = store
        .insert_report(&Submission {
            source: ReportSource::Api,
            reporter_org: a,
            holder_org: a,
            submitted_by: None,
            actor: "test",
            state: IntakeState::Finished,
            report: &report,
            original: None,
            idempotency: None,
        })
        .await
        .expect("report");
    let report_id: ReportId = stored.report.id;
    let files = [
        ("k", &b"known"[..]),
        ("g", &b"harmless"[..]),
        ("u", &b"new"[..]),
    ];
    for (name, content) in files {
        store
            .attach_file(&NewFile {
                report: report_id,
                file_id: &name.repeat(32),
                digests: Digester::digest(content),
                size: content.len() as u64,
                original_name: None,
                media_type: None,
                relevance: FileRelevance::Reported,
                actor_user: None,
                actor: "test",
            })
            .await
            .expect("attach");
    }
    assert_eq!(
        store.report_known_verdict(report_id).await.expect("none"),
        None
    );
    let mut last = Verdict::Unknown;
    for (name, content) in files {
        let found = store
            .exact_known_matches(&Digester::digest(content), Some(a))
            .await
            .expect("match");
        let verdict = FileVerdict::from_matches(found);
        let (r, v) = store
            .record_file_verdict(&name.repeat(32), &verdict)
            .await
            .expect("record");
        assert_eq!(r, report_id);
        last = v;
    }
    assert_eq!(last, Verdict::Known);
    assert_eq!(
        store.file_verdict(&"g".repeat(32)).await.expect("g"),
        Some(Verdict::KnownGood)
    );
    assert_eq!(
        store.file_verdict(&"u".repeat(32)).await.expect("u"),
        Some(Verdict::Unknown)
    );
    let stored_matches = store.file_known_matches(&"k".repeat(32)).await.expect("k");
    assert_eq!(stored_matches.len(), 1);
    assert_eq!(stored_matches[0].series_name.as_deref(), Some("Red"));
    let red = store.series_by_name("Red").await.expect("r").expect("red");
    let (verdict, series) = store
        .report_known_verdict(report_id)
        .await
        .expect("verdict")
        .expect("set");
    assert_eq!(verdict, Verdict::Known);
    assert_eq!(series, vec![red.id]);
    // Re-running replaces the earlier results.
    store
        .record_file_verdict(&"k".repeat(32), &FileVerdict::from_matches(vec![]))
        .await
        .expect("rerun");
    let (verdict, series) = store
        .report_known_verdict(report_id)
        .await
        .expect("verdict")
        .expect("set");
    assert_eq!(verdict, Verdict::KnownGood);
    assert!(series.is_empty());
    assert!(store
        .file_known_matches(&"k".repeat(32))
        .await
        .expect("k")
        .is_empty());
    assert!(matches!(
        store
            .record_file_verdict(&"x".repeat(32), &FileVerdict::from_matches(vec![]))
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn video_frames_round_trip(store: &Store) {
    let a = org(store, "Hotline A").await;
    let s = set(store, "VIDEOS", a, HashSetPurpose::Known, false).await;
    let out = store
        .upsert_known_entries(ctx(&s, a), &[entry_of(b"video", None)], ACTOR)
        .await
        .expect("seed");
    let UpsertOutcome::Inserted { id, .. } = out[0] else {
        panic!("{out:?}")
    };
    let frames: Vec<KnownFrame> = (0..3)
        .map(|i| KnownFrame {
            frame: i,
            timestamp_ms: i * 1000,
            pdq: PdqHash([i as u8; 32]),
            quality: 90,
        })
        .collect();
    store.set_known_frames(id, &frames).await.expect("frames");
    assert_eq!(store.known_frames(id).await.expect("read"), frames);
    assert_eq!(store.known_frame_page(0, 10).await.expect("page").len(), 3);
}
