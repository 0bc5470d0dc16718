//! The user's own settings: wellness (how media appear) and the TOTP second factor.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use safeguard_domain::audit::AuditEvent;
use safeguard_store::WellnessSettings;
use totp_rs::{Algorithm, Secret, TOTP};

use super::error::{render, WebError};
use super::pages::TopBar;
use super::session::{CsrfForm, SignedIn};
use crate::state::AppState;

/// Issuer shown in authenticator apps.
const ISSUER: &str = "Safeguard";

/// The TOTP (RFC 6238: SHA-1, 6 digits, 30 s, one step of clock skew) of a base32 secret.
pub fn totp_for(secret_base32: &str, username: &str) -> Result<TOTP, String> {
    let bytes = Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|e| format!("{e:?}"))?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        Some(ISSUER.to_owned()),
        username.replace(':', "_"),
    )
    .map_err(|e| e.to_string())
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    top: TopBar,
    blur: u8,
    greyscale: bool,
    sizes: Vec<(u16, bool)>,
    totp_enabled: bool,
    saved: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "totp_enrol.html")]
struct TotpEnrolPage {
    top: TopBar,
    secret: String,
    uri: String,
    error: Option<String>,
}

const SIZES: [u16; 4] = [96, 160, 240, 320];

async fn settings_page(
    state: &AppState,
    user: &SignedIn,
    saved: bool,
    error: Option<String>,
) -> Result<SettingsPage, WebError> {
    let w = state.store.wellness_settings(user.principal.user).await?;
    let totp_enabled = state
        .store
        .credentials(&user.principal.username)
        .await?
        .totp_secret
        .is_some();
    Ok(SettingsPage {
        top: TopBar::new(user, "settings"),
        blur: w.blur_strength,
        greyscale: w.greyscale,
        sizes: SIZES.iter().map(|&s| (s, s == w.thumbnail_px)).collect(),
        totp_enabled,
        saved,
        error,
    })
}

/// `GET /settings`.
pub async fn page(
    State(state): State<AppState>,
    user: SignedIn,
) -> Result<impl IntoResponse, WebError> {
    render(&settings_page(&state, &user, false, None).await?)
}

/// `POST /settings`: stores the wellness settings.
pub async fn save_wellness(
    State(state): State<AppState>,
    form: CsrfForm<SignedIn>,
) -> Result<Response, WebError> {
    let user = form.caller;
    let f = form.fields;
    let blur = f
        .text("blur")
        .and_then(|v| v.parse::<u8>().ok())
        .filter(|b| (1..=40).contains(b));
    let px = f
        .text("thumbnail_px")
        .and_then(|v| v.parse::<u16>().ok())
        .filter(|p| SIZES.contains(p));
    let (Some(blur), Some(px)) = (blur, px) else {
        let page = settings_page(
            &state,
            &user,
            false,
            Some("Blur must be 1 to 40 and the size one of the choices.".into()),
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    };
    let settings = WellnessSettings {
        blur_strength: blur,
        greyscale: f.get("greyscale").is_some(),
        thumbnail_px: px,
    };
    state
        .store
        .set_wellness_settings(user.principal.user, settings)
        .await?;
    Ok(render(&settings_page(&state, &user, true, None).await?)?.into_response())
}

fn enrol_page(
    user: &SignedIn,
    secret: String,
    error: Option<String>,
) -> Result<TotpEnrolPage, WebError> {
    let totp = totp_for(&secret, user.principal.username.as_str()).map_err(|e| {
        tracing::error!(error = %e, "TOTP secret rejected");
        WebError::Internal
    })?;
    Ok(TotpEnrolPage {
        top: TopBar::new(user, "settings"),
        uri: totp.get_url(),
        secret,
        error,
    })
}

/// `GET /settings/totp`: a new secret to enter in an authenticator app. Nothing is stored until
/// a code from it is confirmed.
pub async fn totp_page(user: SignedIn) -> Result<impl IntoResponse, WebError> {
    let secret = Secret::generate_secret().to_encoded().to_string();
    render(&enrol_page(&user, secret, None)?)
}

fn audit(user: &SignedIn, action: &str) -> AuditEvent {
    AuditEvent {
        actor_user: Some(user.principal.user.0),
        actor: user.principal.username.to_string(),
        action: action.into(),
        object_kind: "user".into(),
        object_id: user.principal.user.0.to_string(),
        detail: String::new(),
    }
}

/// `POST /settings/totp`: enables the second factor once a code from the secret is right.
pub async fn totp_enable(
    State(state): State<AppState>,
    form: CsrfForm<SignedIn>,
) -> Result<Response, WebError> {
    let user = form.caller;
    let secret = form.fields.text("secret").unwrap_or("").to_owned();
    let code = form.fields.text("code").unwrap_or("");
    let Ok(totp) = totp_for(&secret, user.principal.username.as_str()) else {
        return Err(WebError::BadRequest(
            "the secret is not valid base32".into(),
        ));
    };
    if !totp.check_current(code).unwrap_or(false) {
        let page = enrol_page(
            &user,
            secret,
            Some("That code is not right. Check the clock of your device.".into()),
        )?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    state
        .store
        .set_totp_secret(user.principal.user, Some(&secret))
        .await?;
    state
        .store
        .append_audit(&audit(&user, "user.totp_enable"))
        .await?;
    Ok(Redirect::to("/settings").into_response())
}

/// `POST /settings/totp/disable`: needs a current code, so a stolen session cannot remove it.
pub async fn totp_disable(
    State(state): State<AppState>,
    form: CsrfForm<SignedIn>,
) -> Result<Response, WebError> {
    let user = form.caller;
    let credentials = state.store.credentials(&user.principal.username).await?;
    let code = form.fields.text("code").unwrap_or("");
    let valid = credentials
        .totp_secret
        .as_deref()
        .and_then(|s| totp_for(s, user.principal.username.as_str()).ok())
        .is_some_and(|t| t.check_current(code).unwrap_or(false));
    if !valid {
        let page = settings_page(
            &state,
            &user,
            false,
            Some("To turn off the second factor, give a current code.".into()),
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    state
        .store
        .set_totp_secret(user.principal.user, None)
        .await?;
    state
        .store
        .append_audit(&audit(&user, "user.totp_disable"))
        .await?;
    Ok(Redirect::to("/settings").into_response())
}
