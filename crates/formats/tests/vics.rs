//! VICS import/export: round trips of every sample file (same version and across versions),
//! compared both as typed documents and as normalised JSON; streaming behaviour.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use safeguard_domain::digest::Md5;
use safeguard_formats::known_media::KnownMediaRecord;
use safeguard_formats::vics::{
    BoolStyle, Case, Media, VicsDocument, VicsKind, VicsLayout, VicsReader, VicsVersion, VicsWriter,
};
use serde_json::{Map, Value};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vics")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The crate's own samples, plus the shared research data when `<repo>/../shared` exists.
fn sample_files() -> Vec<PathBuf> {
    let mut files = json_files(&data_dir());
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/research-data/vics");
    if shared.is_dir() {
        for sub in ["nsrl-caid", "synthetic"] {
            files.extend(json_files(&shared.join(sub)));
        }
    } else {
        println!(
            "shared research data not found at {}: only the crate's own VICS samples are tested",
            shared.display()
        );
    }
    assert!(files.len() >= 5, "sample files missing: {files:?}");
    files
}

// ---------------------------------------------------------------------------------------------
// JSON normalisation: what "equivalent" means. Booleans and numbers written as strings become
// JSON booleans and numbers, hexadecimal is lower-cased, key case is canonical, empty values and
// empty arrays are dropped, PhotoDNA is on the Media whatever the version, the order of
// AlternativeHashes does not matter, and OData annotations are compared only when asked.

const BOOL_KEYS: &[&str] = &[
    "IsPrecategorized",
    "IsSuspected",
    "VictimIdentified",
    "OffenderIdentified",
    "IsDistributed",
    "Deleted",
    "Unallocated",
];
const NUMBER_KEYS: &[&str] = &[
    "MediaID",
    "Category",
    "MediaSize",
    "PhysicalLocation",
    "ParentPhysicalLocation",
    "SegmentIndex",
    "TotalMediaFiles",
    "TotalPrecategorized",
];
const HEX_KEYS: &[&str] = &["MD5", "SHA1", "ParentMD5"];
const CANONICAL_KEYS: &[&str] = &[
    "MediaID",
    "MD5",
    "SHA1",
    "PhotoDNA",
    "Category",
    "MediaSize",
    "MimeType",
    "DateUpdated",
    "RelativeFilePath",
    "IsPrecategorized",
    "PrecategorizationSource",
    "IsSuspected",
    "VictimIdentified",
    "OffenderIdentified",
    "IsDistributed",
    "Series",
    "Tags",
    "Comments",
    "MediaFiles",
    "Exifs",
    "AlternativeHashes",
    "Segments",
    "Repositories",
    "FileName",
    "FilePath",
    "HashName",
    "HashValue",
    "PropertyName",
    "PropertyValue",
];

fn canonical_key(key: &str) -> String {
    if key.eq_ignore_ascii_case("MediaMetadata") {
        return "Exifs".into();
    }
    CANONICAL_KEYS
        .iter()
        .find(|k| k.eq_ignore_ascii_case(key))
        .map_or_else(|| key.to_owned(), |k| (*k).to_owned())
}

fn is_annotation(key: &str) -> bool {
    key.starts_with("odata.") || key.contains("@odata.")
}

fn norm_scalar(key: &str, v: Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::String(s) if BOOL_KEYS.contains(&key) => {
            match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Some(Value::Bool(true)),
                "false" | "0" => Some(Value::Bool(false)),
                "" => None,
                other => panic!("unexpected boolean {other:?} in sample"),
            }
        }
        Value::String(s) if NUMBER_KEYS.contains(&key) => Some(Value::from(
            s.trim().parse::<u64>().expect("numeric string"),
        )),
        Value::String(s) if HEX_KEYS.contains(&key) || key == "PhotoDNA" => {
            (!s.trim().is_empty()).then(|| Value::String(s.trim().to_ascii_lowercase()))
        }
        Value::Number(n) if key == "PropertyValue" => Some(Value::String(n.to_string())),
        other => Some(other),
    }
}

fn norm_object(map: Map<String, Value>, annotations: bool) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, v) in map {
        if is_annotation(&key) {
            if annotations {
                out.insert(key, v);
            }
            continue;
        }
        let key = canonical_key(&key);
        match v {
            Value::Array(items) => {
                if items.is_empty() {
                    continue;
                }
                let mut items: Vec<Value> = items
                    .into_iter()
                    .map(|i| match i {
                        Value::Object(m) => Value::Object(norm_object(m, annotations)),
                        other => other,
                    })
                    .collect();
                if key == "AlternativeHashes" {
                    items.sort_by_key(|v| v.to_string());
                }
                out.insert(key, Value::Array(items));
            }
            Value::Object(m) => {
                out.insert(key, Value::Object(m));
            }
            scalar => {
                if let Some(v) = norm_scalar(&key, scalar) {
                    out.insert(key, v);
                }
            }
        }
    }
    out
}

/// One normalised Media: PhotoDNA and SHA-256 moved to one canonical place.
fn norm_media(map: Map<String, Value>, annotations: bool) -> Value {
    let mut m = norm_object(map, annotations);
    let mut alternatives = match m.remove("AlternativeHashes") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    if let Some(Value::String(sha256)) = m.remove("SHA256") {
        alternatives.push(serde_json::json!({
            "MD5": m.get("MD5").cloned().unwrap_or(Value::Null),
            "HashName": "SHA256", "HashValue": sha256,
        }));
    }
    let mut kept = Vec::new();
    for mut alt in alternatives {
        let name = alt
            .get("HashName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase()
            .replace('-', "");
        if name == "PHOTODNA" {
            if let Some(Value::String(v)) = alt.get("HashValue") {
                m.insert("PhotoDNA".into(), Value::String(v.to_ascii_lowercase()));
            }
            continue;
        }
        if matches!(name.as_str(), "SHA256" | "PDQ") {
            if let Some(obj) = alt.as_object_mut() {
                obj.insert("HashName".into(), Value::String(name.clone()));
                if let Some(Value::String(v)) = obj.get("HashValue").cloned() {
                    obj.insert("HashValue".into(), Value::String(v.to_ascii_lowercase()));
                }
            }
        }
        kept.push(alt);
    }
    kept.sort_by_key(|v| v.to_string());
    if !kept.is_empty() {
        m.insert("AlternativeHashes".into(), Value::Array(kept));
    }
    Value::Object(m)
}

/// (case headers, media sorted by MD5 then content) of a VICS JSON text.
fn normalised(json: &[u8], annotations: bool) -> (Vec<Value>, Vec<Value>) {
    let v: Value = serde_json::from_slice(json).expect("valid JSON");
    let mut cases = Vec::new();
    let mut media = Vec::new();
    let items = v
        .get("value")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for item in items {
        let Value::Object(mut obj) = item else {
            panic!("non-object in value")
        };
        let nested = obj
            .keys()
            .find(|k| k.eq_ignore_ascii_case("media"))
            .cloned();
        if let Some(key) = nested {
            if let Some(Value::Array(ms)) = obj.remove(&key) {
                for m in ms {
                    if let Value::Object(m) = m {
                        media.push(norm_media(m, annotations));
                    }
                }
            }
            cases.push(Value::Object(norm_object(obj, annotations)));
        } else {
            media.push(norm_media(obj, annotations));
        }
    }
    media.sort_by_key(|m| {
        (
            m.get("MD5").map(Value::to_string).unwrap_or_default(),
            m.to_string(),
        )
    });
    (cases, media)
}

fn same_version_layout(doc: &VicsDocument) -> VicsLayout {
    VicsLayout {
        version: doc.version.unwrap_or(VicsVersion::V2_0),
        region: doc.region.clone().unwrap_or_else(|| "Default".into()),
        kind: doc.kind,
        bool_style: BoolStyle::String,
        number_missing_media_ids: false,
    }
}

fn read(path: &Path) -> (Vec<u8>, VicsDocument) {
    let bytes = std::fs::read(path).expect("read sample");
    let doc = VicsDocument::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{} does not import: {e}", path.display()));
    (bytes, doc)
}

#[test]
fn every_sample_round_trips_in_its_own_version() {
    for path in sample_files() {
        let (original, doc) = read(&path);
        assert!(doc.all_media().count() > 0, "{}: no media", path.display());
        println!(
            "round trip {} ({} media, version {:?})",
            path.display(),
            doc.all_media().count(),
            doc.version
        );
        let layout = same_version_layout(&doc);
        let written = doc.to_vec(layout.clone()).expect("export");
        let again = VicsDocument::from_slice(&written).expect("re-import");
        assert_eq!(again, doc, "{}: typed round trip differs", path.display());
        // JSON level, OData annotations included: 1.x annotations are regenerated exactly.
        let (cases_a, media_a) = normalised(&original, true);
        let (cases_b, media_b) = normalised(&written, true);
        assert_eq!(cases_a, cases_b, "{}: case headers differ", path.display());
        assert_eq!(media_a.len(), media_b.len());
        for (a, b) in media_a.iter().zip(&media_b) {
            assert_eq!(a, b, "{}: media differ", path.display());
        }
        // And JSON booleans write the same content.
        let json_bools = doc
            .to_vec(VicsLayout {
                bool_style: BoolStyle::Json,
                ..layout
            })
            .expect("export");
        assert_eq!(normalised(&json_bools, true).1, media_a);
    }
}

#[test]
fn every_sample_converts_across_versions_and_back() {
    for path in sample_files() {
        let (original, doc) = read(&path);
        let other = if doc.version.is_some_and(VicsVersion::is_v1) {
            VicsVersion::V2_0
        } else {
            VicsVersion::V1_2
        };
        let converted = doc
            .to_vec(VicsLayout {
                version: other,
                ..same_version_layout(&doc)
            })
            .expect("export in the other version");
        let converted_doc = VicsDocument::from_slice(&converted).expect("re-import");
        assert_eq!(converted_doc.version, Some(other));
        assert_eq!(converted_doc.cases, doc.cases, "{}", path.display());
        assert_eq!(converted_doc.media, doc.media, "{}", path.display());
        // Without annotations (1.x only), the JSON content is the same.
        assert_eq!(
            normalised(&converted, false),
            normalised(&original, false),
            "{}",
            path.display()
        );
        // PhotoDNA sits where each version wants it.
        let text = String::from_utf8(converted).expect("utf-8");
        if doc.all_media().any(|m| m.photodna.is_some()) {
            if other.is_v1() {
                assert!(text.contains("\"HashName\":\"PhotoDNA\""));
                assert!(!text.contains("\"PhotoDNA\":"));
            } else {
                assert!(text.contains("\"PhotoDNA\":"));
            }
        }
        if other.is_v1() {
            assert!(text.contains(
                "\"odata.metadata\":\"http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml#"
            ));
        } else {
            assert!(text.contains("\"@odata.context\":\"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/"));
        }
    }
}

#[test]
fn variants_are_read_into_one_canonical_model() {
    let (_, doc) = read(&data_dir().join("vics2-variants-synthetic.json"));
    assert_eq!(doc.version, Some(VicsVersion::V2_0));
    assert_eq!(doc.region.as_deref(), Some("UK"));
    let m = &doc.media[0];
    assert_eq!(m.md5.to_hex(), m.md5.to_hex().to_lowercase());
    assert!(m.sha1.is_some(), "lower-case `sha1` key");
    assert_eq!(m.media_size, Some(4096), "size given as a string");
    assert_eq!(m.victim_identified, Some(true));
    assert_eq!(m.offender_identified, Some(false));
    assert_eq!(m.is_distributed, Some(true), "\"TRUE\"");
    assert_eq!(m.is_suspected, Some(false), "\"0\"");
    assert!(m.photodna.is_some() && m.pdq.is_some() && m.sha256.is_some());
    assert!(m.alternative_hashes.is_empty(), "PDQ and SHA256 lifted");
    assert_eq!(m.media_files[0].deleted, Some(true));
    assert_eq!(m.media_files[0].unallocated, Some(false));
    assert_eq!(m.media_files[0].physical_location, Some(99));
    assert_eq!(
        m.media_files[0].extra.get("CustomFileField"),
        Some(&Value::String("kept".into()))
    );
    assert!(m.extra.contains_key("UnknownMediaField"));
    let second = &doc.media[1];
    assert_eq!(second.category, None);
    assert_eq!(second.photodna, None, "empty PhotoDNA means none");

    let (_, v1) = read(&data_dir().join("vics12-variants-synthetic.json"));
    assert_eq!(v1.version, Some(VicsVersion::V1_2));
    assert!(
        v1.extra.contains_key("ExportTool"),
        "unknown top-level key kept"
    );
    let m = &v1.media[0];
    assert_eq!(m.media_id, Some(5));
    assert_eq!(m.category, Some(1));
    assert_eq!(m.victim_identified, Some(true));
    assert_eq!(m.is_precategorized, Some(false), "\"False\"");
    assert!(m.photodna.is_some(), "PhotoDNA from AlternativeHashes");
    assert!(m.sha256.is_some());
    assert_eq!(m.alternative_hashes.len(), 1, "EDK kept as is");
    assert_eq!(m.exifs[0].property_value.as_deref(), Some("640"));
    assert_eq!(
        m.repositories[0].repository_name.as_deref(),
        Some("SYNTH-REPO")
    );
    let known = KnownMediaRecord::from_vics_media(m, 1, None);
    assert_eq!(
        known.series_names(),
        vec!["SYNTH-SERIES-A", "SYNTH-SERIES-B"]
    );
}

#[test]
fn case_export_streams_with_case_headers_and_positions() {
    let file = std::fs::File::open(data_dir().join("vics2-case-synthetic.json")).expect("open");
    let mut reader = VicsReader::new(std::io::BufReader::new(file)).expect("envelope");
    assert_eq!(reader.header().kind, Some(VicsKind::Cases));
    assert_eq!(reader.header().region.as_deref(), Some("US"));
    let records: Vec<_> = reader.by_ref().map(|r| r.expect("record")).collect();
    assert_eq!(
        records.iter().map(|r| r.ordinal).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        records.iter().map(|r| r.position.line).collect::<Vec<_>>(),
        vec![17, 65, 96]
    );
    assert!(records.iter().all(|r| r.case == Some(0)));
    let case: &Case = &reader.cases()[0];
    assert_eq!(case.case_number.as_deref(), Some("SYNTH-CASE-0001"));
    assert_eq!(case.total_media_files, Some(3));
    assert_eq!(records[1].media.series.as_deref(), Some("SYNTH-SERIES-A"));
    assert_eq!(records[0].media.exifs.len(), 3);
    assert_eq!(records[2].media.segments[0].category, Some(5));
    let known = KnownMediaRecord::from(&records[1]);
    assert_eq!(known.victim_identified, Some(true));
    assert_eq!(known.is_distributed, Some(true));
    assert_eq!(known.source.line, Some(65));
}

#[test]
fn cases_without_a_leading_context_are_still_found() {
    // The context comes after `value`: the reader cannot know the kind in advance.
    let text = r#"{"value":[{"CaseNumber":"C-1","Media":[{"MD5":"00000000000000000000000000000001"},{"MD5":"00000000000000000000000000000002"}]}],
        "@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases"}"#;
    let doc = VicsDocument::from_slice(text.as_bytes()).expect("read");
    assert_eq!(doc.kind, VicsKind::Cases);
    assert_eq!(doc.cases.len(), 1);
    assert_eq!(doc.cases[0].media.len(), 2);
    assert_eq!(doc.cases[0].case_number.as_deref(), Some("C-1"));
}

#[test]
fn a_bad_record_is_reported_and_reading_goes_on() {
    let text = "{\"@odata.context\":\"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media\",\"value\":[\n\
        {\"MD5\":\"00000000000000000000000000000001\"},\n\
        {\"MD5\":\"not-hex\"},\n\
        {\"MD5\":\"00000000000000000000000000000003\"}\n]}";
    let results: Vec<_> = VicsReader::new(text.as_bytes())
        .expect("envelope")
        .collect();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[2].is_ok());
    let err = results[1].as_ref().expect_err("bad MD5").to_string();
    assert!(err.contains("media record 2"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("MD5"), "{err}");
}

fn generated_media(i: u64) -> Media {
    let mut bytes = [0u8; 16];
    bytes[8..].copy_from_slice(&i.to_be_bytes());
    let mut m = Media::new(Md5::from_bytes(bytes));
    m.media_id = Some(i);
    m.category = Some((i % 3) as u32);
    m.media_size = Some(1000 + i);
    m.victim_identified = Some(i.is_multiple_of(2));
    m.series = i
        .is_multiple_of(5)
        .then(|| format!("SYNTH-SERIES-{}", i % 7));
    m
}

#[test]
fn streaming_writer_and_reader_agree_on_many_records() {
    for (version, kind) in [
        (VicsVersion::V2_0, VicsKind::Media),
        (VicsVersion::V1_2, VicsKind::Media),
        (VicsVersion::V2_0, VicsKind::Cases),
    ] {
        let layout = VicsLayout {
            version,
            kind,
            ..VicsLayout::default()
        };
        let mut w = VicsWriter::new(Vec::new(), layout).expect("writer");
        if kind == VicsKind::Cases {
            let case = Case {
                case_number: Some("SYNTH".into()),
                ..Case::default()
            };
            w.begin_case(&case).expect("case");
        }
        for i in 1..=5000 {
            w.write_media(&generated_media(i)).expect("write");
        }
        assert_eq!(w.media_written(), 5000);
        let bytes = w.finish().expect("finish");
        let mut n = 0;
        for (i, r) in VicsReader::new(bytes.as_slice())
            .expect("envelope")
            .enumerate()
        {
            let r = r.expect("record");
            assert_eq!(r.media, generated_media(i as u64 + 1));
            n += 1;
        }
        assert_eq!(n, 5000);
    }
}

#[test]
fn writer_refuses_misuse_without_panicking() {
    let mut w = VicsWriter::new(Vec::new(), VicsLayout::v2_media()).expect("writer");
    assert!(w.begin_case(&Case::default()).is_err());
    assert!(w.end_case().is_err());
    let mut w = VicsWriter::new(
        Vec::new(),
        VicsLayout {
            kind: VicsKind::Cases,
            ..VicsLayout::default()
        },
    )
    .expect("writer");
    assert!(w.write_media(&generated_media(1)).is_err());
}

#[test]
fn known_media_record_converts_to_and_from_vics() {
    let (_, doc) = read(&data_dir().join("vics2-variants-synthetic.json"));
    let m = &doc.media[0];
    let known = KnownMediaRecord::from_vics_media(m, 1, Some(3));
    assert_eq!(known.hashes.md5, Some(m.md5));
    assert_eq!(known.category, Some(2));
    assert_eq!(known.mime_type.as_deref(), Some("image/png"));
    assert!(known.updated_at.is_some());
    assert_eq!(known.file_names, vec!["x.png".to_owned()]);
    let back = Media::try_from(&known).expect("has MD5");
    assert_eq!(back.md5, m.md5);
    assert_eq!(back.sha256, m.sha256);
    assert_eq!(back.pdq, m.pdq);
    assert_eq!(back.photodna, m.photodna);
    assert_eq!(back.victim_identified, m.victim_identified);
    let mut no_md5 = known.clone();
    no_md5.hashes.md5 = None;
    assert!(Media::try_from(&no_md5).is_err());
    let summary: BTreeMap<_, _> = [("md5", known.hashes.md5.map(|h| h.to_hex()))].into();
    assert!(summary["md5"].is_some());
}

#[test]
fn a_hash_given_twice_is_kept_once() {
    let pdna = "A".repeat(192);
    let text = format!(
        "{{\"@odata.context\":\"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media\",\"value\":[{{\"MD5\":\"00000000000000000000000000000001\",\"PhotoDNA\":\"{pdna}\",\"AlternativeHashes\":[{{\"HashName\":\"PhotoDNA\",\"HashValue\":\"{pdna}\"}},{{\"HashName\":\"SHA256\",\"HashValue\":\"{sha}\"}},{{\"HashName\":\"SHA256\",\"HashValue\":\"{other}\"}}]}}]}}",
        sha = "ab".repeat(32),
        other = "cd".repeat(32),
    );
    let doc = VicsDocument::from_slice(text.as_bytes()).expect("read");
    let m = &doc.media[0];
    assert!(m.photodna.is_some());
    assert_eq!(m.sha256.map(|h| h.to_hex()), Some("ab".repeat(32)));
    // The duplicate PhotoDNA is dropped; a second, different SHA-256 is kept as it was.
    assert_eq!(m.alternative_hashes.len(), 1);
    assert_eq!(m.alternative_hashes[0].hash_value, Some("cd".repeat(32)));
    let v1 = doc
        .to_vec(VicsLayout {
            number_missing_media_ids: false,
            ..VicsLayout::v1_2_media()
        })
        .expect("write");
    assert_eq!(
        VicsDocument::from_slice(&v1).expect("re-read").media,
        doc.media
    );
}
