//! One error shape for the JSON API: `{"error": {"code", "message", "field"?, "details"?}}`.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use safeguard_domain::report::FieldError;
use safeguard_engine::EngineError;
use serde::Serialize;

/// An error answered to an API client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable, machine-readable code (`invalid_json`, `not_found`…).
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub details: Vec<FieldError>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    error: ErrorContent,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ErrorContent {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    details: Vec<FieldError>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            details: Vec::new(),
        }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the event was logged",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let unauthenticated = self.status == StatusCode::UNAUTHORIZED;
        let body = ErrorBody {
            error: ErrorContent {
                code: self.code,
                message: self.message,
                field: self.field,
                details: self.details,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if unauthenticated {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"safeguard\""),
            );
        }
        response
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::Invalid(fields) => {
                let message = fields
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                Self {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    code: "invalid_report",
                    message,
                    field: fields.first().map(|f| f.field.clone()),
                    details: fields,
                }
            }
            EngineError::Denied(d) => Self::new(StatusCode::FORBIDDEN, "forbidden", d.to_string()),
            EngineError::NotFound { .. } => Self::not_found(err.to_string()),
            EngineError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            EngineError::Unauthenticated(m) => Self::unauthenticated(m),
            EngineError::Account(e) => Self::bad_request("invalid_input", e.to_string()),
            EngineError::InvalidFile(m) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_file", m)
            }
            EngineError::NoReceivingOrganisation => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_configured",
                err.to_string(),
            ),
            EngineError::PasswordHash(_) | EngineError::Store(_) => {
                // Logged once here, with the cause; the client sees no internals.
                tracing::error!(error = %err, "request failed");
                Self::internal()
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "invalid_json",
        };
        Self::new(status, code, rejection.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "body_too_large"
        } else {
            "unreadable_body"
        };
        Self::new(status, code, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request("invalid_query", rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request("invalid_path", rejection.body_text())
    }
}

/// A JSON body parsed with line and column in the error, and unknown fields named.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let mut err = ApiError::bad_request(
            "invalid_json",
            format!("the body is not a valid request: {e}"),
        );
        if e.classify() == serde_json::error::Category::Data {
            err.status = StatusCode::UNPROCESSABLE_ENTITY;
            err.code = "invalid_report";
            err.field = unknown_field(&e.to_string());
        }
        err
    })
}

fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next().map(str::to_owned)
}
