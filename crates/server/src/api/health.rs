use axum::extract::State;
use axum::http::StatusCode;

use crate::state::AppState;

/// 200 once the node can reach its database.
pub(crate) async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n"),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database not reachable\n")
        }
    }
}
