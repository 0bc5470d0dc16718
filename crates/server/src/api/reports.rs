//! `/api/v1/reports`: create (idempotent), read, list.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use safeguard_domain::account::perm;
use safeguard_domain::report::{
    IncidentType, IntakeState, NewReport, Priority, Report, ReportId, ReportSource,
};
use safeguard_engine::reports::{self as engine, Delivery};
use safeguard_store::{ReportFilter, ReportPage};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::auth::Authorized;
use crate::error::{parse_json, ApiError, ErrorBody};
use crate::state::AppState;

/// Longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// Submit a report. Send an `Idempotency-Key` header to make retries safe: the same key with the
/// same body returns the first report (200) instead of creating another.
#[utoipa::path(
    post,
    path = "/api/v1/reports",
    request_body = NewReport,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses(
        (status = 201, description = "Created", body = Report),
        (status = 200, description = "A retry: the report created by the first request", body = Report),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The role may not submit reports", body = ErrorBody),
        (status = 409, description = "Idempotency key reused with another body", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "Breaks a rule; every broken field is listed", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::SubmitReports>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the report as Content-Type: application/json",
        ));
    }
    let key = idempotency_key(&headers)?;
    let report: NewReport = parse_json(&body)?;
    let request_hash: [u8; 32] = Sha256::digest(&body).into();
    let delivery = Delivery {
        source: ReportSource::Api,
        state: IntakeState::Finished,
        original: Some(("application/json", &body)),
        idempotency: key.as_deref().map(|k| (k, request_hash)),
    };
    let (stored, created) = engine::submit_report(
        &state.store,
        &caller,
        &report,
        delivery,
        OffsetDateTime::now_utc(),
    )
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let location = format!("/api/v1/reports/{}", stored.report.id);
    let mut response = (status, Json(stored.report)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be visible ASCII",
            )
        })?
        .trim();
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters"),
        ));
    }
    Ok(Some(key.to_owned()))
}

/// Read one report (written to the audit log). Reports the caller may not see are not found.
#[utoipa::path(
    get,
    path = "/api/v1/reports/{id}",
    params(("id" = i64, Path, description = "Report id")),
    responses(
        (status = 200, body = Report),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such report, or not visible to the caller", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ReadReports>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Report>, ApiError> {
    let Path(id) = id?;
    let stored = engine::read_report(&state.store, &caller, ReportId(id)).await?;
    Ok(Json(stored.report))
}

/// Filters of the report list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub incident_type: Option<IncidentType>,
    pub state: Option<IntakeState>,
    pub priority: Option<Priority>,
    /// Only reports received at or after this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub received_from: Option<OffsetDateTime>,
    /// Only reports received before this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub received_to: Option<OffsetDateTime>,
    /// The cursor of the next page, from `next_before_id`.
    pub before_id: Option<i64>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

/// List the reports the caller may see, newest first, one page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/reports",
    params(ListQuery),
    responses((status = 200, description = "A page of summaries and the next cursor"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody))
)]
pub async fn list(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ReadReports>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ReportPage>, ApiError> {
    let Query(q) = query?;
    let mut filter = ReportFilter::visible_to(caller.principal().org);
    filter.incident_type = q.incident_type;
    filter.state = q.state;
    filter.priority = q.priority;
    filter.received_from = q.received_from;
    filter.received_to = q.received_to;
    filter.before_id = q.before_id;
    if let Some(limit) = q.limit {
        if !(1..=500).contains(&limit) {
            return Err(ApiError::bad_request(
                "invalid_query",
                "limit must be 1 to 500",
            ));
        }
        filter.limit = limit;
    }
    Ok(Json(
        engine::list_reports(&state.store, &caller, filter).await?,
    ))
}
