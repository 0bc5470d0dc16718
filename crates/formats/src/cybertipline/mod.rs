//! NCMEC CyberTipline Reporting API ("ISPWS") wire format: validation, parsing and writing of
//! `<report>`, `<fileDetails>`, `<reportResponse>` and `<reportDoneResponse>` documents.
//!
//! A submitted body goes through, in order (see `docs/cybertipline.md`):
//! 1. UTF-8 check (body and declared encoding) and DOCTYPE refusal (no entity can be
//!    declared, so none is expanded) → 4110;
//! 2. libxml2 well-formedness (no network, no entity substitution, no DTD loading) → 4110;
//! 3. root element check (`report` for /submit, `fileDetails` for /fileinfo) → 4100;
//! 4. libxml2 XSD validation against NCMEC's schema plus the 2026 additive elements → 4100;
//! 5. decoding into the wire types ([`Report`], [`FileDetails`]);
//! 6. the documented business rules ([`rules`]) → 4100.
//!
//! Every violation is a [`ValidationError`] naming the element path and line.
//!
//! The HTTP layer is not here: it calls [`validate_report`] / [`validate_file_details`],
//! answers with [`Rejection::to_response`] and [`ResponseCode::http_status`] on failure, and
//! with [`ReportResponse`] / [`ReportDoneResponse`] on success.

pub mod decode;
pub mod file_details;
pub mod rejection;
pub mod report;
pub mod response;
pub mod rules;
pub mod schema;
pub mod tree;
pub mod values;
pub mod writer;

use time::OffsetDateTime;

pub use file_details::{
    Details, FileAnnotationChoice, FileAnnotations, FileDetails, NameValuePair, OriginalFileHash,
};
pub use rejection::{Rejection, Stage, ValidationError};
pub use report::*;
pub use response::{ReportDoneResponse, ReportResponse, ResponseCode};
pub use rules::{check_batched_file_count, ReportMode};
pub use schema::{superset_xsd, XSD};
pub use tree::SourceMap;
pub use values::{
    AddressType, AssociatedAccountType, BatchedReportReason, DetailsType, EmailType, EventName,
    FileRelevance, IncidentType, IndustryClassification, PhoneType, UsState, XsDate, XsDateTime,
};
pub use writer::{write_file_details, write_report, WriteError};

use schema::LibxmlOutcome;
use tree::{Element, TreeError};

/// A decoded document with the line of every element, for business-rule messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    /// The decoded document.
    pub value: T,
    /// Element path → line.
    pub source: SourceMap,
}

fn malformed(message: impl Into<String>, line: Option<u32>) -> Rejection {
    Rejection::Malformed {
        message: message.into(),
        line,
    }
}

fn tree_rejection(e: TreeError) -> Rejection {
    let line = match &e {
        TreeError::Doctype { line }
        | TreeError::UndeclaredEntity { line, .. }
        | TreeError::Syntax { line, .. }
        | TreeError::TooDeep { line }
        | TreeError::Encoding { line, .. } => Some(*line),
        TreeError::NotUtf8 | TreeError::NoRoot => None,
    };
    // The line is in the Display text already; keep the message without it.
    let message = match &e {
        TreeError::Doctype { .. } => {
            "DOCTYPE declarations are not allowed (entity definitions are refused)".to_string()
        }
        TreeError::UndeclaredEntity { name, .. } => {
            format!("reference to undeclared entity '&{name};'")
        }
        TreeError::Syntax { message, .. } => message.clone(),
        TreeError::Encoding { encoding, .. } => {
            format!("encoding '{encoding}' is not accepted (only UTF-8 submittals are accepted)")
        }
        TreeError::TooDeep { .. } => {
            format!("elements are nested deeper than {} levels", tree::MAX_DEPTH)
        }
        other => other.to_string(),
    };
    malformed(message, line)
}

/// Steps 1–4: a well-formed, schema-valid document whose root is `root`, as an element tree.
fn load(xml: &[u8], root: &str) -> Result<Element, Rejection> {
    if std::str::from_utf8(xml).is_err() {
        return Err(tree_rejection(TreeError::NotUtf8));
    }
    tree::check_prolog(xml).map_err(tree_rejection)?;
    let doc = schema::parse_well_formed(xml).map_err(libxml_rejection)?;
    let tree = tree::parse(xml).map_err(tree_rejection)?;
    if tree.name != root {
        return Err(Rejection::Invalid(vec![ValidationError {
            stage: Stage::Schema,
            path: tree.path.clone(),
            line: Some(tree.line),
            message: format!("root element must be '{root}', found '{}'", tree.name),
        }]));
    }
    match schema::validate(&doc) {
        Ok(()) => Ok(tree),
        Err(LibxmlOutcome::Invalid(diagnostics)) => Err(Rejection::Invalid(
            diagnostics
                .iter()
                .map(|d| ValidationError {
                    stage: Stage::Schema,
                    path: d
                        .element()
                        .map(|name| locate(&tree, name, d.line))
                        .unwrap_or_else(|| tree.path.clone()),
                    line: d.line,
                    message: d.message.clone(),
                })
                .collect(),
        )),
        Err(other) => Err(libxml_rejection(other)),
    }
}

fn libxml_rejection(o: LibxmlOutcome) -> Rejection {
    match o {
        LibxmlOutcome::Malformed(d) | LibxmlOutcome::Invalid(d) => {
            let first = d.first();
            malformed(
                first.map_or_else(|| "not well-formed".to_string(), |d| d.message.clone()),
                first.and_then(|d| d.line),
            )
        }
        LibxmlOutcome::SchemaUnavailable(m) => Rejection::Internal(m),
    }
}

/// The path of the element called `name` on `line` (libxml2 names elements, not paths).
fn locate(root: &Element, name: &str, line: Option<u32>) -> String {
    let mut by_line: Option<&str> = None;
    let mut by_name: Option<&str> = None;
    root.walk(&mut |e| {
        if e.name == name {
            if Some(e.line) == line && by_line.is_none() {
                by_line = Some(&e.path);
            }
            if by_name.is_none() {
                by_name = Some(&e.path);
            }
        }
    });
    by_line.or(by_name).unwrap_or(name).to_string()
}

fn decoded<T>(r: Result<T, decode::DecodeError>) -> Result<T, Rejection> {
    r.map_err(|e| {
        Rejection::Invalid(vec![ValidationError {
            stage: Stage::Schema,
            path: e.path,
            line: Some(e.line),
            message: e.message,
        }])
    })
}

fn verdict(errors: Vec<ValidationError>) -> Result<(), Rejection> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Rejection::Invalid(errors))
    }
}

/// Well-formedness, schema validity and decoding of a `<report>` (no business rules).
pub fn parse_report(xml: &[u8]) -> Result<Parsed<Report>, Rejection> {
    let tree = load(xml, "report")?;
    let value = decoded(decode::report(&tree))?;
    Ok(Parsed {
        value,
        source: SourceMap::of(&tree),
    })
}

/// The business rules of a parsed report, `now` being the time of submission.
pub fn check_report(parsed: &Parsed<Report>, now: OffsetDateTime) -> Result<(), Rejection> {
    verdict(rules::report_violations(
        &parsed.value,
        now,
        Some(&parsed.source),
    ))
}

/// Everything /submit checks about its body: the report, or why it is refused.
pub fn validate_report(xml: &[u8], now: OffsetDateTime) -> Result<Report, Rejection> {
    let parsed = parse_report(xml)?;
    check_report(&parsed, now)?;
    Ok(parsed.value)
}

/// Well-formedness, schema validity and decoding of a `<fileDetails>` (no business rules).
/// The server reads `reportId` from the result to find the report's [`ReportMode`].
pub fn parse_file_details(xml: &[u8]) -> Result<Parsed<FileDetails>, Rejection> {
    let tree = load(xml, "fileDetails")?;
    let value = decoded(decode::file_details(&tree))?;
    Ok(Parsed {
        value,
        source: SourceMap::of(&tree),
    })
}

/// The business rules of parsed file details for a report of `mode`.
pub fn check_file_details(
    parsed: &Parsed<FileDetails>,
    mode: ReportMode,
    now: OffsetDateTime,
) -> Result<(), Rejection> {
    verdict(rules::file_details_violations(
        &parsed.value,
        mode,
        now,
        Some(&parsed.source),
    ))
}

/// Everything /fileinfo checks about its body, given the mode of the report it names.
pub fn validate_file_details(
    xml: &[u8],
    mode: ReportMode,
    now: OffsetDateTime,
) -> Result<FileDetails, Rejection> {
    let parsed = parse_file_details(xml)?;
    check_file_details(&parsed, mode, now)?;
    Ok(parsed.value)
}

/// Parses a `<reportResponse>` (client side), schema-validated.
pub fn parse_report_response(xml: &[u8]) -> Result<ReportResponse, Rejection> {
    let tree = load(xml, "reportResponse")?;
    decoded(decode::report_response(&tree))
}

/// Parses a `<reportDoneResponse>` (client side), schema-validated.
pub fn parse_report_done_response(xml: &[u8]) -> Result<ReportDoneResponse, Rejection> {
    let tree = load(xml, "reportDoneResponse")?;
    decoded(decode::report_done_response(&tree))
}

/// Either response document, as a client receives it (a failed /finish answers with a
/// `<reportResponse>`, a successful one with a `<reportDoneResponse>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyResponse {
    /// `<reportResponse>`.
    Report(ReportResponse),
    /// `<reportDoneResponse>`.
    Done(ReportDoneResponse),
}

impl AnyResponse {
    /// The numeric response code.
    pub fn response_code(&self) -> i32 {
        match self {
            AnyResponse::Report(r) => r.response_code,
            AnyResponse::Done(d) => d.response_code,
        }
    }
}

/// Parses whichever response document `xml` holds, schema-validated.
pub fn parse_any_response(xml: &[u8]) -> Result<AnyResponse, Rejection> {
    // Peek at the root (the tree never expands entities); anything unreadable goes through
    // the full reportResponse path so the rejection carries libxml2's diagnosis.
    match tree::parse(xml) {
        Ok(root) if root.name == "reportDoneResponse" => {
            parse_report_done_response(xml).map(AnyResponse::Done)
        }
        _ => parse_report_response(xml).map(AnyResponse::Report),
    }
}
