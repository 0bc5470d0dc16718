//! `GET /audit`: the auditors' page. It verifies the whole hash chain on every visit and lists
//! the entries made by users of the auditor's organisation, newest first.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use safeguard_domain::account::perm;
use serde::Deserialize;

use super::error::{render, WebError};
use super::pages::TopBar;
use super::session::WebCaller;
use crate::state::AppState;

const PAGE: i64 = 100;

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

struct Row {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    object: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    top: TopBar,
    intact: bool,
    entries: i64,
    head_seq: i64,
    head_hash: String,
    broken: String,
    rows: Vec<Row>,
    older: Option<i64>,
}

/// `GET /audit`.
pub async fn page(
    State(state): State<AppState>,
    caller: WebCaller<perm::ReadAudit>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    let check = state.store.verify_audit().await?;
    let before = q.before.unwrap_or(i64::MAX);
    let entries = state
        .store
        .audit_page_for_org(caller.user.principal.org, before, PAGE)
        .await?;
    let older = (entries.len() as i64 == PAGE)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    let rows = entries
        .into_iter()
        .map(|e| Row {
            seq: e.seq,
            at: time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(e.at_micros) * 1_000)
                .map_or_else(|_| e.at_micros.to_string(), |t| t.to_string()),
            actor: e.event.actor,
            action: e.event.action,
            object: format!("{} {}", e.event.object_kind, e.event.object_id),
            detail: e.event.detail,
        })
        .collect();
    let page = AuditPage {
        top: TopBar::new(&caller.user, "audit"),
        intact: check.broken.is_none(),
        entries: check.entries,
        head_seq: check.head.seq,
        head_hash: hex::encode(check.head.hash),
        broken: check.broken.map(|b| b.to_string()).unwrap_or_default(),
        rows,
        older,
    };
    Ok(render(&page)?.into_response())
}
