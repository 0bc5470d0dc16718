//! The JSON API under `/api/v1`, and its OpenAPI document.

pub mod federation;
mod health;
pub mod jurisdiction;
pub mod known;
pub mod packages;
pub mod reports;

use axum::extract::DefaultBodyLimit;
use axum::Json;
use safeguard_domain::account::Permission;
use utoipa::OpenApi;

use crate::access::{Routes, Rule};
use crate::state::ServerConfig;

pub(crate) fn router(config: &ServerConfig) -> Routes {
    use Permission as P;
    let read = Rule::api(P::ReadReports);
    let known = Rule::api(P::ManageKnownMaterial);
    let receive = Rule::api(P::ReceivePackages);
    Routes::new()
        .get("/api/v1/reports", read, reports::list)
        .post(
            "/api/v1/reports",
            Rule::api(P::SubmitReports),
            reports::create,
        )
        .get("/api/v1/reports/{id}", read.object("report"), reports::get)
        .get("/api/v1/hash-sets", read, known::list_sets)
        .get(
            "/api/v1/hash-sets/{id}",
            read.object("hash_set"),
            known::get_set,
        )
        .get(
            "/api/v1/hash-sets/{id}/entries",
            read.object("hash_set"),
            known::list_entries,
        )
        .get("/api/v1/series", read, known::list_series)
        .post("/api/v1/series", known, known::create_series)
        .get(
            "/api/v1/series/{id}",
            read.shared("series"),
            known::get_series,
        )
        .post(
            "/api/v1/series/{id}/media",
            known.shared("series"),
            known::add_media,
        )
        .put(
            "/api/v1/series/{id}/status",
            known.shared("series"),
            known::set_status,
        )
        .post(
            "/api/v1/series/{id}/merge",
            known.shared("series"),
            known::merge,
        )
        .post(
            "/api/v1/series/{id}/split",
            known.shared("series"),
            known::split,
        )
        .post(
            "/api/v1/reports/{id}/files/{file_id}/series",
            known.object("report_file"),
            known::add_report_file,
        )
        .get(
            "/api/v1/reports/{id}/jurisdiction",
            read.object("report"),
            jurisdiction::get,
        )
        .get(
            "/api/v1/reports/{id}/cluster",
            read.object("report"),
            packages::cluster,
        )
        .get("/api/v1/alerts", read, packages::alerts)
        .get("/api/v1/inbox", receive, packages::inbox)
        .get(
            "/api/v1/packages/{id}",
            read.object("package"),
            packages::get,
        )
        .post(
            "/api/v1/packages/{id}/acknowledge",
            receive.object("package"),
            packages::acknowledge,
        )
        .post(
            "/api/v1/packages/{id}/outcomes",
            receive.object("package"),
            packages::outcomes,
        )
        .get(
            "/api/v1/reports/{id}/custody",
            read.object("report"),
            federation::custody,
        )
        .get(
            "/api/v1/federation/outbox",
            Rule::api(P::Administer),
            federation::outbox,
        )
        .get("/api/v1/federation/alerts", read, federation::alerts)
        .route(
            axum::http::Method::POST,
            "/api/v1/federation/envelopes",
            // A peer instance, by the API token of the organisation standing for it here; the
            // handler then checks the envelope's signature against that peer's configured key.
            Rule::api(P::SubmitReports),
            axum::routing::post(federation::receive)
                .layer(DefaultBodyLimit::max(safeguard_federation::MAX_ENVELOPE)),
        )
        .get(
            "/api/v1/openapi.json",
            Rule::public("the API's description, no data"),
            openapi_json,
        )
        .layer(DefaultBodyLimit::max(config.max_json_body))
}

pub(crate) fn health_router() -> Routes {
    Routes::new().get(
        "/healthz",
        Rule::public("load balancers probe it; answers ok or 503, nothing else"),
        health::healthz,
    )
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
