//! Cross-checking and dissemination: a report's cluster, deconfliction alerts, the package inbox,
//! acknowledgement and outcomes. Each answer is limited to what the caller's organisation may
//! see (the engine's `dissemination` module checks it).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use safeguard_domain::account::perm;
use safeguard_domain::report::ReportId;
use safeguard_engine::dissemination::{self, VisibleCluster};
use safeguard_store::{DeconflictionAlert, Outcome, StoredPackage};
use serde::Deserialize;

use crate::auth::Authorized;
use crate::error::{parse_json, ApiError, ErrorBody};
use crate::state::AppState;

/// The report's cluster: linked reports the caller may see, why each link exists, and how many
/// linked reports it may not see. `null` when the report is linked to nothing.
#[utoipa::path(get, path = "/api/v1/reports/{id}/cluster", params(("id" = i64, Path)),
    responses((status = 200, description = "The visible cluster, or null"), (status = 404, body = ErrorBody)))]
pub async fn cluster(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ReadReports>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Option<VisibleCluster>>, ApiError> {
    let Path(id) = id?;
    let cluster = dissemination::cluster(&state.store, &caller, ReportId(id)).await?;
    crate::auth::audit_read(
        &state,
        &caller,
        "report.cluster.read",
        "report",
        &id.to_string(),
    )
    .await?;
    Ok(Json(cluster))
}

/// Deconfliction alerts of the caller's organisation: the overlap with other organisations'
/// work, showing only its own reports.
#[utoipa::path(get, path = "/api/v1/alerts", responses((status = 200, description = "Alerts, newest first")))]
pub async fn alerts(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ReadReports>,
) -> Result<Json<Vec<DeconflictionAlert>>, ApiError> {
    Ok(Json(dissemination::alerts(&state.store, &caller).await?))
}

/// Packages sent to the caller's organisation.
#[utoipa::path(get, path = "/api/v1/inbox", responses((status = 200, description = "Packages received")))]
pub async fn inbox(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ReceivePackages>,
) -> Result<Json<Vec<StoredPackage>>, ApiError> {
    let inbox = dissemination::inbox(&state.store, &caller).await?;
    for p in &inbox {
        crate::auth::audit_read(
            &state,
            &caller,
            "package.read",
            "package",
            &p.id.to_string(),
        )
        .await?;
    }
    Ok(Json(inbox))
}

/// One package, to its sender or (once sent) its recipient.
#[utoipa::path(get, path = "/api/v1/packages/{id}", params(("id" = i64, Path)),
    responses((status = 200, description = "The package and its JSON document"), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ReadReports>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<StoredPackage>, ApiError> {
    let Path(id) = id?;
    let package = dissemination::package(&state.store, caller.principal().org, id).await?;
    crate::auth::audit_read(&state, &caller, "package.read", "package", &id.to_string()).await?;
    Ok(Json(package))
}

/// Acknowledge a received package.
#[utoipa::path(post, path = "/api/v1/packages/{id}/acknowledge", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn acknowledge(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ReceivePackages>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = id?;
    dissemination::acknowledge(&state.store, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Outcomes reported for the reports of a package.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomesRequest {
    pub outcomes: Vec<OutcomeEntry>,
}

/// What came of one report.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeEntry {
    pub report_id: i64,
    /// no_crime, investigation_opened, victim_identified, victim_safeguarded, arrest, prosecution
    #[schema(value_type = String)]
    pub outcome: Outcome,
    pub note: Option<String>,
}

/// Report outcomes for reports the package carries; they feed the statistics.
#[utoipa::path(post, path = "/api/v1/packages/{id}/outcomes", params(("id" = i64, Path)), request_body = OutcomesRequest,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn outcomes(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ReceivePackages>,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = id?;
    let request: OutcomesRequest = parse_json(&body?)?;
    if request.outcomes.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "no outcome given",
        ));
    }
    let entries: Vec<_> = request
        .outcomes
        .into_iter()
        .map(|o| (ReportId(o.report_id), o.outcome, o.note))
        .collect();
    dissemination::report_outcomes(&state.store, &caller, id, &entries).await?;
    Ok(StatusCode::NO_CONTENT)
}
