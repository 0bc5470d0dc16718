//! Hash lists: layouts recognised, round trips, hints for the SHA-256/PDQ ambiguity.

use std::path::{Path, PathBuf};

use safeguard_domain::digest::Digester;
use safeguard_formats::hashlist::{
    HashListLayout, HashListOptions, HashListReader, HashListRecord, HashListStyle, HashListWriter,
};
use safeguard_formats::known_media::{HashKind, KnownHashes, KnownMediaRecord};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/hashlist")
        .join(name)
}

fn read(bytes: &[u8], options: HashListOptions) -> (HashListLayout, Vec<HashListRecord>) {
    let reader = HashListReader::with_options(bytes, options).expect("layout");
    let layout = reader.layout().clone();
    let records = reader.map(|r| r.expect("record")).collect();
    (layout, records)
}

fn kinds(records: &[HashListRecord]) -> Vec<HashKind> {
    records
        .iter()
        .flat_map(|r| r.hashes.values())
        .map(|v| v.kind())
        .collect()
}

fn write(records: &[HashListRecord], style: HashListStyle) -> Vec<u8> {
    let mut w = HashListWriter::new(Vec::new(), style, Some("written by the test\nsecond line"))
        .expect("writer");
    for r in records {
        w.write(r).expect("write");
    }
    w.finish().expect("finish")
}

/// Records compared on content only (lines move when comments are added).
fn content(records: &[HashListRecord]) -> Vec<(KnownHashes, Option<String>, Option<String>)> {
    records
        .iter()
        .map(|r| (r.hashes.clone(), r.file_name.clone(), r.comment.clone()))
        .collect()
}

#[test]
fn plain_list_kinds_by_length_with_file_names_and_comments() {
    let bytes = std::fs::read(sample("plain-synthetic.txt")).expect("sample");
    let (layout, records) = read(&bytes, HashListOptions::default());
    assert_eq!(layout, HashListLayout::Plain);
    assert_eq!(records.len(), 11);
    assert_eq!(records[0].line, 3, "comment and blank line counted");
    let d1 = Digester::digest(b"safeguard synthetic media 1");
    assert_eq!(records[0].hashes.md5, Some(d1.md5));
    assert_eq!(records[1].hashes.sha1, Some(d1.sha1), "upper-case hex");
    assert_eq!(
        records[2].hashes.sha256,
        Some(d1.sha256),
        "64 hex = SHA-256 by default"
    );
    assert_eq!(records[9].file_name.as_deref(), Some("IMG_0007.JPG"));
    assert_eq!(
        records[10].file_name.as_deref(),
        Some("archive member.bin"),
        "binary-mode marker dropped, spaces kept"
    );
    for style in [HashListStyle::Plain, HashListStyle::Csv] {
        let written = write(&records, style);
        let (_, again) = read(&written, HashListOptions::default());
        assert_eq!(content(&again), content(&records), "{style:?}");
    }
}

#[test]
fn sixty_four_hex_is_pdq_only_when_asked() {
    let bytes = std::fs::read(sample("pdq-synthetic.txt")).expect("sample");
    let (_, as_sha) = read(&bytes, HashListOptions::default());
    assert!(kinds(&as_sha).iter().all(|k| *k == HashKind::Sha256));
    let (_, as_pdq) = read(&bytes, HashListOptions::pdq());
    assert_eq!(kinds(&as_pdq), vec![HashKind::Pdq; 4]);
    let forced = HashListOptions {
        force: Some(HashKind::Pdq),
        ..HashListOptions::default()
    };
    assert_eq!(kinds(&read(&bytes, forced).1), vec![HashKind::Pdq; 4]);
    // Plain round trip needs the hint again; CSV carries the type.
    let (_, plain_again) = read(
        &write(&as_pdq, HashListStyle::Plain),
        HashListOptions::pdq(),
    );
    assert_eq!(content(&plain_again), content(&as_pdq));
    let (_, csv_again) = read(
        &write(&as_pdq, HashListStyle::Csv),
        HashListOptions::default(),
    );
    assert_eq!(content(&csv_again), content(&as_pdq));
}

#[test]
fn typed_csv_lists_in_both_column_orders() {
    let bytes = std::fs::read(sample("typed-synthetic.csv")).expect("sample");
    let (layout, records) = read(&bytes, HashListOptions::default());
    assert!(matches!(
        layout,
        HashListLayout::TypeValue {
            delimiter: b',',
            header: true
        }
    ));
    assert_eq!(
        kinds(&records),
        vec![
            HashKind::Md5,
            HashKind::Sha1,
            HashKind::Sha256,
            HashKind::Pdq,
            HashKind::PhotoDna
        ]
    );
    assert_eq!(records[0].comment.as_deref(), Some("first"));
    let (_, again) = read(
        &write(&records, HashListStyle::Csv),
        HashListOptions::default(),
    );
    assert_eq!(content(&again), content(&records));

    let bytes = std::fs::read(sample("type-value-semicolon-synthetic.csv")).expect("sample");
    let (layout, records) = read(&bytes, HashListOptions::default());
    assert!(matches!(
        layout,
        HashListLayout::TypeValue {
            delimiter: b';',
            ..
        }
    ));
    assert_eq!(
        kinds(&records),
        vec![HashKind::Md5, HashKind::Sha256, HashKind::Pdq]
    );
}

#[test]
fn headerless_type_value_rows() {
    let d = Digester::digest(b"x");
    let text = format!("md5,{}\nsha1,{}\n", d.md5, d.sha1);
    let (layout, records) = read(text.as_bytes(), HashListOptions::default());
    assert!(matches!(
        layout,
        HashListLayout::TypeValue { header: false, .. }
    ));
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].line, 1);
    assert_eq!(records[1].hashes.sha1, Some(d.sha1));
}

#[test]
fn nsrl_rds_layout_gives_md5_sha1_and_file_name_per_row() {
    let bytes = std::fs::read(sample("nsrl-rds-layout-synthetic.txt")).expect("sample");
    let (layout, records) = read(&bytes, HashListOptions::default());
    assert_eq!(
        layout,
        HashListLayout::Wide {
            delimiter: b',',
            kinds: vec![HashKind::Sha1, HashKind::Md5]
        }
    );
    assert_eq!(records.len(), 3);
    let d = Digester::digest(b"safeguard synthetic media 10");
    assert_eq!(records[0].hashes.md5, Some(d.md5));
    assert_eq!(records[0].hashes.sha1, Some(d.sha1));
    assert_eq!(records[0].file_name.as_deref(), Some("synthetic_10.dat"));
    assert_eq!(records[0].line, 2);
    let known = KnownMediaRecord::from(&records[0]);
    assert_eq!(known.file_names, vec!["synthetic_10.dat".to_owned()]);
    assert_eq!(HashListRecord::from(&known).hashes, records[0].hashes);
    // Written as typed CSV, the two hashes of a row become two rows.
    let (_, again) = read(
        &write(&records, HashListStyle::Csv),
        HashListOptions::default(),
    );
    assert_eq!(again.len(), 6);
}

#[test]
fn empty_and_comment_only_lists_have_no_records() {
    for text in ["", "\n\n", "# nothing here\n# at all\n"] {
        let (_, records) = read(text.as_bytes(), HashListOptions::default());
        assert!(records.is_empty());
    }
}
