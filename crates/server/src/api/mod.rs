//! The JSON API under `/api/v1`, and its OpenAPI document.

pub mod federation;
mod health;
pub mod jurisdiction;
pub mod known;
pub mod packages;
pub mod reports;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::state::{AppState, ServerConfig};

pub(crate) fn router(config: &ServerConfig) -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports", get(reports::list).post(reports::create))
        .route("/api/v1/reports/{id}", get(reports::get))
        .route("/api/v1/hash-sets", get(known::list_sets))
        .route("/api/v1/hash-sets/{id}", get(known::get_set))
        .route("/api/v1/hash-sets/{id}/entries", get(known::list_entries))
        .route(
            "/api/v1/series",
            get(known::list_series).post(known::create_series),
        )
        .route("/api/v1/series/{id}", get(known::get_series))
        .route("/api/v1/series/{id}/media", post(known::add_media))
        .route("/api/v1/series/{id}/status", put(known::set_status))
        .route("/api/v1/series/{id}/merge", post(known::merge))
        .route("/api/v1/series/{id}/split", post(known::split))
        .route(
            "/api/v1/reports/{id}/files/{file_id}/series",
            post(known::add_report_file),
        )
        .route("/api/v1/reports/{id}/jurisdiction", get(jurisdiction::get))
        .route("/api/v1/reports/{id}/cluster", get(packages::cluster))
        .route("/api/v1/alerts", get(packages::alerts))
        .route("/api/v1/inbox", get(packages::inbox))
        .route("/api/v1/packages/{id}", get(packages::get))
        .route(
            "/api/v1/packages/{id}/acknowledge",
            post(packages::acknowledge),
        )
        .route("/api/v1/packages/{id}/outcomes", post(packages::outcomes))
        .route("/api/v1/reports/{id}/custody", get(federation::custody))
        .route("/api/v1/federation/outbox", get(federation::outbox))
        .route("/api/v1/federation/alerts", get(federation::alerts))
        .route(
            "/api/v1/federation/envelopes",
            post(federation::receive)
                .layer(DefaultBodyLimit::max(safeguard_federation::MAX_ENVELOPE)),
        )
        .route("/api/v1/openapi.json", get(openapi_json))
        .layer(DefaultBodyLimit::max(config.max_json_body))
}

pub(crate) fn health_router() -> Router<AppState> {
    Router::new().route("/healthz", get(health::healthz))
}

/// The OpenAPI document of the JSON API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Safeguard API", description = "Cross-border handling of online child sexual exploitation reports."),
    paths(
        reports::create,
        reports::get,
        reports::list,
        known::list_sets,
        known::get_set,
        known::list_entries,
        known::list_series,
        known::get_series,
        known::create_series,
        known::add_media,
        known::set_status,
        known::merge,
        known::split,
        known::add_report_file,
        jurisdiction::get,
        packages::cluster,
        packages::alerts,
        packages::inbox,
        packages::get,
        packages::acknowledge,
        packages::outcomes,
        federation::receive,
        federation::custody,
        federation::outbox,
        federation::alerts,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
