//! The HTTP server: the JSON API (and, as the product grows, the CyberTipline `/ispws` endpoints
//! and the web pages). Handlers stay thin: they parse, check permission through the extractors in
//! [`auth`], call the engine and map its errors in [`error`].

pub mod access;
pub mod api;
pub mod auth;
pub mod error;
pub mod ispws;
mod middleware;
pub mod public;
pub mod ratelimit;
mod state;
pub mod web;

use std::net::SocketAddr;

pub use state::{AppState, ServerConfig};

/// Every route of the application with its access rule (see [`access`]). Add a route here only
/// through [`access::Routes`], one rule per route.
pub fn routes(config: &ServerConfig) -> access::Routes {
    access::Routes::new()
        .merge(api::router(config))
        .merge(api::health_router())
        .merge(web::router())
        .merge(ispws::router(config))
}

/// The whole application as one router: the registered routes behind the guard that refuses any
/// route without a rule, and the outer layers (limits, headers, time-outs).
pub fn router(state: AppState) -> axum::Router {
    let (routes, rules) = routes(&state.config).into_parts();
    middleware::wrap(access::guarded(routes, &rules), &state.config).with_state(state)
}

/// The outer layers alone (request ids, rate limits, time-outs, panic containment, security
/// headers) around any router: tests put failing handlers behind them.
pub fn with_outer_layers(
    router: axum::Router<AppState>,
    config: &ServerConfig,
) -> axum::Router<AppState> {
    middleware::wrap(router, config)
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains open requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
