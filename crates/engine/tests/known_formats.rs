//! Hash sets through the database and back: VICS and ICSE files are imported, exported in their
//! own format and read again, and must say the same thing; malformed files are reported with
//! the line or record at fault. Test data: `crates/formats/tests/data/` (synthetic).

use std::path::{Path, PathBuf};

use safeguard_domain::account::{OrgId, OrgKind, OrgName};
use safeguard_domain::known::{EntryFacts, EntryHashes};
use safeguard_engine::known::{
    export_known, import_known, record_to_entry, ExportFormat, ExportSelection, ImportRequest,
    Operator,
};
use safeguard_engine::EngineError;
use safeguard_formats::known_media::KnownMediaRecord;
use safeguard_formats::known_stream::{KnownMediaReader, KnownReadOptions};
use safeguard_formats::vics::VicsVersion;
use safeguard_store::{EntryFilter, Store, StoreOptions};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../formats/tests/data")
        .join(rel)
}

async fn store() -> (tempfile::TempDir, Store, Operator) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
        .await
        .expect("store");
    let org = store
        .create_org(
            &OrgName::parse("Hotline").expect("name"),
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
    (dir, store, operator)
}

fn read_records(bytes: &[u8]) -> Vec<KnownMediaRecord> {
    KnownMediaReader::open(bytes, KnownReadOptions::default())
        .expect("opens")
        .filter_map(Result::ok)
        .collect()
}

type Essence = (EntryHashes, EntryFacts, Option<String>);

/// What the database keeps of each distinct piece of media in a file, in first-seen order: the
/// records of the same content (same exact hash) merge, later statements winning.
fn expected(records: &[KnownMediaRecord]) -> Vec<Essence> {
    let mut out: Vec<Essence> = Vec::new();
    for r in records {
        let e = record_to_entry(r);
        let same = |h: &EntryHashes| {
            (h.md5.is_some() && h.md5 == e.hashes.md5)
                || (h.sha1.is_some() && h.sha1 == e.hashes.sha1)
                || (h.sha256.is_some() && h.sha256 == e.hashes.sha256)
        };
        match out.iter_mut().find(|(h, _, _)| same(h)) {
            Some((h, f, s)) => {
                h.md5 = h.md5.or(e.hashes.md5);
                h.sha1 = h.sha1.or(e.hashes.sha1);
                h.sha256 = h.sha256.or(e.hashes.sha256);
                h.pdq = e.hashes.pdq.or(h.pdq);
                h.photodna = e.hashes.photodna.clone().or(h.photodna.take());
                f.merge_from(&e.facts);
                if e.series.is_some() {
                    *s = e.series.clone();
                }
            }
            None => out.push((e.hashes, e.facts, e.series)),
        }
    }
    out
}

fn essence(records: &[KnownMediaRecord]) -> Vec<Essence> {
    records
        .iter()
        .map(|r| {
            let e = record_to_entry(r);
            (e.hashes, e.facts, e.series)
        })
        .collect()
}

async fn round_trip(file: &str, format: ExportFormat) -> (Vec<u8>, Vec<u8>) {
    let (_dir, store, operator) = store().await;
    let original = std::fs::read(data(file)).expect("test file");
    let report = import_known(
        &store,
        None,
        &operator,
        &ImportRequest::new("ROUND_TRIP"),
        std::io::Cursor::new(original.clone()),
        |_| {},
    )
    .await
    .expect("imports");
    let records = read_records(&original);
    assert_eq!(report.counts.errors, 0, "{file}: {:?}", report.errors);
    assert_eq!(report.counts.records, records.len() as u64, "{file}");
    let (exported, export) = export_known(
        &store,
        ExportSelection {
            hash_set: Some(report.hash_set),
            series: None,
        },
        format,
        Vec::new(),
    )
    .await
    .expect("exports");
    assert!(export.skipped.is_empty(), "{file}: {export:?}");
    let again = read_records(&exported);
    let want = expected(&records);
    assert!(!want.is_empty(), "{file} has records");
    assert_eq!(
        essence(&again),
        want,
        "{file}: exported\n{}",
        String::from_utf8_lossy(&exported)
    );
    assert_eq!(export.written, want.len() as u64);
    // The category scheme (VICS region) travels with the set.
    if let (Some(first), Some(back)) = (records.first(), again.first()) {
        if first.category_scheme.is_some() {
            assert_eq!(first.category_scheme, back.category_scheme, "{file}");
        }
    }
    // Importing the export again changes nothing: the same entries, updated in place.
    let second = import_known(
        &store,
        None,
        &operator,
        &ImportRequest::new("ROUND_TRIP"),
        std::io::Cursor::new(exported.clone()),
        |_| {},
    )
    .await
    .expect("re-import");
    assert_eq!(second.counts.inserted, 0, "{file}");
    assert_eq!(second.counts.updated, want.len() as u64, "{file}");
    let stored = store
        .list_known_entries(&EntryFilter {
            hash_set: Some(report.hash_set),
            ..EntryFilter::default()
        })
        .await
        .expect("entries");
    assert_eq!(stored.len(), want.len(), "{file}");
    (original, exported)
}

#[tokio::test]
async fn vics_2_files_round_trip_through_the_database() {
    for file in [
        "vics/vics2-hashset-synthetic.json",
        "vics/vics2-case-synthetic.json",
        "vics/vics2-variants-synthetic.json",
    ] {
        let (_, exported) = round_trip(file, ExportFormat::Vics(VicsVersion::V2_0)).await;
        let json: serde_json::Value = serde_json::from_slice(&exported).expect("exported JSON");
        assert!(json["@odata.context"]
            .as_str()
            .is_some_and(|c| c.contains("2.0.xml")));
    }
}

#[tokio::test]
async fn vics_1_2_files_round_trip_through_the_database() {
    for file in [
        "vics/vics12-nsrl-layout-synthetic.json",
        "vics/vics12-variants-synthetic.json",
    ] {
        let (_, exported) = round_trip(file, ExportFormat::Vics(VicsVersion::V1_2)).await;
        let json: serde_json::Value = serde_json::from_slice(&exported).expect("exported JSON");
        assert!(json["odata.metadata"]
            .as_str()
            .is_some_and(|c| c.contains("1.2.xml")));
    }
}

#[tokio::test]
async fn icse_files_round_trip_through_the_database() {
    for file in ["icse/icse-synthetic.csv", "icse/icse-synthetic-comma.csv"] {
        round_trip(file, ExportFormat::Icse).await;
    }
}

#[tokio::test]
async fn hash_lists_import_and_export_by_series() {
    let (_dir, store, operator) = store().await;
    for file in [
        "hashlist/plain-synthetic.txt",
        "hashlist/typed-synthetic.csv",
        "hashlist/nsrl-rds-layout-synthetic.txt",
    ] {
        let bytes = std::fs::read(data(file)).expect("file");
        let report = import_known(
            &store,
            None,
            &operator,
            &ImportRequest::new("LISTS"),
            std::io::Cursor::new(bytes.clone()),
            |_| {},
        )
        .await
        .expect("imports");
        assert_eq!(report.counts.errors, 0, "{file}: {:?}", report.errors);
        assert!(report.counts.inserted + report.counts.updated > 0, "{file}");
    }
    // Export by series: the ICSE file's series A.
    let icse = std::fs::read(data("icse/icse-synthetic.csv")).expect("file");
    import_known(
        &store,
        None,
        &operator,
        &ImportRequest::new("ICSE"),
        std::io::Cursor::new(icse),
        |_| {},
    )
    .await
    .expect("icse");
    let series = store
        .series_by_name("SYNTH-SERIES-A")
        .await
        .expect("series")
        .expect("created by the import");
    let (out, report) = export_known(
        &store,
        ExportSelection {
            hash_set: None,
            series: Some(series.id),
        },
        ExportFormat::Icse,
        Vec::new(),
    )
    .await
    .expect("export");
    assert_eq!(report.written, 2);
    let back = read_records(&out);
    assert!(back
        .iter()
        .all(|r| r.series.as_deref() == Some("SYNTH-SERIES-A")));
}

async fn import_bytes(bytes: &[u8]) -> Result<safeguard_engine::known::ImportReport, EngineError> {
    let (_dir, store, operator) = store().await;
    import_known(
        &store,
        None,
        &operator,
        &ImportRequest::new("BAD"),
        std::io::Cursor::new(bytes.to_vec()),
        |_| {},
    )
    .await
}

#[tokio::test]
async fn a_bad_record_is_reported_with_its_line_and_the_import_goes_on() {
    let vics = br#"{"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media",
"value": [
 {"MediaID": 1, "MD5": "00000000000000000000000000000001"},
 {"MediaID": 2, "MD5": "not hexadecimal"},
 {"MediaID": 3, "MD5": "00000000000000000000000000000003"}
]}"#;
    let report = import_bytes(vics).await.expect("goes on");
    assert_eq!(report.counts.inserted, 2);
    assert_eq!(report.counts.errors, 1);
    let message = report.errors[0].to_string();
    assert!(
        message.contains("record 2") && message.contains("line 4"),
        "{message}"
    );

    let icse = b"MD5;SHA1;Image ID;Series name\n00000000000000000000000000000001;;A;S\nxyz;;B;S\n00000000000000000000000000000003;;C;S\n";
    let report = import_bytes(icse).await.expect("goes on");
    assert_eq!(report.counts.inserted, 2);
    assert_eq!(report.counts.errors, 1);
    let message = report.errors[0].to_string();
    assert!(message.contains("line 3"), "{message}");
}

#[tokio::test]
async fn a_broken_file_stops_with_its_line() {
    let truncated = br#"{"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media",
"value": [
 {"MediaID": 1, "MD5": "00000000000000000000000000000001"},
 {"MediaID": 2, "MD5": "000000000000"#;
    match import_bytes(truncated).await {
        Err(EngineError::InvalidFile(message)) => {
            assert!(message.contains("line"), "{message}");
            assert!(message.contains("1 inserted"), "{message}");
        }
        other => panic!("expected an invalid file, got {other:?}"),
    }
    match import_bytes(b"{\"value\": 12}").await {
        Err(EngineError::InvalidFile(message)) => assert!(message.contains("line 1"), "{message}"),
        other => panic!("expected an invalid file, got {other:?}"),
    }
}

#[tokio::test]
async fn only_the_owner_imports_into_a_set() {
    let (_dir, store, operator) = store().await;
    let bytes = std::fs::read(data("vics/vics2-hashset-synthetic.json")).expect("file");
    import_known(
        &store,
        None,
        &operator,
        &ImportRequest::new("OWNED"),
        std::io::Cursor::new(bytes.clone()),
        |_| {},
    )
    .await
    .expect("owner");
    let other = store
        .create_org(
            &OrgName::parse("Other").expect("name"),
            OrgKind::Agency,
            None,
        )
        .await
        .expect("org");
    let stranger = Operator {
        user: None,
        name: "stranger".into(),
        org: OrgId(other.id.0),
    };
    assert!(matches!(
        import_known(
            &store,
            None,
            &stranger,
            &ImportRequest::new("OWNED"),
            std::io::Cursor::new(bytes),
            |_| {}
        )
        .await,
        Err(EngineError::Conflict(_))
    ));
}
