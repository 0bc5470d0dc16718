//! Matching report files against known material, with generated images only (gradients,
//! checkerboards, rectangles and discs drawn here): exact copies, JPEG re-encodings, rotated
//! copies and unrelated images must get exactly the expected verdicts and series.

mod support;

use std::io::Cursor;

use safeguard_domain::account::{OrgKind, OrgName};
use safeguard_domain::known::{HashSetPurpose, MatchHashKind, MatchMethod, SeriesId, Verdict};
use safeguard_domain::report::{FileRelevance, IncidentType, IntakeState, NewReport, ReportSource};
use safeguard_engine::known::{
    import_known, match_and_record, match_media, ImportRequest, MatchIndex, MediaHashes, Operator,
};
use safeguard_formats::known_media::{KnownMediaRecord, PdqHex, SourceFormat, SourceRef};
use safeguard_formats::known_stream::KnownMediaWriter;
use safeguard_formats::vics::VicsLayout;
use safeguard_store::{NewFile, Store, StoreOptions, Submission};
use support::{jpeg, pattern, png};
use time::macros::datetime;

/// The VICS hash set of the known patterns: (seed, series) each, with MD5/SHA-1/SHA-256 of the
/// PNG bytes and the PDQ of the image.
fn known_set(items: &[(u64, Option<&str>)]) -> Vec<u8> {
    let mut w = KnownMediaWriter::vics(Vec::new(), VicsLayout::v2_media()).expect("writer");
    for (i, (seed, series)) in items.iter().enumerate() {
        let bytes = png(&pattern(*seed, 400, 300));
        let h = MediaHashes::of_bytes(&bytes);
        let pdq = h.pdq().expect("decodes as an image");
        let mut r = KnownMediaRecord::new(SourceRef {
            format: SourceFormat::Other,
            ordinal: i as u64 + 1,
            line: None,
        });
        r.hashes.md5 = Some(h.digests.md5);
        r.hashes.sha1 = Some(h.digests.sha1);
        r.hashes.sha256 = Some(h.digests.sha256);
        r.hashes.pdq = Some(PdqHex::from_bytes(pdq.0));
        r.category = Some(1);
        r.series = series.map(str::to_owned);
        w.write(&r).expect("write");
    }
    w.finish().expect("finish")
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    verdict: Verdict,
    series: Vec<&'static str>,
    method: Option<MatchMethod>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_reencoded_rotated_and_unrelated_files_get_the_right_verdicts() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
        .await
        .expect("store");
    let hotline = store
        .create_org(
            &OrgName::parse("Hotline").expect("n"),
            OrgKind::Hotline,
            None,
        )
        .await
        .expect("org");
    let agency = store
        .create_org(&OrgName::parse("Agency").expect("n"), OrgKind::Agency, None)
        .await
        .expect("org");
    let operator = Operator {
        user: None,
        name: "test".into(),
        org: hotline.id,
    };

    // Every pattern used must be hashable perceptually (quality ≥ 50), else the test proves
    // nothing about PDQ.
    for seed in [1, 2, 3, 4, 5, 7, 8, 9] {
        let h = MediaHashes::of_bytes(&png(&pattern(seed, 400, 300)));
        let q = h.image.expect("image").quality;
        assert!(q >= 50, "pattern {seed} has PDQ quality {q}");
    }

    let index = MatchIndex::new();
    let set = known_set(&[
        (1, Some("Series A")),
        (2, Some("Series A")),
        (3, Some("Series B")),
        (4, Some("Series B")),
        (5, None),
    ]);
    let report = import_known(
        &store,
        Some(&index),
        &operator,
        &ImportRequest::new("SYNTH_KNOWN"),
        Cursor::new(set),
        |_| {},
    )
    .await
    .expect("import known");
    assert_eq!(report.counts.inserted, 5);
    assert_eq!(index.len(), 5, "the importer feeds the index");
    // A known-good list holding pattern 9.
    let good = known_set(&[(9, None)]);
    let mut request = ImportRequest::new("SYNTH_GOOD");
    request.purpose = HashSetPurpose::KnownGood;
    import_known(
        &store,
        Some(&index),
        &operator,
        &request,
        Cursor::new(good),
        |_| {},
    )
    .await
    .expect("import known-good");
    // The index loaded from the database holds the same hashes.
    assert_eq!(MatchIndex::load(&store).await.expect("load").len(), 6);

    let p = |seed| pattern(seed, 400, 300);
    let cases = vec![
        Case {
            name: "exact copy of pattern 1",
            bytes: png(&p(1)),
            verdict: Verdict::Known,
            series: vec!["Series A"],
            method: Some(MatchMethod::Exact),
        },
        Case {
            name: "pattern 3 re-encoded as JPEG q70",
            bytes: jpeg(&p(3), 70),
            verdict: Verdict::Known,
            series: vec!["Series B"],
            method: Some(MatchMethod::Perceptual),
        },
        Case {
            name: "pattern 2 rotated 90 degrees",
            bytes: png(&image::imageops::rotate90(&p(2))),
            verdict: Verdict::Known,
            series: vec!["Series A"],
            method: Some(MatchMethod::Perceptual),
        },
        Case {
            name: "pattern 4 rotated 270 degrees and re-encoded",
            bytes: jpeg(&image::imageops::rotate270(&p(4)), 70),
            verdict: Verdict::Known,
            series: vec!["Series B"],
            method: Some(MatchMethod::Perceptual),
        },
        Case {
            name: "pattern 5 (no series) mirrored",
            bytes: png(&image::imageops::flip_horizontal(&p(5))),
            verdict: Verdict::Known,
            series: vec![],
            method: Some(MatchMethod::Perceptual),
        },
        Case {
            name: "unrelated pattern 7",
            bytes: png(&p(7)),
            verdict: Verdict::Unknown,
            series: vec![],
            method: None,
        },
        Case {
            name: "unrelated pattern 8 as JPEG",
            bytes: jpeg(&p(8), 70),
            verdict: Verdict::Unknown,
            series: vec![],
            method: None,
        },
        Case {
            name: "known-good pattern 9",
            bytes: png(&p(9)),
            verdict: Verdict::KnownGood,
            series: vec![],
            method: None,
        },
        Case {
            name: "not an image",
            bytes: b"plain text, no picture here".to_vec(),
            verdict: Verdict::Unknown,
            series: vec![],
            method: None,
        },
    ];

    let new_report = NewReport::new(
        IncidentType::ChildPornography,
        datetime!(2024-01-01 00:00 UTC),
    );
    let (stored, _) = store
        .insert_report(&Submission {
            source: ReportSource::Api,
            reporter_org: hotline.id,
            holder_org: hotline.id,
            submitted_by: None,
            actor: "test",
            state: IntakeState::Finished,
            report: &new_report,
            original: None,
            idempotency: None,
        })
        .await
        .expect("report");
    let series_id = |name: &str| {
        let store = store.clone();
        let name = name.to_owned();
        async move {
            store
                .series_by_name(&name)
                .await
                .expect("series")
                .expect("exists")
                .id
        }
    };
    let mut touched: Vec<SeriesId> = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let file_id = format!("{i:032x}");
        let media = MediaHashes::of_bytes(&case.bytes);
        store
            .attach_file(&NewFile {
                report: stored.report.id,
                file_id: &file_id,
                digests: media.digests,
                size: case.bytes.len() as u64,
                original_name: None,
                media_type: None,
                relevance: FileRelevance::Reported,
                actor_user: None,
                actor: "test",
            })
            .await
            .expect("attach");
        let verdict = match_and_record(&store, &index, hotline.id, &file_id, &media)
            .await
            .expect("match");
        assert_eq!(verdict.verdict, case.verdict, "{}: {verdict:#?}", case.name);
        let mut want = Vec::new();
        for s in &case.series {
            want.push(series_id(s).await);
        }
        assert_eq!(verdict.series, want, "{}", case.name);
        match case.method {
            Some(method) => {
                assert_eq!(verdict.matches.len(), 1, "{}: {verdict:#?}", case.name);
                let m = &verdict.matches[0];
                assert_eq!(m.method, method, "{}", case.name);
                assert_eq!(m.hash_set_name, "SYNTH_KNOWN");
                if method == MatchMethod::Perceptual {
                    assert_eq!(m.hash_kind, MatchHashKind::Pdq);
                    assert!(m.distance <= 31, "{}: distance {}", case.name, m.distance);
                } else {
                    assert_eq!(m.hash_kind, MatchHashKind::Sha256);
                    assert_eq!(m.distance, 0);
                }
            }
            None => assert!(verdict.matches.is_empty(), "{}: {verdict:#?}", case.name),
        }
        // Stored exactly as returned.
        assert_eq!(
            store.file_verdict(&file_id).await.expect("stored"),
            Some(case.verdict)
        );
        assert_eq!(
            store
                .file_known_matches(&file_id)
                .await
                .expect("stored")
                .len(),
            verdict.matches.len() + verdict.known_good.len() + verdict.suppressed.len()
        );
        for s in &verdict.series {
            if !touched.contains(s) {
                touched.push(*s);
            }
        }
    }
    let (report_verdict, mut series) = store
        .report_known_verdict(stored.report.id)
        .await
        .expect("report verdict")
        .expect("set");
    assert_eq!(report_verdict, Verdict::Known);
    series.sort();
    touched.sort();
    assert_eq!(series, touched);
    assert_eq!(series.len(), 2);

    // Another organisation cannot use the hotline's private set.
    let copy = MediaHashes::of_bytes(&png(&p(1)));
    let theirs = match_media(&store, &index, Some(agency.id), &copy)
        .await
        .expect("m");
    assert_eq!(theirs.verdict, Verdict::Unknown);
    // Once shared, it can.
    let set = store
        .hash_set_by_name("SYNTH_KNOWN")
        .await
        .expect("set")
        .expect("exists");
    store
        .update_hash_set_flags(
            set.id,
            None,
            Some(true),
            safeguard_store::KnownActor {
                user: None,
                name: "test",
            },
        )
        .await
        .expect("share");
    let theirs = match_media(&store, &index, Some(agency.id), &copy)
        .await
        .expect("m");
    assert_eq!(theirs.verdict, Verdict::Known);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_good_match_suppresses_perceptual_hits_but_not_exact_ones() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
        .await
        .expect("store");
    let org = store
        .create_org(
            &OrgName::parse("Hotline").expect("n"),
            OrgKind::Hotline,
            None,
        )
        .await
        .expect("org");
    let operator = Operator {
        user: None,
        name: "test".into(),
        org: org.id,
    };
    let index = MatchIndex::new();
    import_known(
        &store,
        Some(&index),
        &operator,
        &ImportRequest::new("KNOWN"),
        Cursor::new(known_set(&[(11, Some("S"))])),
        |_| {},
    )
    .await
    .expect("known");
    // The same picture, but as a different file, is on the known-good list.
    let img = pattern(11, 400, 300);
    let good_copy = jpeg(&img, 90);
    let h = MediaHashes::of_bytes(&good_copy);
    let mut w = KnownMediaWriter::vics(Vec::new(), VicsLayout::v2_media()).expect("w");
    let mut r = KnownMediaRecord::new(SourceRef {
        format: SourceFormat::Other,
        ordinal: 1,
        line: None,
    });
    r.hashes.md5 = Some(h.digests.md5);
    w.write(&r).expect("write");
    let mut request = ImportRequest::new("GOOD");
    request.purpose = HashSetPurpose::KnownGood;
    import_known(
        &store,
        Some(&index),
        &operator,
        &request,
        Cursor::new(w.finish().expect("f")),
        |_| {},
    )
    .await
    .expect("good");
    let v = match_media(&store, &index, Some(org.id), &h)
        .await
        .expect("m");
    assert_eq!(v.verdict, Verdict::KnownGood);
    assert_eq!(v.suppressed.len(), 1);
    assert!(v.series.is_empty());
    let exact = MediaHashes::of_bytes(&png(&img));
    let v = match_media(&store, &index, Some(org.id), &exact)
        .await
        .expect("m");
    assert_eq!(v.verdict, Verdict::Known);
}

/// vPDQ: a known video's frames are stored; a copy whose frames differ by a few bits matches,
/// a video with other frames does not. (Frame hashes are derived from generated patterns.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn videos_match_by_their_frames() {
    use safeguard_perceptual::vpdq::VpdqFeature;
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
        .await
        .expect("store");
    let org = store
        .create_org(
            &OrgName::parse("Hotline").expect("n"),
            OrgKind::Hotline,
            None,
        )
        .await
        .expect("org");
    let operator = Operator {
        user: None,
        name: "test".into(),
        org: org.id,
    };
    let index = MatchIndex::new();
    // The known video: an entry known by its MD5, with frames from patterns 20..30.
    let mut w = KnownMediaWriter::vics(Vec::new(), VicsLayout::v2_media()).expect("w");
    let mut r = KnownMediaRecord::new(SourceRef {
        format: SourceFormat::Other,
        ordinal: 1,
        line: None,
    });
    r.hashes.md5 = Some(safeguard_domain::digest::Digester::digest(b"video file").md5);
    r.series = Some("Video series".into());
    w.write(&r).expect("write");
    let report = import_known(
        &store,
        Some(&index),
        &operator,
        &ImportRequest::new("VIDEOS"),
        Cursor::new(w.finish().expect("f")),
        |_| {},
    )
    .await
    .expect("import");
    let entry = store
        .list_known_entries(&safeguard_store::EntryFilter {
            hash_set: Some(report.hash_set),
            ..Default::default()
        })
        .await
        .expect("entries")[0]
        .id;
    let frame = |i: u64, seed: u64, flip_bits: usize| {
        let h = MediaHashes::of_bytes(&png(&pattern(seed, 200, 150)));
        let mut bytes = h.pdq().expect("pdq").0;
        for byte in bytes.iter_mut().take(flip_bits) {
            *byte ^= 1;
        }
        VpdqFeature {
            frame: i,
            timestamp: i as f32,
            hash: safeguard_perceptual::Pdq::from_bytes(bytes),
            quality: 100,
        }
    };
    let known: Vec<_> = (0..10).map(|i| frame(i, 20 + i, 0)).collect();
    safeguard_engine::known::set_video_frames(&store, &index, entry, &known)
        .await
        .expect("frames");
    let video = |frames: Vec<VpdqFeature>| MediaHashes {
        digests: safeguard_domain::digest::Digester::digest(b"another encoding"),
        image: None,
        video: Some(frames),
    };
    let copy = video((0..10).map(|i| frame(i, 20 + i, 6)).collect());
    let v = match_media(&store, &index, Some(org.id), &copy)
        .await
        .expect("m");
    assert_eq!(v.verdict, Verdict::Known, "{v:#?}");
    assert_eq!(v.matches[0].hash_kind, MatchHashKind::Vpdq);
    assert_eq!(v.matches[0].series_name.as_deref(), Some("Video series"));
    // Only 3 of 10 frames shared: below the 80 % the matcher asks of the query.
    let partial = video(
        (0..10)
            .map(|i| {
                if i < 3 {
                    frame(i, 20 + i, 0)
                } else {
                    frame(i, 40 + i, 0)
                }
            })
            .collect(),
    );
    let v = match_media(&store, &index, Some(org.id), &partial)
        .await
        .expect("m");
    assert_eq!(v.verdict, Verdict::Unknown, "{v:#?}");
    // The index reloaded from the database finds the frames too.
    let reloaded = MatchIndex::load(&store).await.expect("load");
    let v = match_media(&store, &reloaded, Some(org.id), &copy)
        .await
        .expect("m");
    assert_eq!(v.verdict, Verdict::Known);
}
