//! ICSE export CSV: reading the synthetic samples, round trips, conversions.

use std::path::{Path, PathBuf};

use safeguard_domain::digest::Digester;
use safeguard_formats::icse::{IcseColumn, IcseFlagStyle, IcseReader, IcseRecord, IcseWriter};
use safeguard_formats::known_media::{KnownMediaRecord, PhotoDna};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/icse")
        .join(name)
}

fn read_all(bytes: &[u8]) -> Vec<safeguard_formats::icse::IcseRow> {
    IcseReader::new(bytes)
        .expect("header")
        .map(|r| r.expect("row"))
        .collect()
}

fn synthetic(n: u32) -> safeguard_domain::digest::FileDigests {
    Digester::digest(format!("safeguard synthetic media {n}").as_bytes())
}

#[test]
fn reads_the_semicolon_export() {
    let bytes = std::fs::read(sample("icse-synthetic.csv")).expect("sample");
    let reader = IcseReader::new(bytes.as_slice()).expect("header");
    assert_eq!(reader.delimiter(), b';');
    assert!(reader.unknown_columns().is_empty());
    let rows: Vec<_> = reader.map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows.iter().map(|r| r.line).collect::<Vec<_>>(),
        vec![2, 3, 4, 5]
    );
    let first = &rows[0].record;
    assert_eq!(first.md5, Some(synthetic(1).md5), "upper-case hex accepted");
    assert_eq!(first.sha1, Some(synthetic(1).sha1));
    let pattern: [u8; 144] = std::array::from_fn(|i| ((i * 7 + 3) % 256) as u8);
    assert_eq!(first.photodna, Some(PhotoDna::from_bytes(pattern)));
    assert_eq!(first.image_id.as_deref(), Some("ICSE-SYN-0001"));
    assert_eq!(first.is_distributed, Some(true), "Yes");
    assert_eq!(first.offender_identified, Some(false), "No");
    assert_eq!(first.file_available, Some(true), "true");
    assert_eq!(first.baseline, Some(true), "1");
    assert_eq!(first.number_of_submissions, Some(12));
    assert_eq!(first.media_type.as_deref(), Some("Image"));
    let third = &rows[2].record;
    let hex_pattern: [u8; 144] = std::array::from_fn(|i| ((i * 11 + 5) % 256) as u8);
    assert_eq!(
        third.photodna,
        Some(PhotoDna::from_bytes(hex_pattern)),
        "hex PhotoDNA"
    );
    assert_eq!(
        third.series_name.as_deref(),
        Some("SYNTH; SERIES B"),
        "quoted delimiter"
    );
    assert_eq!(third.baseline, None, "empty cell");
    let fourth = &rows[3].record;
    assert_eq!(fourth.md5, None);
    assert_eq!(fourth.sha1, Some(synthetic(4).sha1));
}

#[test]
fn reads_a_comma_export_with_renamed_reordered_and_unknown_columns() {
    let bytes = std::fs::read(sample("icse-synthetic-comma.csv")).expect("sample");
    let reader = IcseReader::new(bytes.as_slice()).expect("header");
    assert_eq!(reader.delimiter(), b',');
    assert_eq!(reader.unknown_columns(), ["Notes".to_owned()]);
    assert_eq!(reader.columns()[2], Some(IcseColumn::ImageId));
    let rows: Vec<_> = reader.map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].record.md5, Some(synthetic(5).md5));
    assert_eq!(rows[0].record.sha1, Some(synthetic(5).sha1));
    assert_eq!(
        rows[0].record.series_name.as_deref(),
        Some("SYNTH-SERIES-C, part 2")
    );
    assert_eq!(rows[0].record.number_of_submissions, Some(7));
    assert_eq!(rows[1].record.victim_identified, Some(true));
    assert_eq!(rows[1].record.series_name, None);
}

#[test]
fn round_trips_with_every_delimiter_and_flag_style() {
    for name in ["icse-synthetic.csv", "icse-synthetic-comma.csv"] {
        let bytes = std::fs::read(sample(name)).expect("sample");
        let original: Vec<IcseRecord> = read_all(&bytes).into_iter().map(|r| r.record).collect();
        for delimiter in [b';', b',', b'\t'] {
            for flags in [
                IcseFlagStyle::TrueFalse,
                IcseFlagStyle::YesNo,
                IcseFlagStyle::OneZero,
            ] {
                let mut w = IcseWriter::with_options(Vec::new(), delimiter, flags).expect("w");
                for r in &original {
                    w.write(r).expect("write");
                }
                let written = w.finish().expect("finish");
                let header = written.split(|b| *b == b'\n').next().expect("header line");
                assert!(header.starts_with(b"MD5"));
                let again: Vec<IcseRecord> =
                    read_all(&written).into_iter().map(|r| r.record).collect();
                assert_eq!(again, original, "{name} delimiter {delimiter} {flags:?}");
            }
        }
    }
}

#[test]
fn converts_to_and_from_known_media_records() {
    let bytes = std::fs::read(sample("icse-synthetic.csv")).expect("sample");
    let rows = read_all(&bytes);
    for row in &rows {
        let known = KnownMediaRecord::from(row);
        assert_eq!(known.source.line, Some(row.line));
        assert_eq!(IcseRecord::from(&known), row.record);
    }
    let known = KnownMediaRecord::from(&rows[0]);
    assert_eq!(known.submissions, Some(12));
    assert_eq!(known.series.as_deref(), Some("SYNTH-SERIES-A"));
    assert_eq!(known.baseline, Some(true));
    // ICSE → VICS needs an MD5: the fourth row has only a SHA-1.
    assert!(safeguard_formats::vics::Media::try_from(&known).is_ok());
    assert!(safeguard_formats::vics::Media::try_from(&KnownMediaRecord::from(&rows[3])).is_err());
}
