//! What a page answers when it cannot show what was asked: a sign-in redirect, or a plain page
//! with the status (a report the caller may not see is a 404 like a missing one).

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use safeguard_engine::EngineError;
use safeguard_store::StoreError;

/// A failure of a web page.
#[derive(Debug)]
pub enum WebError {
    /// No valid session: go to the sign-in page (then back to `next`).
    SignIn {
        next: String,
        expired: bool,
    },
    /// A signed-in session that still owes its second factor.
    TotpPending,
    /// The role may not do this.
    Forbidden(String),
    /// A POST without the right CSRF token.
    Csrf,
    NotFound,
    BadRequest(String),
    /// Too many failed attempts.
    TooMany(String),
    Internal,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            Self::SignIn { next, expired } => {
                let mut target = String::from("/login?next=");
                target.extend(form_urlencoded::byte_serialize(next.as_bytes()));
                if expired {
                    target.push_str("&expired=1");
                }
                return Redirect::to(&target).into_response();
            }
            Self::TotpPending => return Redirect::to("/login/totp").into_response(),
            Self::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form was not sent from this site's page, or the page is too old. Go back, \
                 reload the page and try again."
                    .to_owned(),
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here, or it is not visible to your organisation.".to_owned(),
            ),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, "Cannot do that", m),
            Self::TooMany(m) => (StatusCode::TOO_MANY_REQUESTS, "Please wait", m),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The error was logged. Please try again later.".to_owned(),
            ),
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message: &message,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, [(header::CONTENT_TYPE, "text/plain")], message).into_response(),
        }
    }
}

impl From<EngineError> for WebError {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::NotFound { .. } => Self::NotFound,
            EngineError::Denied(d) => Self::Forbidden(d.to_string()),
            EngineError::Invalid(fields) => Self::BadRequest(
                fields
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            EngineError::Account(e) => Self::BadRequest(e.to_string()),
            EngineError::Conflict(m) => Self::BadRequest(m),
            EngineError::Unauthenticated(_) => Self::SignIn {
                next: "/".into(),
                expired: false,
            },
            other => {
                tracing::error!(error = %other, "web request failed");
                Self::Internal
            }
        }
    }
}

impl From<StoreError> for WebError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { .. } => Self::NotFound,
            other => {
                tracing::error!(error = %other, "web request failed in storage");
                Self::Internal
            }
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(err: askama::Error) -> Self {
        tracing::error!(error = %err, "template failed");
        Self::Internal
    }
}

/// Renders a template as an HTML response.
pub(crate) fn render<T: Template>(page: &T) -> Result<Html<String>, WebError> {
    Ok(Html(page.render()?))
}
