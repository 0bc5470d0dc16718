//! Sign-in with username and password, the optional TOTP second factor, and sign-out.

use askama::Template;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use safeguard_domain::account::Username;
use safeguard_domain::audit::AuditEvent;
use serde::Deserialize;

use super::account::totp_for;
use super::error::{render, WebError};
use super::form::same_secret;
use super::session::{
    cookie, live_session, open_session, random_token, read_form, set_cookie, CsrfForm, SignedIn,
    LOGIN_COOKIE, SESSION_COOKIE,
};
use crate::state::AppState;

/// Failed sign-ins of one username within [`FAILURE_WINDOW_MICROS`] before sign-in is refused
/// for it (persistent, so it holds across restarts and nodes; each failure is audited).
const MAX_FAILURES: i64 = 10;
/// Wrong second-factor codes of one user within the same window before its session is ended.
const MAX_TOTP_FAILURES: i64 = 5;
const FAILURE_WINDOW_MICROS: i64 = 15 * 60 * 1_000_000;

fn now_micros() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000) as i64
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    username: String,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "totp.html")]
struct TotpPage {
    csrf: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

/// Only same-site paths are followed after sign-in (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn login_response(
    state: &AppState,
    status: StatusCode,
    next: String,
    username: String,
    error: Option<String>,
    notice: Option<String>,
) -> Result<Response, WebError> {
    let csrf = random_token();
    let page = LoginPage {
        csrf: csrf.clone(),
        next,
        username,
        error,
        notice,
    };
    Ok((
        status,
        [(
            SET_COOKIE,
            set_cookie(&state.config, LOGIN_COOKIE, Some(&csrf)),
        )],
        render(&page)?,
    )
        .into_response())
}

/// `GET /login`.
pub async fn login_page(
    State(state): State<AppState>,
    Query(q): Query<LoginQuery>,
    signed_in: Result<SignedIn, WebError>,
) -> Result<Response, WebError> {
    let next = safe_next(q.next.as_deref());
    if signed_in.is_ok() {
        return Ok(Redirect::to(&next).into_response());
    }
    let notice = q
        .expired
        .is_some()
        .then(|| "Your session ended. Please sign in again.".to_owned());
    login_response(&state, StatusCode::OK, next, String::new(), None, notice)
}

/// `POST /login`: checks the form's token against its cookie, then the password.
pub async fn login(State(state): State<AppState>, req: Request) -> Result<Response, WebError> {
    let (parts, fields) = read_form(req).await?;
    let expected = cookie(&parts.headers, LOGIN_COOKIE).unwrap_or("");
    let sent = fields.get("csrf").unwrap_or("");
    if expected.is_empty() || !same_secret(expected, sent) {
        return Err(WebError::Csrf);
    }
    let username = fields.text("username").unwrap_or("").to_owned();
    let password = fields.get("password").unwrap_or("");
    let next = safe_next(fields.get("next"));
    let login_key: String = username.to_lowercase().chars().take(64).collect();
    let window_start = now_micros().saturating_sub(FAILURE_WINDOW_MICROS);
    let recent_failures = state
        .store
        .count_recent_audit("login", &login_key, "web.sign_in_failed", window_start)
        .await?;
    if recent_failures >= MAX_FAILURES {
        return login_response(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            next,
            username,
            Some("Too many failed sign-ins for this account. Try again in 15 minutes.".into()),
            None,
        );
    }
    let principal =
        match safeguard_engine::accounts::authenticate_password(&state.store, &username, password)
            .await
        {
            Ok(p) => p,
            Err(safeguard_engine::EngineError::Unauthenticated(_)) => {
                state
                    .store
                    .append_audit(&AuditEvent {
                        actor_user: None,
                        actor: "anonymous".into(),
                        action: "web.sign_in_failed".into(),
                        object_kind: "login".into(),
                        object_id: login_key,
                        detail: String::new(),
                    })
                    .await?;
                return login_response(
                    &state,
                    StatusCode::UNAUTHORIZED,
                    next,
                    username,
                    Some("Wrong username or password.".into()),
                    None,
                );
            }
            Err(e) => return Err(e.into()),
        };
    let parsed = Username::parse(&username).map_err(|_| WebError::Internal)?;
    let needs_totp = state
        .store
        .credentials(&parsed)
        .await?
        .totp_secret
        .is_some();
    let token = open_session(&state, &principal, needs_totp).await?;
    state
        .store
        .append_audit(&AuditEvent {
            actor_user: Some(principal.user.0),
            actor: principal.username.to_string(),
            action: "web.sign_in".into(),
            object_kind: "user".into(),
            object_id: principal.user.0.to_string(),
            detail: if needs_totp {
                "password accepted; second factor due".into()
            } else {
                "password accepted".into()
            },
        })
        .await?;
    let target = if needs_totp {
        format!(
            "/login/totp?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        )
    } else {
        next
    };
    let mut response = Redirect::to(&target).into_response();
    let headers = response.headers_mut();
    for value in [
        set_cookie(&state.config, SESSION_COOKIE, Some(&token)),
        set_cookie(&state.config, LOGIN_COOKIE, None),
    ] {
        if let Ok(v) = value.parse() {
            headers.append(SET_COOKIE, v);
        }
    }
    Ok(response)
}

/// `GET /login/totp`: the second-factor form of a session that still owes it.
pub async fn totp_page(State(state): State<AppState>, req: Request) -> Result<Response, WebError> {
    let (mut parts, _) = req.into_parts();
    let session = live_session(&parts, &state)
        .await
        .map_err(|expired| WebError::SignIn {
            next: "/".into(),
            expired,
        })?;
    if !session.totp_pending {
        let _ = SignedIn::from_request_parts(&mut parts, &state).await?;
        return Ok(Redirect::to("/").into_response());
    }
    Ok(render(&TotpPage {
        csrf: session.csrf_token,
        error: None,
    })?
    .into_response())
}

/// `POST /login/totp`: checks the code; the session opens pages from then on.
pub async fn totp(State(state): State<AppState>, req: Request) -> Result<Response, WebError> {
    let (parts, fields) = read_form(req).await?;
    let session = live_session(&parts, &state)
        .await
        .map_err(|expired| WebError::SignIn {
            next: "/".into(),
            expired,
        })?;
    if !same_secret(fields.get("csrf").unwrap_or(""), &session.csrf_token) {
        return Err(WebError::Csrf);
    }
    if !session.totp_pending {
        return Ok(Redirect::to("/").into_response());
    }
    let principal = state
        .store
        .principal(session.user)
        .await?
        .ok_or(WebError::SignIn {
            next: "/".into(),
            expired: true,
        })?;
    let user_key = principal.user.0.to_string();
    let window_start = now_micros().saturating_sub(FAILURE_WINDOW_MICROS);
    let recent_failures = state
        .store
        .count_recent_audit("user", &user_key, "web.totp_failed", window_start)
        .await?;
    if recent_failures >= MAX_TOTP_FAILURES {
        // Guessing codes: this session is over; a new one needs the password again.
        state.store.end_session(session.id).await?;
        return Err(WebError::TooMany(
            "Too many wrong codes. Sign in again in 15 minutes.".into(),
        ));
    }
    let credentials = state.store.credentials(&principal.username).await?;
    let code = fields.text("code").unwrap_or("");
    let valid = credentials
        .totp_secret
        .as_deref()
        .and_then(|s| totp_for(s, principal.username.as_str()).ok())
        .is_some_and(|t| t.check_current(code).unwrap_or(false));
    if !valid {
        state
            .store
            .append_audit(&AuditEvent {
                actor_user: Some(principal.user.0),
                actor: principal.username.to_string(),
                action: "web.totp_failed".into(),
                object_kind: "user".into(),
                object_id: user_key,
                detail: String::new(),
            })
            .await?;
        return Ok((
            StatusCode::UNAUTHORIZED,
            render(&TotpPage {
                csrf: session.csrf_token,
                error: Some("That code is not right. Codes change every 30 seconds.".into()),
            })?,
        )
            .into_response());
    }
    state.store.complete_session_totp(session.id).await?;
    Ok(Redirect::to("/").into_response())
}

/// `POST /logout`: ends the session server-side and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    form: CsrfForm<SignedIn>,
) -> Result<Response, WebError> {
    let user = form.caller;
    state.store.end_session(user.session.id).await?;
    state
        .store
        .append_audit(&AuditEvent {
            actor_user: Some(user.principal.user.0),
            actor: user.principal.username.to_string(),
            action: "web.sign_out".into(),
            object_kind: "user".into(),
            object_id: user.principal.user.0.to_string(),
            detail: String::new(),
        })
        .await?;
    let mut response = Redirect::to("/login").into_response();
    if let Ok(v) = set_cookie(&state.config, SESSION_COOKIE, None).parse() {
        response.headers_mut().append(SET_COOKIE, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/queue?x=1")), "/queue?x=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
