//! NCMEC's XSD, the superset Safeguard validates against, and the libxml2 validator.
//!
//! [`XSD`] is NCMEC's file byte for byte (served by `GET /xsd`). Validation uses
//! [`superset_xsd`]: the same text with the three optional elements of the 2026 documentation
//! revision inserted (see `PATCHES`), so newer clients are accepted while older documents stay
//! valid. Each patch is anchored on a unique element declaration; a test checks every anchor.

use std::cell::RefCell;
use std::sync::OnceLock;

use libxml::error::StructuredError;
use libxml::parser::{Parser, ParserOptions, XmlParseFailure};
use libxml::schemas::{SchemaParserContext, SchemaValidationContext};
use libxml::tree::Document;

/// NCMEC's CyberTipline XSD as served by `https://report.cybertip.org/ispws/xsd` (Nov 2025,
/// sha256 `aee4c880…392b`). See `PROVENANCE.md` beside this file.
pub const XSD: &str = include_str!("ncmec-cybertipline-2025-11.xsd");

/// One additive change: insert `insert` right after the `</xs:element>` that closes the
/// declaration starting with `anchor`.
struct Patch {
    anchor: &'static str,
    insert: &'static str,
}

/// Elements of the 2026 documentation revision, optional, in the documented position.
const PATCHES: [Patch; 3] = [
    // reportAnnotations is an xs:all: position is irrelevant, placed last.
    Patch {
        anchor: r#"<xs:element name="sadisticOnlineExploitation" minOccurs="0" type="xs:boolean" fixed="true">"#,
        insert: r#"
            <xs:element name="informational" minOccurs="0" type="xs:boolean" fixed="true" />"#,
    },
    // person: right after age.
    Patch {
        anchor: r#"<xs:element name="age" minOccurs="0" type="xs:int">"#,
        insert: r#"
            <xs:element name="ageAssertionDiscrepancy" minOccurs="0" type="xs:boolean" />"#,
    },
    // associatedAccount: right after approximateAge.
    Patch {
        anchor: r#"<xs:element name="approximateAge" minOccurs="0" type="xs:int">"#,
        insert: r#"
            <xs:element name="ageAssertionDiscrepancy" minOccurs="0" type="xs:boolean" />"#,
    },
];

/// The schema Safeguard validates against: [`XSD`] plus the optional elements
/// `reportAnnotations/informational`, `person/ageAssertionDiscrepancy` (after `age`) and
/// `associatedAccount/ageAssertionDiscrepancy` (after `approximateAge`).
pub fn superset_xsd() -> &'static str {
    static SUPERSET: OnceLock<String> = OnceLock::new();
    SUPERSET.get_or_init(|| patch(XSD))
}

fn patch(xsd: &str) -> String {
    let mut out = xsd.to_string();
    for p in &PATCHES {
        // A missing anchor leaves the schema unpatched (strict NCMEC); the unit test below
        // guarantees every anchor exists exactly once in the bundled file.
        let Some(start) = out.find(p.anchor) else {
            continue;
        };
        let Some(close) = out[start..].find("</xs:element>") else {
            continue;
        };
        let at = start + close + "</xs:element>".len();
        out.insert_str(at, p.insert);
    }
    out
}

/// One diagnostic from libxml2 (well-formedness or schema validity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// libxml2's message, trimmed, e.g. `Element 'reporter': This element is not expected.`
    pub message: String,
    /// 1-based line, when libxml2 knows it.
    pub line: Option<u32>,
}

impl Diagnostic {
    fn from_libxml(e: &StructuredError) -> Self {
        Diagnostic {
            message: e
                .message
                .as_deref()
                .unwrap_or("unknown libxml2 error")
                .trim()
                .to_string(),
            line: e.line.and_then(|l| u32::try_from(l).ok()),
        }
    }

    /// The element the message names (`Element 'x': …` → `x`), if any.
    pub fn element(&self) -> Option<&str> {
        let rest = self.message.strip_prefix("Element '")?;
        let end = rest.find('\'')?;
        let name = &rest[..end];
        // Attribute messages read "Element 'e', attribute 'a': …": the element is still `e`.
        Some(name)
    }
}

/// What went wrong running libxml2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LibxmlOutcome {
    /// Not well-formed (or not XML at all).
    Malformed(Vec<Diagnostic>),
    /// Well-formed but not valid against the superset schema.
    Invalid(Vec<Diagnostic>),
    /// The bundled schema did not compile: a server fault.
    SchemaUnavailable(String),
}

/// Parser flags: no recovery, no network, and neither entity substitution (XML_PARSE_NOENT)
/// nor DTD loading (XML_PARSE_DTDLOAD) — the binding leaves both off and exposes no switch
/// for them, which is exactly the XXE-safe configuration.
fn parser_options() -> ParserOptions<'static> {
    ParserOptions {
        recover: false,
        no_def_dtd: true,
        no_error: true,
        no_warning: true,
        pedantic: false,
        no_blanks: false,
        no_net: true,
        no_implied: false,
        huge: false,
        compact: false,
        ignore_enc: false,
        encoding: None,
    }
}

/// Parses `xml` with libxml2 (well-formedness only).
pub fn parse_well_formed(xml: &[u8]) -> Result<Document, LibxmlOutcome> {
    let parser = Parser::default();
    match parser.parse_string_with_diagnostics(xml, parser_options()) {
        Ok((doc, diagnostics)) => {
            // With recovery off libxml2 returns no document on a fatal error; an error-level
            // diagnostic alongside a document still means the body is not acceptable.
            let errors: Vec<Diagnostic> = diagnostics
                .iter()
                .filter(|d| {
                    matches!(
                        d.level,
                        libxml::error::XmlErrorLevel::Error | libxml::error::XmlErrorLevel::Fatal
                    )
                })
                .map(Diagnostic::from_libxml)
                .collect();
            if errors.is_empty() {
                Ok(doc)
            } else {
                Err(LibxmlOutcome::Malformed(errors))
            }
        }
        Err(XmlParseFailure::ParseFailed(d)) => {
            let mut d: Vec<Diagnostic> = d.iter().map(Diagnostic::from_libxml).collect();
            if d.is_empty() {
                d.push(Diagnostic {
                    message: "Document is empty or not XML".into(),
                    line: None,
                });
            }
            Err(LibxmlOutcome::Malformed(d))
        }
        Err(other) => Err(LibxmlOutcome::Malformed(vec![Diagnostic {
            message: other.to_string(),
            line: None,
        }])),
    }
}

thread_local! {
    // libxml2 schema contexts are not Send; each thread compiles the superset schema once
    // (about a few milliseconds) and reuses its validation context.
    static VALIDATOR: RefCell<Option<SchemaValidationContext>> = const { RefCell::new(None) };
}

fn build_validator() -> Result<SchemaValidationContext, String> {
    let mut parser = SchemaParserContext::from_buffer(superset_xsd());
    SchemaValidationContext::from_parser(&mut parser).map_err(|errors| {
        errors
            .iter()
            .map(|e| Diagnostic::from_libxml(e).message)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Validates a parsed document against the superset schema.
pub fn validate(doc: &Document) -> Result<(), LibxmlOutcome> {
    VALIDATOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(build_validator().map_err(LibxmlOutcome::SchemaUnavailable)?);
        }
        let Some(validator) = slot.as_mut() else {
            return Err(LibxmlOutcome::SchemaUnavailable("validator missing".into()));
        };
        let result = validator.validate_document(doc);
        // Warnings of a successful run would otherwise pile up in the reused context.
        validator.drain_errors();
        result.map_err(|errors| {
            LibxmlOutcome::Invalid(errors.iter().map(Diagnostic::from_libxml).collect())
        })
    })
}

/// Checks that the bundled schema (superset) compiles; for a server's readiness check.
pub fn check_schema() -> Result<(), String> {
    build_validator().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_patch_anchor_is_unique() {
        for p in &PATCHES {
            assert_eq!(XSD.matches(p.anchor).count(), 1, "anchor {}", p.anchor);
        }
        let s = superset_xsd();
        assert_eq!(s.matches(r#"name="informational""#).count(), 1);
        assert_eq!(s.matches(r#"name="ageAssertionDiscrepancy""#).count(), 2);
        assert_eq!(
            s.len(),
            XSD.len() + PATCHES.iter().map(|p| p.insert.len()).sum::<usize>()
        );
    }

    #[test]
    fn bundled_xsd_is_ncmecs_file() {
        assert_eq!(XSD.len(), 148_975);
        assert!(XSD.contains(r#"<xs:element name="reportDoneResponse">"#));
        assert!(!XSD.contains("ageAssertionDiscrepancy"));
    }

    #[test]
    fn superset_schema_compiles() {
        check_schema().expect("superset schema compiles");
    }

    #[test]
    fn the_additions_need_the_superset() {
        let doc = r#"<report>
  <incidentSummary>
    <incidentType>Child Sex Tourism</incidentType>
    <reportAnnotations><informational/></reportAnnotations>
    <incidentDateTime>2020-01-01T00:00:00Z</incidentDateTime>
  </incidentSummary>
  <reporter><reportingPerson><age>3</age><ageAssertionDiscrepancy>true</ageAssertionDiscrepancy></reportingPerson></reporter>
</report>"#;
        let parsed = parse_well_formed(doc.as_bytes()).expect("well-formed");
        validate(&parsed).expect("superset accepts the 2026 elements");

        let mut strict_parser = SchemaParserContext::from_buffer(XSD);
        let mut strict =
            SchemaValidationContext::from_parser(&mut strict_parser).expect("NCMEC XSD compiles");
        let errors = strict
            .validate_document(&parsed)
            .expect_err("NCMEC's own XSD rejects them");
        let first = Diagnostic::from_libxml(&errors[0]);
        assert_eq!(first.element(), Some("informational"));
        assert_eq!(first.line, Some(4));
    }
}
