//! Who is calling, and proof of what they may do. Handlers take [`Authorized<P>`]: a route
//! without it has no caller to pass to the engine, whose use cases demand a
//! [`Granted`] of the right permission.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use safeguard_domain::account::{Granted, Principal, RequiredPermission};

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller (API token in `Authorization: Bearer`).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthenticated("send an API token as Authorization: Bearer TOKEN")
        })?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::unauthenticated("the Authorization header is not text"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::unauthenticated("the Authorization header must be Bearer TOKEN")
            })?;
        let principal = safeguard_engine::accounts::authenticate_token(&state.store, token).await?;
        Ok(Self(principal))
    }
}

/// An authenticated caller proven to hold permission `P`.
#[derive(Debug, Clone)]
pub struct Authorized<P>(pub Granted<P>);

impl<P: RequiredPermission + Send + Sync> FromRequestParts<AppState> for Authorized<P> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        let granted =
            Granted::<P>::check(principal).map_err(safeguard_engine::EngineError::from)?;
        Ok(Self(granted))
    }
}

/// Writes a read of sensitive data by `caller` to the hash-chained audit log; the answer is sent
/// only once this succeeded.
pub async fn audit_read<P: RequiredPermission>(
    state: &AppState,
    caller: &Granted<P>,
    action: &str,
    object_kind: &str,
    object_id: &str,
) -> Result<(), ApiError> {
    let principal = caller.principal();
    state
        .store
        .append_audit(&safeguard_domain::audit::AuditEvent {
            actor_user: Some(principal.user.0),
            actor: principal.username.to_string(),
            action: action.into(),
            object_kind: object_kind.into(),
            object_id: object_id.into(),
            detail: String::new(),
        })
        .await
        .map_err(|e| ApiError::from(safeguard_engine::EngineError::from(e)))?;
    Ok(())
}
