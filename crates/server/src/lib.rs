//! The HTTP server: the JSON API (and, as the product grows, the CyberTipline `/ispws` endpoints
//! and the web pages). Handlers stay thin: they parse, check permission through the extractors in
//! [`auth`], call the engine and map its errors in [`error`].

pub mod api;
pub mod auth;
pub mod error;
pub mod ispws;
mod middleware;
pub mod public;
mod state;
pub mod web;

use std::net::SocketAddr;

pub use state::{AppState, ServerConfig};

/// The whole application as one router.
pub fn router(state: AppState) -> axum::Router {
    let api = api::router(&state.config);
    middleware::wrap(
        axum::Router::new()
            .merge(api)
            .merge(api::health_router())
            .merge(web::router())
            .merge(ispws::router(&state.config)),
        &state.config,
    )
    .with_state(state)
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
