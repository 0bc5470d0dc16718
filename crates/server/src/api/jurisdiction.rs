//! `/api/v1/reports/{id}/jurisdiction`: the candidate jurisdictions of a report with their
//! evidence, its priority with every rule that fired, and its referrals.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use safeguard_domain::account::perm;
use safeguard_domain::jurisdiction::{Candidate, Unplaced};
use safeguard_domain::priority::FiredRule;
use safeguard_domain::report::{Priority, ReportId};
use safeguard_domain::routing::{RoutedCountry, Skipped};
use safeguard_engine::routing as engine;
use serde::Serialize;
use time::OffsetDateTime;

use crate::auth::Authorized;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// A referral of the report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReferralView {
    pub id: i64,
    pub from_org: i64,
    pub to_org: i64,
    /// The intermediary it came through (a forwarded referral).
    pub via_org: Option<i64>,
    /// `pending`, or `forwarded` once an intermediary passed it on.
    pub status: String,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub due_at: Option<OffsetDateTime>,
    /// The countries it carries and the path of each, first hop first.
    pub route: Vec<RoutedCountry>,
}

/// Jurisdiction, priority and referrals of one report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JurisdictionView {
    pub report_id: i64,
    /// False until the routing worker has processed the report.
    pub routed: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub routed_at: Option<OffsetDateTime>,
    /// Candidate countries, best first.
    pub candidates: Vec<Candidate>,
    /// Signals that gave no country (reserved addresses, unplaceable numbers).
    pub unplaced: Vec<Unplaced>,
    pub priority: Option<Priority>,
    pub score: Option<u32>,
    /// Every priority rule that fired, with its weight and the facts it fired on.
    pub fired_rules: Vec<FiredRule>,
    /// Countries considered but not routed, and why.
    pub skipped: Vec<Skipped>,
    pub referrals: Vec<ReferralView>,
}

/// Read a report's candidate jurisdictions, priority explanation and referrals (written to the
/// audit log). Reports the caller may not see are not found.
#[utoipa::path(
    get,
    path = "/api/v1/reports/{id}/jurisdiction",
    params(("id" = i64, Path, description = "Report id")),
    responses(
        (status = 200, body = JurisdictionView),
        (status = 401, body = ErrorBody),
        (status = 403, description = "The role may not read reports", body = ErrorBody),
        (status = 404, description = "No such report, or not visible to the caller", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ReadReports>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<JurisdictionView>, ApiError> {
    let Path(id) = id?;
    let routing = engine::read_routing(&state.store, &caller, ReportId(id)).await?;
    crate::auth::audit_read(
        &state,
        &caller,
        "report.routing.read",
        "report",
        &id.to_string(),
    )
    .await?;
    let view = match routing {
        None => JurisdictionView {
            report_id: id,
            routed: false,
            routed_at: None,
            candidates: vec![],
            unplaced: vec![],
            priority: None,
            score: None,
            fired_rules: vec![],
            skipped: vec![],
            referrals: vec![],
        },
        Some(r) => JurisdictionView {
            report_id: id,
            routed: true,
            routed_at: Some(r.routed_at),
            candidates: r.candidates,
            unplaced: r.unplaced,
            priority: r.priority,
            score: Some(r.score),
            fired_rules: r.fired,
            skipped: r.skipped,
            referrals: r
                .referrals
                .into_iter()
                .map(|f| ReferralView {
                    id: f.id,
                    from_org: f.from_org.0,
                    to_org: f.to_org.0,
                    via_org: f.via_org.map(|o| o.0),
                    status: f.status,
                    reason: f.reason,
                    created_at: f.created_at,
                    due_at: f.due_at,
                    route: f.route,
                })
                .collect(),
        },
    };
    Ok(Json(view))
}
