//! The decoder and writers cover the whole schema: every element and attribute the (superset)
//! XSD declares occurs in the example documents, and writing a parsed document keeps every
//! element (same paths, same attribute names) — round-trip equality alone would not notice an
//! element the decoder silently drops.

use std::collections::BTreeSet;

use safeguard_formats::cybertipline::tree::{self, Element};
use safeguard_formats::cybertipline::{
    superset_xsd, validate_file_details, validate_report, write_file_details, write_report,
    FileAnnotationChoice, ReportMode,
};
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn data(name: &str) -> String {
    let path = format!(
        "{}/tests/data/cybertipline/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every element path with its sorted attribute names.
fn shape(root: &Element) -> Vec<String> {
    let mut out = Vec::new();
    root.walk(&mut |e| {
        let mut attrs: Vec<&str> = e.attributes.iter().map(|(k, _)| k.as_str()).collect();
        attrs.sort_unstable();
        out.push(format!("{} {:?}", e.path, attrs));
    });
    out.sort();
    out
}

fn names(root: &Element, into: &mut BTreeSet<String>) {
    root.walk(&mut |e| {
        into.insert(e.name.clone());
        for (k, _) in &e.attributes {
            into.insert(format!("@{k}"));
        }
    });
}

/// `name="…"` of every xs:element and xs:attribute declaration.
fn declared() -> BTreeSet<String> {
    let xsd = superset_xsd();
    let mut out = BTreeSet::new();
    for (marker, prefix) in [("<xs:element name=\"", ""), ("<xs:attribute name=\"", "@")] {
        for piece in xsd.split(marker).skip(1) {
            if let Some(end) = piece.find('"') {
                out.insert(format!("{prefix}{}", &piece[..end]));
            }
        }
    }
    out
}

const REPORTS: [&str; 4] = [
    "report.xml",
    "synthetic-report-full.xml",
    "synthetic-report-batched-viral.xml",
    "synthetic-report-kitchen-sink.xml",
];

#[test]
fn writing_keeps_every_element_and_attribute() {
    for name in REPORTS {
        let xml = data(name);
        let report = validate_report(xml.as_bytes(), NOW).unwrap_or_else(|e| panic!("{name}: {e}"));
        let written = write_report(&report).expect("writable");
        let before = tree::parse(xml.as_bytes()).expect("tree");
        let after = tree::parse(written.as_bytes()).expect("tree");
        assert_eq!(shape(&before), shape(&after), "{name}");
        assert_eq!(
            validate_report(written.as_bytes(), NOW).expect("valid"),
            report
        );
    }
    for name in [
        "file-details.xml",
        "synthetic-file-details-full.xml",
        "synthetic-file-details-viral.xml",
        "synthetic-file-details-kitchen-sink.xml",
    ] {
        let xml = data(name);
        let details = validate_file_details(xml.as_bytes(), ReportMode::Standard, NOW)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let written = write_file_details(&details).expect("writable");
        let before = tree::parse(xml.as_bytes()).expect("tree");
        let after = tree::parse(written.as_bytes()).expect("tree");
        assert_eq!(shape(&before), shape(&after), "{name}");
        assert_eq!(
            validate_file_details(written.as_bytes(), ReportMode::Standard, NOW).expect("valid"),
            details
        );
    }
}

#[test]
fn the_examples_exercise_every_declared_element_and_attribute() {
    let mut seen = BTreeSet::new();
    for name in REPORTS.iter().copied().chain([
        "synthetic-file-details-kitchen-sink.xml",
        "upload-response.xml",
        "finish-response.xml",
    ]) {
        names(
            &tree::parse(data(name).as_bytes()).expect("tree"),
            &mut seen,
        );
    }
    let missing: Vec<String> = declared().difference(&seen).cloned().collect();
    assert!(missing.is_empty(), "never exercised: {missing:?}");
    // Sanity: the declaration scan found the schema's vocabulary.
    assert!(declared().len() > 150);
}

#[test]
fn legacy_potential_meme_branch_round_trips() {
    let xml = data("file-details.xml").replace(
        "<originalFileName>mypic.jpg</originalFileName>",
        "<originalFileName>mypic.jpg</originalFileName>\n    <potentialMeme>false</potentialMeme>",
    );
    let d = validate_file_details(xml.as_bytes(), ReportMode::Standard, NOW).expect("valid");
    assert_eq!(
        d.annotations,
        Some(FileAnnotationChoice::PotentialMeme(false))
    );
    let written = write_file_details(&d).expect("writable");
    assert!(written.contains("<potentialMeme>false</potentialMeme>"));
    assert_eq!(
        validate_file_details(written.as_bytes(), ReportMode::Standard, NOW).expect("valid"),
        d
    );
}

#[test]
fn kitchen_sink_values_are_decoded() {
    let r =
        validate_report(data("synthetic-report-kitchen-sink.xml").as_bytes(), NOW).expect("valid");
    assert_eq!(r.internet_details.len(), 8);
    assert_eq!(
        r.incident_summary.incident_date_time.to_string(),
        "2024-03-01T18:22:05.25+01:00"
    );
    let suspect = &r.person_or_user_reported[0];
    let t = suspect
        .account_temporarily_disabled
        .as_ref()
        .expect("disabled");
    assert!(t.value && t.user_notified == Some(true) && t.reenabled_date.is_some());
    assert_eq!(suspect.associated_account[0].prior_ct_report, [3]);
    assert_eq!(r.intended_recipient[0].additional_info.len(), 2);
    let officer = r
        .law_enforcement
        .as_ref()
        .and_then(|l| l.officer_contact.as_ref())
        .expect("officer");
    assert_eq!(officer.phone[0].extension.as_deref(), Some("42"));
    match &r.internet_details[0] {
        safeguard_formats::cybertipline::InternetDetails::WebPage(w) => {
            assert_eq!(w.url[0], "https://example.com/a?b=c&d=e");
            assert_eq!(w.third_party_hosted_content, Some(true));
        }
        other => panic!("unexpected {other:?}"),
    }
}
