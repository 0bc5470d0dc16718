//! Format-agnostic import and export: recognising the format, and converting between formats
//! through `KnownMediaRecord`.

use std::path::Path;

use safeguard_formats::hashlist::{HashListOptions, HashListStyle};
use safeguard_formats::known_media::{HashKind, KnownMediaRecord};
use safeguard_formats::known_stream::{
    detect_format, KnownFormat, KnownMediaReader, KnownMediaWriter, KnownReadOptions,
};
use safeguard_formats::vics::VicsLayout;

fn data(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(rel),
    )
    .expect("sample")
}

fn read_all(bytes: &[u8], options: KnownReadOptions) -> (KnownFormat, Vec<KnownMediaRecord>) {
    let reader = KnownMediaReader::open(bytes, options).expect("open");
    let format = reader.format();
    (format, reader.map(|r| r.expect("record")).collect())
}

#[test]
fn formats_are_recognised_from_their_first_bytes() {
    for (file, format, count) in [
        ("vics/vics2-case-synthetic.json", KnownFormat::Vics, 3),
        (
            "vics/vics12-nsrl-layout-synthetic.json",
            KnownFormat::Vics,
            3,
        ),
        ("icse/icse-synthetic.csv", KnownFormat::Icse, 4),
        ("icse/icse-synthetic-comma.csv", KnownFormat::Icse, 2),
        ("hashlist/plain-synthetic.txt", KnownFormat::HashList, 11),
        ("hashlist/typed-synthetic.csv", KnownFormat::HashList, 5),
        (
            "hashlist/nsrl-rds-layout-synthetic.txt",
            KnownFormat::HashList,
            3,
        ),
    ] {
        let bytes = data(file);
        assert_eq!(detect_format(&bytes), format, "{file}");
        let (got, records) = read_all(&bytes, KnownReadOptions::default());
        assert_eq!(got, format);
        assert_eq!(records.len(), count, "{file}");
        assert!(records.iter().all(|r| !r.hashes.is_empty()));
        assert!(records.iter().all(|r| r.source.line.is_some()));
    }
}

#[test]
fn vics_to_icse_and_back_keeps_the_shared_fields() {
    let (_, from_vics) = read_all(
        &data("vics/vics2-case-synthetic.json"),
        KnownReadOptions::default(),
    );
    let mut w = KnownMediaWriter::icse(Vec::new()).expect("writer");
    for r in &from_vics {
        w.write(r).expect("write");
    }
    let icse = w.finish().expect("finish");
    let (format, from_icse) = read_all(&icse, KnownReadOptions::default());
    assert_eq!(format, KnownFormat::Icse);
    assert_eq!(from_icse.len(), from_vics.len());
    for (a, b) in from_vics.iter().zip(&from_icse) {
        assert_eq!(a.hashes.md5, b.hashes.md5);
        assert_eq!(a.hashes.sha1, b.hashes.sha1);
        assert_eq!(a.series, b.series);
        assert_eq!(a.victim_identified, b.victim_identified);
        assert_eq!(a.offender_identified, b.offender_identified);
        assert_eq!(a.is_distributed, b.is_distributed);
        assert_eq!(a.external_id, b.external_id, "MediaID → Image ID");
    }
}

#[test]
fn icse_to_vics_and_back_keeps_the_shared_fields() {
    let (_, from_icse) = read_all(
        &data("icse/icse-synthetic.csv"),
        KnownReadOptions::default(),
    );
    let mut w = KnownMediaWriter::vics(Vec::new(), VicsLayout::v2_media()).expect("writer");
    let mut refused = 0;
    for r in &from_icse {
        match w.write(r) {
            Ok(()) => {}
            Err(e) => {
                assert!(e.is_record_error(), "{e}");
                assert!(r.hashes.md5.is_none());
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 1, "the SHA-1-only row cannot be VICS");
    let vics = w.finish().expect("finish");
    let (_, from_vics) = read_all(&vics, KnownReadOptions::default());
    let with_md5: Vec<_> = from_icse
        .iter()
        .filter(|r| r.hashes.md5.is_some())
        .collect();
    assert_eq!(from_vics.len(), with_md5.len());
    for (a, b) in with_md5.iter().zip(&from_vics) {
        assert_eq!(a.hashes, b.hashes, "PhotoDNA carried");
        assert_eq!(a.series, b.series);
        assert_eq!(a.victim_identified, b.victim_identified);
        assert_eq!(a.is_distributed, b.is_distributed);
    }
}

#[test]
fn hash_list_hints_reach_the_reader_and_every_format_exports_to_a_list() {
    let bytes = data("hashlist/pdq-synthetic.txt");
    let options = KnownReadOptions {
        format: None,
        hash_list: HashListOptions::pdq(),
    };
    let (_, records) = read_all(&bytes, options);
    assert!(records.iter().all(|r| r.hashes.pdq.is_some()));

    let (_, from_vics) = read_all(
        &data("vics/vics12-variants-synthetic.json"),
        KnownReadOptions::default(),
    );
    let mut w = KnownMediaWriter::hash_list(Vec::new(), HashListStyle::Csv).expect("writer");
    for r in &from_vics {
        w.write(r).expect("write");
    }
    let list = w.finish().expect("finish");
    let (format, rows) = read_all(&list, KnownReadOptions::default());
    assert_eq!(format, KnownFormat::HashList);
    let kinds: Vec<HashKind> = rows
        .iter()
        .flat_map(|r| r.hashes.values())
        .map(|v| v.kind())
        .collect();
    assert_eq!(
        kinds,
        vec![
            HashKind::Md5,
            HashKind::Sha1,
            HashKind::Sha256,
            HashKind::PhotoDna
        ]
    );
}

#[test]
fn records_carry_the_category_scheme_and_serialise() {
    let (_, records) = read_all(
        &data("vics/vics2-case-synthetic.json"),
        KnownReadOptions::default(),
    );
    assert!(records
        .iter()
        .all(|r| r.category_scheme.as_deref() == Some("US")));
    let (_, records) = read_all(
        &data("vics/vics2-variants-synthetic.json"),
        KnownReadOptions::default(),
    );
    let json = serde_json::to_string(&records[0]).expect("serialise");
    let back: KnownMediaRecord = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, records[0]);
    assert!(back.updated_at.is_some());
}
