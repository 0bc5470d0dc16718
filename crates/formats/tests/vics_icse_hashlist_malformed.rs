//! Malformed VICS, ICSE and hash-list inputs: every one gives an error that names the line or
//! the record, and none panics.

use safeguard_formats::hashlist::{HashListOptions, HashListReader};
use safeguard_formats::icse::IcseReader;
use safeguard_formats::vics::{VicsReader, VicsReaderOptions};

#[derive(Debug, Clone, Copy)]
enum Format {
    Vics,
    Icse,
    HashList,
}

const CTX: &str = r#""@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media""#;
const MD5_1: &str = "00000000000000000000000000000001";

/// Every error message the reader produces for `input`, in order (at most 100).
fn errors(format: Format, input: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    match format {
        Format::Vics => {
            let options = VicsReaderOptions {
                max_value_bytes: 4096,
            };
            match VicsReader::with_options(input, options) {
                Err(e) => out.push(e.to_string()),
                Ok(reader) => out.extend(
                    reader
                        .take(100)
                        .filter_map(|r| r.err())
                        .map(|e| e.to_string()),
                ),
            }
        }
        Format::Icse => match IcseReader::new(input) {
            Err(e) => out.push(e.to_string()),
            Ok(reader) => out.extend(
                reader
                    .take(100)
                    .filter_map(|r| r.err())
                    .map(|e| e.to_string()),
            ),
        },
        Format::HashList => match HashListReader::with_options(input, HashListOptions::default()) {
            Err(e) => out.push(e.to_string()),
            Ok(reader) => out.extend(
                reader
                    .take(100)
                    .filter_map(|r| r.err())
                    .map(|e| e.to_string()),
            ),
        },
    }
    out
}

fn vics(records: &str) -> String {
    format!("{{{CTX},\"value\":[\n{records}\n]}}")
}

#[test]
fn malformed_inputs_give_located_errors() {
    let md5_bad_hex = vics(&format!(
        "{{\"MD5\":\"{MD5_1}\"}},\n{{\"MD5\":\"zz000000000000000000000000000002\"}}"
    ));
    let cases: Vec<(&str, Format, String, &[&str])> = vec![
        // --- VICS ---
        (
            "bad JSON inside a record",
            Format::Vics,
            vics(&format!("{{\"MD5\":\"{MD5_1}\"}},\n{{\"MD5\" \"x\"}}")),
            &["media record 2", "line 3"],
        ),
        (
            "truncated file",
            Format::Vics,
            vics(&format!("{{\"MD5\":\"{MD5_1}\"}},\n{{\"MD5\":\"{MD5_1}\",\"Series\":\"S"))
                .replace("\n]}", ""),
            &["line 3", "truncated"],
        ),
        (
            "truncated between records",
            Format::Vics,
            format!("{{{CTX},\"value\":[\n{{\"MD5\":\"{MD5_1}\"}},\n"),
            &["line 3", "truncated"],
        ),
        (
            "bad hex MD5",
            Format::Vics,
            md5_bad_hex,
            &["media record 2", "line 3", "MD5"],
        ),
        (
            "MD5 of the wrong length",
            Format::Vics,
            vics("{\"MD5\":\"0001\"}"),
            &["media record 1", "line 2", "MD5"],
        ),
        (
            "missing MD5",
            Format::Vics,
            vics("{\"SHA1\":\"0000000000000000000000000000000000000001\"}"),
            &["media record 1", "MD5", "missing"],
        ),
        (
            "MediaSize of the wrong type",
            Format::Vics,
            vics(&format!("{{\"MD5\":\"{MD5_1}\",\"MediaSize\":{{\"a\":1}}}}")),
            &["media record 1", "MediaSize", "integer"],
        ),
        (
            "number string that is not a number",
            Format::Vics,
            vics(&format!("{{\"MD5\":\"{MD5_1}\",\"MediaSize\":\"12kB\"}}")),
            &["media record 1", "MediaSize"],
        ),
        (
            "negative category",
            Format::Vics,
            vics(&format!("{{\"MD5\":\"{MD5_1}\",\"Category\":-1}}")),
            &["media record 1", "Category"],
        ),
        (
            "bad boolean",
            Format::Vics,
            vics(&format!("{{\"MD5\":\"{MD5_1}\",\"VictimIdentified\":\"maybe\"}}")),
            &["media record 1", "VictimIdentified", "yes/no"],
        ),
        (
            "bad boolean in a child object",
            Format::Vics,
            vics(&format!(
                "{{\"MD5\":\"{MD5_1}\",\"MediaFiles\":[{{\"FileName\":\"a\"}},{{\"Deleted\":2}}]}}"
            )),
            &["media record 1", "MediaFiles[1].Deleted"],
        ),
        (
            "PhotoDNA of the wrong length",
            Format::Vics,
            vics(&format!("{{\"MD5\":\"{MD5_1}\",\"PhotoDNA\":\"AAAA\"}}")),
            &["media record 1", "PhotoDNA"],
        ),
        (
            "a record that is not an object",
            Format::Vics,
            vics(&format!("{{\"MD5\":\"{MD5_1}\"}},\n42")),
            &["media record 2", "line 3"],
        ),
        (
            "`value` that is not an array",
            Format::Vics,
            format!("{{{CTX},\"value\":{{\"MD5\":\"{MD5_1}\"}}}}"),
            &["line 1", "value"],
        ),
        (
            "mismatched brackets",
            Format::Vics,
            vics(&format!("{{\"MD5\":\"{MD5_1}\",\"MediaFiles\":[{{\"FileName\":\"a\"]}}")),
            &["line 2", "mismatched"],
        ),
        (
            "missing comma between records",
            Format::Vics,
            vics(&format!("{{\"MD5\":\"{MD5_1}\"}}\n{{\"MD5\":\"{MD5_1}\"}}")),
            &["line 3", "','"],
        ),
        (
            "trailing data after the document",
            Format::Vics,
            vics(&format!("{{\"MD5\":\"{MD5_1}\"}}")) + "\n{}",
            &["line 4", "after the end"],
        ),
        (
            "top level is an array",
            Format::Vics,
            format!("[{{\"MD5\":\"{MD5_1}\"}}]"),
            &["not a VICS document"],
        ),
        ("empty file", Format::Vics, String::new(), &["empty"]),
        (
            "no value array",
            Format::Vics,
            format!("{{{CTX}}}"),
            &["no `value` array"],
        ),
        (
            "context that is not a string",
            Format::Vics,
            "{\"@odata.context\":5,\"value\":[]}".into(),
            &["line 1", "@odata.context"],
        ),
        (
            "record larger than the limit",
            Format::Vics,
            vics(&format!(
                "{{\"MD5\":\"{MD5_1}\",\"Comments\":\"{}\"}}",
                "x".repeat(5000)
            )),
            &["line 2", "larger than the limit"],
        ),
        (
            "case field of the wrong type",
            Format::Vics,
            "{\"@odata.context\":\"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases\",\"value\":[\n{\"CaseNumber\":\"C\",\n\"TotalMediaFiles\":\"many\",\"Media\":[]}]}".into(),
            &["case 1", "line 3", "TotalMediaFiles"],
        ),
        (
            "not JSON at all",
            Format::Vics,
            "{this is not json".into(),
            &["line 1"],
        ),
        // --- ICSE ---
        (
            "ICSE wrong column count",
            Format::Icse,
            format!("MD5;SHA1;Series name\n{MD5_1};;A\n{MD5_1};B\n"),
            &["line 3", "2 columns", "3"],
        ),
        (
            "ICSE bad hex",
            Format::Icse,
            format!("MD5;SHA1\n{MD5_1};\n{MD5_1}x;\n"),
            &["line 3", "MD5"],
        ),
        (
            "ICSE bad boolean",
            Format::Icse,
            format!("MD5;Victim identified\r\n{MD5_1};Yes\r\n{MD5_1};perhaps\r\n"),
            &["line 3", "Victim identified"],
        ),
        (
            "ICSE bad number of submissions",
            Format::Icse,
            format!("MD5;Number of submissions\n{MD5_1};many\n"),
            &["line 2", "Number of submissions"],
        ),
        (
            "ICSE row without any hash",
            Format::Icse,
            "MD5;SHA1;Series name\n;;A\n".into(),
            &["line 2", "no hash"],
        ),
        (
            "ICSE header without hash columns",
            Format::Icse,
            "Name;Value\na;b\n".into(),
            &["line 1", "not an ICSE export"],
        ),
        (
            "ICSE duplicate column",
            Format::Icse,
            "MD5;md5\n".into(),
            &["line 1", "twice"],
        ),
        ("ICSE empty file", Format::Icse, String::new(), &["line 1", "empty"]),
        // --- hash lists ---
        (
            "hash list bad hex",
            Format::HashList,
            format!("# list\n{MD5_1}\n0000000000000000000000000000000g\n"),
            &["line 3", "MD5"],
        ),
        (
            "hash list unknown length",
            Format::HashList,
            format!("{MD5_1}\nabcdef\n"),
            &["line 2", "no known hash length"],
        ),
        (
            "hash list unknown type",
            Format::HashList,
            format!("hash,type\n{MD5_1},MD5\n{MD5_1},CRC32\n"),
            &["line 3", "unknown hash type"],
        ),
        (
            "hash list wrong column count",
            Format::HashList,
            format!("hash,type\n{MD5_1},MD5,extra\n"),
            &["line 2", "columns"],
        ),
        (
            "hash list typed value of the wrong length",
            Format::HashList,
            format!("type;value\nsha1;{MD5_1}\n"),
            &["line 2", "SHA1"],
        ),
        (
            "hash list unrecognised header",
            Format::HashList,
            "alpha,beta\n1,2\n".into(),
            &["line 1", "unrecognised"],
        ),
        (
            "hash list line longer than 1 MiB",
            Format::HashList,
            format!("{MD5_1}\n{MD5_1} {}\n", "n".repeat(1 << 20)),
            &["line 2", "longer than"],
        ),
        (
            "NSRL layout bad hex",
            Format::HashList,
            "\"SHA-1\",\"MD5\",\"FileName\"\r\n\"00\",\"00\",\"a\"\r\n".into(),
            &["line 2", "SHA1"],
        ),
    ];
    assert!(cases.len() >= 15);
    for (name, format, input, expected) in cases {
        let result = std::panic::catch_unwind(|| errors(format, input.as_bytes()));
        let errors = result.unwrap_or_else(|_| panic!("{name}: the reader panicked"));
        let first = errors
            .first()
            .unwrap_or_else(|| panic!("{name}: no error reported"));
        println!("{name}: {first}");
        for want in expected {
            assert!(
                first.contains(want),
                "{name}: error {first:?} does not contain {want:?}"
            );
        }
    }
}

#[test]
fn arbitrary_truncations_of_a_valid_file_never_panic() {
    let text = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/vics/vics2-case-synthetic.json"),
    )
    .expect("sample");
    for cut in 0..text.len() {
        let errors = errors(Format::Vics, &text[..cut]);
        assert!(!errors.is_empty(), "a cut at {cut} was accepted");
    }
    let icse = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/icse/icse-synthetic.csv"),
    )
    .expect("sample");
    for cut in 0..icse.len() {
        // A CSV cut at a line end is a valid shorter file; elsewhere it may or may not be.
        let _ = errors(Format::Icse, &icse[..cut]);
    }
}

/// Random byte mutations of every sample (deterministic xorshift): whatever comes out, the
/// readers return records or errors and never panic or loop.
#[test]
fn mutated_samples_never_panic() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut seed: u64 = 0x5EED_1234_ABCD_0001;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for (dir, format) in [
        ("vics", Format::Vics),
        ("icse", Format::Icse),
        ("hashlist", Format::HashList),
    ] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("sample dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for path in files {
            let original = std::fs::read(&path).expect("sample");
            for _ in 0..150 {
                let mut bytes = original.clone();
                for _ in 0..1 + next() % 4 {
                    if bytes.is_empty() {
                        break;
                    }
                    let at = (next() % bytes.len() as u64) as usize;
                    match next() % 3 {
                        0 => bytes[at] = (next() % 256) as u8,
                        1 => {
                            bytes.remove(at);
                        }
                        _ => bytes.insert(at, b"{}[]\",:\n;#\\"[(next() % 11) as usize]),
                    }
                }
                let outcome = std::panic::catch_unwind(|| errors(format, &bytes));
                assert!(
                    outcome.is_ok(),
                    "{} mutated: reader panicked",
                    path.display()
                );
            }
        }
    }
}
