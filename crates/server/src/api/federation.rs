//! Federation: envelopes from peer instances, a report's chain of custody across instances, the
//! outbox, and identifiers shared with peers (private deconfliction).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use safeguard_domain::account::perm;
use safeguard_domain::report::ReportId;
use safeguard_federation::{Answer, FederationError};
use safeguard_store::{CustodyHop, FederatedOutcome, FederationAlert, OutboxItem};
use serde::Serialize;

use crate::auth::Authorized;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

fn federation_error(err: FederationError) -> ApiError {
    match err {
        FederationError::UnknownPeer(_)
        | FederationError::BadSignature(_)
        | FederationError::WrongCredentials(_) => {
            ApiError::new(StatusCode::FORBIDDEN, "peer_refused", err.to_string())
        }
        FederationError::Invalid(_) | FederationError::Package(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_envelope",
            err.to_string(),
        ),
        FederationError::Engine(e) => e.into(),
        FederationError::Config(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_configured",
            err.to_string(),
        ),
        FederationError::Store(safeguard_store::StoreError::NotFound { .. }) => {
            ApiError::not_found(err.to_string())
        }
        other => {
            tracing::error!(error = %other, "federation request failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the envelope could not be stored; send it again",
            )
        }
    }
}

/// Receives a signed envelope from a peer instance (a referral, a package, an acknowledgement,
/// outcomes, or a deconfliction request). The caller's token must belong to the organisation
/// standing for the peer named in `Safeguard-Peer`, and `Safeguard-Signature` must verify the
/// exact body against that peer's configured key. A re-sent delivery is answered with status
/// `duplicate` and the first answer.
#[utoipa::path(post, path = "/api/v1/federation/envelopes",
    request_body(content = String, content_type = "application/json", description = "The envelope (safeguard.federation.v1)"),
    responses((status = 200, description = "Accepted (or recognised as a re-send)"),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn receive(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::SubmitReports>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Answer>, ApiError> {
    let body = body?;
    let Some(federation) = state.federation.as_ref() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_configured",
            "this instance has no federation file",
        ));
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| {
                ApiError::bad_request("missing_header", format!("missing header {name}"))
            })
    };
    let peer = header(safeguard_federation::PEER_HEADER)?;
    let signature = header(safeguard_federation::SIGNATURE_HEADER)?;
    let received = federation
        .receive(&state.store, caller.principal(), &peer, &signature, &body)
        .await
        .map_err(federation_error)?;
    Ok(Json(received.answer))
}

/// A report's chain of custody across instances, and the outcomes peers reported for it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Custody {
    pub report_id: i64,
    pub report_uid: String,
    #[schema(value_type = Vec<Object>)]
    pub hops: Vec<CustodyHop>,
    #[schema(value_type = Vec<Object>)]
    pub outcomes: Vec<FederatedOutcome>,
}

/// The chain of custody of a report the caller may see: every hop recorded by this instance
/// and by the instances it came from or went to (received, referred, sent, delivered, arrived,
/// forwarded, packaged, acknowledged, outcome), in time order.
#[utoipa::path(get, path = "/api/v1/reports/{id}/custody", params(("id" = i64, Path)),
    responses((status = 200, body = Custody), (status = 404, body = ErrorBody)))]
pub async fn custody(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ReadReports>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Custody>, ApiError> {
    let Path(id) = id?;
    let report = ReportId(id);
    if !state
        .store
        .can_see_report(caller.principal().org, report)
        .await
        .map_err(safeguard_engine::EngineError::from)?
    {
        return Err(ApiError::not_found(format!("report {id} not found")));
    }
    let stored = state
        .store
        .report(report)
        .await
        .map_err(safeguard_engine::EngineError::from)?;
    let uid = stored.report.uid.to_string();
    let hops = state
        .store
        .custody(&uid)
        .await
        .map_err(safeguard_engine::EngineError::from)?;
    let outcomes = state
        .store
        .federated_outcomes(report)
        .await
        .map_err(safeguard_engine::EngineError::from)?;
    Ok(Json(Custody {
        report_id: id,
        report_uid: uid,
        hops,
        outcomes,
    }))
}

/// Deliveries to peers, newest first, with their attempts and last error.
#[utoipa::path(get, path = "/api/v1/federation/outbox", responses((status = 200, description = "The outbox")))]
pub async fn outbox(
    State(state): State<AppState>,
    Authorized(_caller): Authorized<perm::Administer>,
) -> Result<Json<Vec<OutboxItem>>, ApiError> {
    let mut items = state
        .store
        .outbox(false, 500)
        .await
        .map_err(safeguard_engine::EngineError::from)?;
    for item in &mut items {
        item.body = None;
    }
    Ok(Json(items))
}

/// Identifiers this instance shares with peers, found by private deconfliction.
#[utoipa::path(get, path = "/api/v1/federation/alerts", responses((status = 200, description = "Shared identifiers")))]
pub async fn alerts(
    State(state): State<AppState>,
    Authorized(_caller): Authorized<perm::ReadReports>,
) -> Result<Json<Vec<FederationAlert>>, ApiError> {
    Ok(Json(
        state
            .store
            .federation_alerts(500)
            .await
            .map_err(safeguard_engine::EngineError::from)?,
    ))
}
