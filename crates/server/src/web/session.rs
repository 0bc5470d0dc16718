//! Web sessions: a random token in an `HttpOnly; SameSite=Strict` cookie, its SHA-256 and a
//! per-session CSRF token stored server-side, idle and absolute expiry, and the extractors pages
//! use: [`SignedIn`] (any signed-in user), [`WebCaller<P>`] (proven to hold permission `P`,
//! mirroring [`crate::auth::Authorized`]) and [`CsrfForm`] (a POST body whose CSRF token matches).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{COOKIE, HOST, ORIGIN};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use rand::RngCore;
use safeguard_domain::account::{Granted, Principal, RequiredPermission};
use safeguard_store::WebSession;
use sha2::{Digest, Sha256};

use super::error::WebError;
use super::form::{same_secret, FormFields};
use crate::state::{AppState, ServerConfig};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "sg_session";
/// Name of the cookie that carries the sign-in form's CSRF token (before any session exists).
pub const LOGIN_COOKIE: &str = "sg_login";
/// Largest form body accepted.
const MAX_FORM_BODY: usize = 64 * 1024;
/// Activity is written at most this often per session (microseconds), to spare the writer.
const TOUCH_EVERY_MICROS: i64 = 30_000_000;

/// A fresh random token (256 bits, hex).
pub fn random_token() -> String {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    hex::encode(raw)
}

/// The stored form of a session token.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value for `name`; `value: None` deletes the cookie.
pub fn set_cookie(config: &ServerConfig, name: &str, value: Option<&str>) -> String {
    let secure = if config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    match value {
        Some(v) => format!("{name}={v}; Path=/; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

fn now_micros() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000) as i64
}

fn micros(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Whether a session is past its idle or absolute limit at `now`.
pub fn expired(session: &WebSession, config: &ServerConfig, now: i64) -> bool {
    session.ended
        || now >= session.expires_at
        || now.saturating_sub(session.last_seen_at) >= micros(config.session_idle)
}

/// The session of the request's cookie, if it is live. Expired sessions are ended on the way.
/// Returns `Err(expired)` when there is none: `true` when there was one that ran out.
pub async fn live_session(parts: &Parts, state: &AppState) -> Result<WebSession, bool> {
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Err(false);
    };
    let session = match state.store.session_by_token(&token_digest(token)).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(false),
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            return Err(false);
        }
    };
    let now = now_micros();
    if expired(&session, &state.config, now) {
        if !session.ended {
            if let Err(e) = state.store.end_session(session.id).await {
                tracing::error!(error = %e, "ending an expired session failed");
            }
        }
        return Err(true);
    }
    Ok(session)
}

/// Opens a session for a user who gave a right password. Returns the cookie token.
pub async fn open_session(
    state: &AppState,
    principal: &Principal,
    totp_pending: bool,
) -> Result<String, WebError> {
    let token = random_token();
    let expires_at = now_micros().saturating_add(micros(state.config.session_absolute));
    state
        .store
        .create_session(
            &token_digest(&token),
            principal.user,
            &random_token(),
            totp_pending,
            expires_at,
        )
        .await?;
    Ok(token)
}

/// A signed-in user (second factor given, session live), whatever their role.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub principal: Principal,
    pub session: WebSession,
    pub org_name: String,
}

fn target_of(parts: &Parts) -> String {
    if parts.method == Method::GET {
        parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned())
    } else {
        "/".to_owned()
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = live_session(parts, state)
            .await
            .map_err(|expired| WebError::SignIn {
                next: target_of(parts),
                expired,
            })?;
        if session.totp_pending {
            return Err(WebError::TotpPending);
        }
        let Some(principal) = state.store.principal(session.user).await? else {
            // The account was disabled since sign-in.
            state.store.end_session(session.id).await?;
            return Err(WebError::SignIn {
                next: target_of(parts),
                expired: true,
            });
        };
        if now_micros().saturating_sub(session.last_seen_at) > TOUCH_EVERY_MICROS {
            state.store.touch_session(session.id).await?;
        }
        let org_name = state.store.org(principal.org).await?.name.to_string();
        Ok(Self {
            principal,
            session,
            org_name,
        })
    }
}

/// A signed-in user proven to hold permission `P`.
#[derive(Debug, Clone)]
pub struct WebCaller<P> {
    pub granted: Granted<P>,
    pub user: SignedIn,
}

impl<P: RequiredPermission + Send + Sync> FromRequestParts<AppState> for WebCaller<P> {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = SignedIn::from_request_parts(parts, state).await?;
        let granted = Granted::<P>::check(user.principal.clone())
            .map_err(|d| WebError::Forbidden(d.to_string()))?;
        Ok(Self { granted, user })
    }
}

/// Something that carries a live session (so its CSRF token can be checked).
pub trait HasSession {
    fn session(&self) -> &WebSession;
}

impl HasSession for SignedIn {
    fn session(&self) -> &WebSession {
        &self.session
    }
}

impl<P> HasSession for WebCaller<P> {
    fn session(&self) -> &WebSession {
        &self.user.session
    }
}

/// A POST from one of this site's forms: the caller `T` and the form's fields, whose `csrf`
/// field matched the session's token (otherwise 403). A request whose `Origin` names another
/// site is refused too.
#[derive(Debug)]
pub struct CsrfForm<T> {
    pub caller: T,
    pub fields: FormFields,
}

/// Refuses a request whose `Origin` header names another host than the one it was sent to.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    // Browsers send `Origin: null` for same-site form posts under `Referrer-Policy: no-referrer`:
    // that says nothing either way, so the CSRF token alone decides (the cookie is SameSite=Strict
    // besides).
    if origin == "null" {
        return true;
    }
    let Some(host) = headers.get(HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let origin_host = origin
        .split_once("://")
        .map_or(origin, |(_, rest)| rest)
        .trim_end_matches('/');
    origin_host.eq_ignore_ascii_case(host)
}

impl<T> FromRequest<AppState> for CsrfForm<T>
where
    T: FromRequestParts<AppState, Rejection = WebError> + HasSession + Send,
{
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let caller = T::from_request_parts(&mut parts, state).await?;
        if !same_origin(&parts.headers) {
            return Err(WebError::Csrf);
        }
        let req = Request::from_parts(parts, body);
        let bytes = axum::body::to_bytes(req.into_body(), MAX_FORM_BODY)
            .await
            .map_err(|_| WebError::BadRequest("the form is too large".into()))?;
        let fields = FormFields::parse(&bytes);
        let sent = fields.get("csrf").unwrap_or("");
        if !same_secret(sent, &caller.session().csrf_token) {
            return Err(WebError::Csrf);
        }
        Ok(Self { caller, fields })
    }
}

/// A form body without a session (the sign-in form checks its own token).
pub async fn read_form(req: Request) -> Result<(Parts, FormFields), WebError> {
    let (parts, body) = req.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, MAX_FORM_BODY)
        .await
        .map_err(|_| WebError::BadRequest("the form is too large".into()))?;
    Ok((parts, FormFields::parse(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("a=1; sg_session=abc ; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn cross_origin_requests_are_recognised() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert(ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert(ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
        h.insert(ORIGIN, HeaderValue::from_static("null"));
        assert!(same_origin(&h), "no information: the token decides");
    }

    #[test]
    fn cookie_is_secure_only_when_configured() {
        let mut config = ServerConfig::default();
        assert!(set_cookie(&config, "x", Some("v")).ends_with("; Secure"));
        config.secure_cookies = false;
        let c = set_cookie(&config, "x", Some("v"));
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure;"));
        assert!(!c.ends_with("Secure"));
    }
}
