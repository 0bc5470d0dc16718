//! The stylesheet and scripts, embedded in the binary and served from `/static/`.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use super::error::WebError;

const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../static/app.css"),
    ),
    (
        "queue.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/queue.js"),
    ),
    (
        "report.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/report.js"),
    ),
    (
        "victim.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/victim.js"),
    ),
    (
        "settings.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/settings.js"),
    ),
];

/// `GET /static/{name}`.
pub async fn asset(Path(name): Path<String>) -> Result<Response, WebError> {
    let (_, media_type, body) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or(WebError::NotFound)?;
    Ok((
        [
            (CONTENT_TYPE, *media_type),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        *body,
    )
        .into_response())
}
