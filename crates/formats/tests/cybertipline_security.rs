//! Hostile XML: external entities, entity expansion bombs, deep nesting and huge bodies are
//! refused, and even the underlying libxml2 parse neither loads nor expands entities.

use std::io::Write;

use safeguard_formats::cybertipline::{
    schema, validate_file_details, validate_report, ReportMode, ResponseCode,
};
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn secret_file() -> (tempfile::NamedTempFile, String) {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(b"TOP-SECRET-CANARY-7f3a").expect("write");
    let url = format!("file://{}", f.path().display());
    (f, url)
}

fn billion_laughs() -> String {
    let mut s =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE report [\n<!ENTITY lol0 \"lol\">\n");
    for i in 1..10 {
        s.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&lol{};", i - 1).repeat(10)
        ));
    }
    s.push_str("]>\n<report><additionalInfo>&lol9;</additionalInfo></report>");
    s
}

#[test]
fn external_entity_is_refused_by_the_api() {
    let (_f, url) = secret_file();
    for target in ["report", "fileDetails"] {
        let xml = format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE {target} [<!ENTITY xxe SYSTEM \"{url}\">]>\n<{target}><reportId>&xxe;</reportId></{target}>"
        );
        let e = if target == "report" {
            validate_report(xml.as_bytes(), NOW).expect_err("refused")
        } else {
            validate_file_details(xml.as_bytes(), ReportMode::Standard, NOW).expect_err("refused")
        };
        assert_eq!(e.response_code(), ResponseCode::MalformedXml);
        assert!(e.description().contains("DOCTYPE"));
        assert!(!e.description().contains("CANARY"));
    }
}

#[test]
fn external_parameter_entity_and_external_dtd_are_refused() {
    let (_f, url) = secret_file();
    for xml in [
        format!("<!DOCTYPE report SYSTEM \"{url}\">\n<report/>"),
        format!("<!DOCTYPE report [<!ENTITY % p SYSTEM \"{url}\"> %p;]>\n<report/>"),
        "<!DOCTYPE report PUBLIC \"-//X//Y\" \"http://192.0.2.1/evil.dtd\">\n<report/>".to_string(),
    ] {
        let e = validate_report(xml.as_bytes(), NOW).expect_err("refused");
        assert_eq!(e.response_code(), ResponseCode::MalformedXml, "{xml}");
        assert!(!e.description().contains("CANARY"));
    }
}

#[test]
fn libxml_itself_does_not_load_external_entities() {
    // Defence in depth: even if the DOCTYPE pre-check were bypassed, the parser configuration
    // (no XML_PARSE_NOENT, no XML_PARSE_DTDLOAD, XML_PARSE_NONET) does not read the file.
    let (_f, url) = secret_file();
    let xml = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM \"{url}\">]>\n<r>&xxe;</r>"
    );
    let doc = schema::parse_well_formed(xml.as_bytes())
        .expect("well-formed; the entity stays an unresolved reference");
    let serialised = doc.to_string();
    assert!(!serialised.contains("CANARY"), "{serialised}");
    assert!(serialised.contains("&xxe;"), "{serialised}");
}

#[test]
fn billion_laughs_is_refused_and_libxml_does_not_expand_it() {
    let xml = billion_laughs();
    let e = validate_report(xml.as_bytes(), NOW).expect_err("refused");
    assert_eq!(e.response_code(), ResponseCode::MalformedXml);
    assert!(e.description().contains("DOCTYPE"));
    // The parser alone keeps the reference unexpanded (or refuses the amplification).
    match schema::parse_well_formed(xml.as_bytes()) {
        // libxml2's amplification guard refuses the document outright…
        Err(schema::LibxmlOutcome::Malformed(d)) => assert!(!d.is_empty()),
        // …or, in other libxml2 versions, keeps the reference unexpanded.
        Ok(doc) => {
            let serialised = doc.to_string();
            assert!(
                serialised.len() < 10_000,
                "expanded to {} bytes",
                serialised.len()
            );
            assert!(serialised.contains("&lol9;"));
        }
        Err(other) => panic!("unexpected {other:?}"),
    }
}

#[test]
fn deep_nesting_is_refused_without_stack_overflow() {
    let depth = 100_000;
    let xml = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
    let e = validate_report(xml.as_bytes(), NOW).expect_err("refused");
    assert_eq!(
        e.response_code(),
        ResponseCode::MalformedXml,
        "{}",
        e.description()
    );
}

#[test]
fn a_body_with_nul_bytes_or_garbage_is_malformed() {
    for body in [
        &b"\0\0\0\0"[..],
        &b"<report>\0</report>"[..],
        &[0xff, 0xfe, 0x3c, 0x00][..],
    ] {
        let e = validate_report(body, NOW).expect_err("refused");
        assert_eq!(e.response_code(), ResponseCode::MalformedXml);
    }
}

#[test]
fn schema_location_hints_are_ignored() {
    // If libxml2 followed xsi:noNamespaceSchemaLocation it would validate against this schema,
    // which allows only an empty <report/>, and reject the example.
    let mut xsd = tempfile::NamedTempFile::new().expect("temp file");
    xsd.write_all(
        br#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="report"><xs:complexType/></xs:element></xs:schema>"#,
    )
    .expect("write");
    let url = format!("file://{}", xsd.path().display());
    let xml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/cybertipline/report.xml"
    ))
    .expect("example")
    .replace("https://report.cybertip.org/ispws/xsd", &url);
    assert!(xml.contains(&url));
    validate_report(xml.as_bytes(), NOW).expect("validated against the bundled schema only");
}

#[test]
fn only_utf8_is_accepted() {
    let e = validate_report(
        b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<report/>",
        NOW,
    )
    .expect_err("refused");
    assert_eq!(e.response_code(), ResponseCode::MalformedXml);
    assert!(
        e.description().contains("ISO-8859-1"),
        "{}",
        e.description()
    );
    // A UTF-8 byte-order mark is fine.
    let xml = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/cybertipline/report.xml"
    ))
    .expect("example");
    let with_bom = [&b"\xef\xbb\xbf"[..], &xml].concat();
    validate_report(&with_bom, NOW).expect("BOM accepted");
}
