//! Why a submittal is refused, mapped to the documented response codes.

use std::fmt;

use super::response::{ReportResponse, ResponseCode};

/// Which stage found the problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// libxml2 schema validation against the (superset) XSD.
    Schema,
    /// A business rule of the API documentation, checked after the schema.
    Rule,
}

/// One violation: the element (path), line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Which stage found it.
    pub stage: Stage,
    /// Element path from the root, e.g. `report/incidentSummary/incidentDateTime`; attributes
    /// as `…/@name`. For schema errors the path of the element libxml2 names.
    pub path: String,
    /// 1-based line of the element, when known.
    pub line: Option<u32>,
    /// The message (libxml2's own text for schema errors).
    pub message: String,
}

impl ValidationError {
    /// The last element name of the path (attribute paths give the element).
    pub fn element(&self) -> &str {
        self.path
            .rsplit('/')
            .find(|s| !s.starts_with('@'))
            .map(|s| s.split('[').next().unwrap_or(s))
            .unwrap_or("")
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// A refused submittal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Not well-formed XML, not XML at all, not UTF-8, or carrying a DOCTYPE → 4110.
    #[error("Malformed XML submittal - {}", line_prefixed(.line, .message))]
    Malformed {
        /// What the parser said.
        message: String,
        /// 1-based line, when known.
        line: Option<u32>,
    },
    /// Well-formed but breaking the schema or a business rule → 4100.
    #[error("Validation failed - {}", join(.0))]
    Invalid(Vec<ValidationError>),
    /// The server could not validate (schema failed to compile) → 1000.
    #[error("Server error - {0}")]
    Internal(String),
}

fn line_prefixed(line: &Option<u32>, message: &str) -> String {
    match line {
        Some(l) => format!("line {l}: {message}"),
        None => message.to_string(),
    }
}

fn join(errors: &[ValidationError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Rejection {
    /// The documented response code.
    pub fn response_code(&self) -> ResponseCode {
        match self {
            Rejection::Malformed { .. } => ResponseCode::MalformedXml,
            Rejection::Invalid(_) => ResponseCode::ValidationFailed,
            Rejection::Internal(_) => ResponseCode::ServerError,
        }
    }

    /// The HTTP status to answer with.
    pub fn http_status(&self) -> u16 {
        self.response_code().http_status()
    }

    /// The `responseDescription`: the documented text, a dash, then every violation with
    /// path and line — the shape NCMEC's own server used ("Malformed (xml) report submittal -
    /// cvc-complex-type.2.4.a: …").
    pub fn description(&self) -> String {
        self.to_string()
    }

    /// The violations (empty for a malformed or internal rejection).
    pub fn errors(&self) -> &[ValidationError] {
        match self {
            Rejection::Invalid(e) => e,
            _ => &[],
        }
    }

    /// The `<reportResponse>` to send back.
    pub fn to_response(&self, report_id: Option<i64>) -> ReportResponse {
        ReportResponse {
            response_code: self.response_code().code(),
            response_description: self.description(),
            report_id,
            file_id: None,
            hash: None,
        }
    }
}
