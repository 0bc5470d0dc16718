//! `/queue`: the triage queue — priority then age, filters, saved views, keyboard navigation
//! (`static/queue.js`) and bulk actions.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use safeguard_domain::account::{perm, OrgId, UserId};
use safeguard_domain::report::{IncidentType, IntakeState, Priority, ReportId};
use safeguard_store::{BulkChange, PriorityFilter, QueueCursor, QueueFilter};
use serde::Deserialize;
use time::{Date, OffsetDateTime, Time};

use super::error::{render, WebError};
use super::pages::TopBar;
use super::session::{CsrfForm, WebCaller};
use crate::state::AppState;

/// Reports per queue page.
const PAGE_SIZE: u32 = 50;

/// The queue's URL parameters (all optional; empty means "any").
#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    #[serde(rename = "type")]
    incident_type: Option<String>,
    state: Option<String>,
    priority: Option<String>,
    reporter: Option<String>,
    from: Option<String>,
    to: Option<String>,
    after: Option<String>,
    done: Option<String>,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A `YYYY-MM-DD` date as the start of that day in UTC.
pub(crate) fn parse_day(text: &str) -> Result<OffsetDateTime, WebError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format)
        .map(|d| d.with_time(Time::MIDNIGHT).assume_utc())
        .map_err(|_| WebError::BadRequest(format!("{text:?} is not a date (YYYY-MM-DD)")))
}

fn parse_cursor(text: &str) -> Result<QueueCursor, WebError> {
    let bad = || WebError::BadRequest("the page cursor is malformed".into());
    let mut parts = text.split('.');
    let mut next =
        || -> Result<i64, WebError> { parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad) };
    Ok(QueueCursor {
        rank: next()?,
        received_micros: next()?,
        id: next()?,
    })
}

impl QueueQuery {
    fn filter(&self, org: OrgId) -> Result<QueueFilter, WebError> {
        let mut f = QueueFilter::visible_to(org);
        f.limit = PAGE_SIZE;
        if let Some(t) = present(&self.incident_type) {
            f.incident_type = Some(
                IncidentType::parse(t)
                    .ok_or_else(|| WebError::BadRequest(format!("unknown incident type {t:?}")))?,
            );
        }
        if let Some(s) = present(&self.state) {
            f.state = Some(
                IntakeState::parse(s)
                    .ok_or_else(|| WebError::BadRequest(format!("unknown state {s:?}")))?,
            );
        }
        if let Some(p) = present(&self.priority) {
            f.priority = Some(if p == "none" {
                PriorityFilter::Unset
            } else {
                PriorityFilter::Is(
                    Priority::parse(p)
                        .ok_or_else(|| WebError::BadRequest(format!("unknown priority {p:?}")))?,
                )
            });
        }
        if let Some(r) = present(&self.reporter) {
            f.reporter_org =
                Some(OrgId(r.parse().map_err(|_| {
                    WebError::BadRequest(format!("unknown organisation {r:?}"))
                })?));
        }
        if let Some(d) = present(&self.from) {
            f.received_from = Some(parse_day(d)?);
        }
        if let Some(d) = present(&self.to) {
            f.received_to = Some(parse_day(d)? + time::Duration::days(1));
        }
        if let Some(c) = present(&self.after) {
            f.after = Some(parse_cursor(c)?);
        }
        Ok(f)
    }

    /// The filter part of the query string (no cursor), for links and saved views.
    fn filter_query(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("type", &self.incident_type),
            ("state", &self.state),
            ("priority", &self.priority),
            ("reporter", &self.reporter),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = present(v) {
                out.append_pair(k, v);
            }
        }
        out.finish()
    }
}

/// One `<option>`.
pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices(
    items: impl IntoIterator<Item = (String, String)>,
    current: Option<&str>,
) -> Vec<Choice> {
    items
        .into_iter()
        .map(|(value, label)| Choice {
            selected: current == Some(value.as_str()),
            value,
            label,
        })
        .collect()
}

struct Row {
    id: i64,
    priority: String,
    priority_class: &'static str,
    incident: String,
    received: String,
    age: String,
    reporter: String,
    assignee: String,
    files: i64,
    state: String,
}

struct ViewLink {
    id: i64,
    name: String,
    href: String,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    top: TopBar,
    rows: Vec<Row>,
    types: Vec<Choice>,
    states: Vec<Choice>,
    priorities: Vec<Choice>,
    reporters: Vec<Choice>,
    from: String,
    to: String,
    filter_query: String,
    next_href: Option<String>,
    first_href: Option<String>,
    views: Vec<ViewLink>,
    users: Vec<Choice>,
    can_write: bool,
    done: Option<String>,
}

/// An incident type's name without its parenthesised explanation, for tables and charts.
pub(crate) fn short_type(t: IncidentType) -> String {
    let wire = t.wire();
    wire.split(" (").next().unwrap_or(wire).to_owned()
}

pub(crate) fn priority_label(p: Option<Priority>) -> (String, &'static str) {
    match p {
        Some(Priority::P1) => ("P1".into(), "prio prio-1"),
        Some(Priority::P2) => ("P2".into(), "prio prio-2"),
        Some(Priority::P3) => ("P3".into(), "prio prio-3"),
        Some(Priority::Informational) => ("Info".into(), "prio prio-info"),
        None => ("—".into(), "prio prio-none"),
    }
}

pub(crate) fn when(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

fn age(t: OffsetDateTime, now: OffsetDateTime) -> String {
    let d = now - t;
    if d.whole_days() >= 1 {
        format!("{} d", d.whole_days())
    } else if d.whole_hours() >= 1 {
        format!("{} h", d.whole_hours())
    } else {
        format!("{} min", d.whole_minutes().max(0))
    }
}

/// `GET /queue`.
pub async fn page(
    State(state): State<AppState>,
    caller: WebCaller<perm::ReadReports>,
    Query(q): Query<QueueQuery>,
) -> Result<Response, WebError> {
    let principal = caller.user.principal.clone();
    let filter = q.filter(principal.org)?;
    let queue = safeguard_engine::triage::queue(&state.store, &caller.granted, filter).await?;
    let now = OffsetDateTime::now_utc();
    let rows = queue
        .items
        .iter()
        .map(|item| {
            let s = &item.summary;
            let (priority, priority_class) = priority_label(s.priority);
            Row {
                id: s.id.0,
                priority,
                priority_class,
                incident: short_type(s.incident_type),
                received: when(s.received_at),
                age: age(s.received_at, now),
                reporter: item.reporter_org_name.clone(),
                assignee: item.assigned_to.clone().unwrap_or_default(),
                files: item.files,
                state: s.state.code().to_owned(),
            }
        })
        .collect();
    let filter_query = q.filter_query();
    let with = |extra: String| {
        if filter_query.is_empty() {
            format!("/queue?{extra}")
        } else {
            format!("/queue?{filter_query}&{extra}")
        }
    };
    let next_href = queue
        .next
        .map(|c| with(format!("after={}.{}.{}", c.rank, c.received_micros, c.id)));
    let first_href = present(&q.after).map(|_| {
        if filter_query.is_empty() {
            "/queue".to_owned()
        } else {
            format!("/queue?{filter_query}")
        }
    });
    let orgs = state.store.list_orgs().await?;
    let users = state.store.org_users(principal.org).await?;
    let views = state
        .store
        .saved_views(principal.user)
        .await?
        .into_iter()
        .map(|v| ViewLink {
            href: format!("/queue?{}", v.query),
            id: v.id,
            name: v.name,
        })
        .collect();
    let page = QueuePage {
        top: TopBar::new(&caller.user, "queue"),
        rows,
        types: choices(
            IncidentType::ALL
                .iter()
                .map(|t| (t.code().to_owned(), short_type(*t))),
            present(&q.incident_type),
        ),
        states: choices(
            IntakeState::ALL
                .iter()
                .map(|s| (s.code().to_owned(), s.code().to_owned())),
            present(&q.state),
        ),
        priorities: choices(
            [
                ("p1", "P1"),
                ("p2", "P2"),
                ("p3", "P3"),
                ("none", "Not set"),
                ("informational", "Informational"),
            ]
            .map(|(v, l)| (v.to_owned(), l.to_owned())),
            present(&q.priority),
        ),
        reporters: choices(
            orgs.iter()
                .map(|o| (o.id.0.to_string(), o.name.to_string())),
            present(&q.reporter),
        ),
        from: present(&q.from).unwrap_or("").to_owned(),
        to: present(&q.to).unwrap_or("").to_owned(),
        filter_query,
        next_href,
        first_href,
        views,
        users: choices(
            users
                .into_iter()
                .filter(|(id, _)| *id != principal.user)
                .map(|(id, name)| (id.0.to_string(), name)),
            None,
        ),
        can_write: principal.can(safeguard_domain::account::Permission::WriteReports),
        done: present(&q.done).map(str::to_owned),
    };
    Ok(render(&page)?.into_response())
}

/// Where to go back to after a form: a queue or report path sent by the page, else the queue.
fn back_to(target: Option<&str>) -> String {
    match target {
        Some(t)
            if (t.starts_with("/queue") || t.starts_with("/reports/"))
                && !t.contains("//")
                && !t.contains('\\') =>
        {
            t.to_owned()
        }
        _ => "/queue".to_owned(),
    }
}

/// `POST /queue/bulk`: assign, set priority or mark informational the ticked reports.
pub async fn bulk(
    State(state): State<AppState>,
    form: CsrfForm<WebCaller<perm::WriteReports>>,
) -> Result<Response, WebError> {
    let caller = form.caller;
    let f = form.fields;
    let ids = f
        .all("id")
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map(ReportId)
                .map_err(|_| WebError::BadRequest(format!("{v:?} is not a report number")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Err(WebError::BadRequest("tick at least one report".into()));
    }
    let change = match f.text("action") {
        Some("assign_me") => BulkChange::Assign(Some(caller.user.principal.user)),
        Some("unassign") => BulkChange::Assign(None),
        Some("assign") => {
            let user = f
                .text("assignee")
                .and_then(|v| v.parse::<i64>().ok())
                .ok_or_else(|| WebError::BadRequest("choose whom to assign to".into()))?;
            BulkChange::Assign(Some(UserId(user)))
        }
        Some("priority") => {
            let p = f
                .text("priority")
                .and_then(Priority::parse)
                .ok_or_else(|| WebError::BadRequest("choose a priority".into()))?;
            BulkChange::SetPriority(p)
        }
        Some("informational") => BulkChange::SetPriority(Priority::Informational),
        _ => return Err(WebError::BadRequest("choose an action".into())),
    };
    let changed =
        safeguard_engine::triage::bulk_change(&state.store, &caller.granted, &ids, change).await?;
    let back = back_to(f.get("back"));
    let sep = if back.contains('?') { '&' } else { '?' };
    let target = if back.starts_with("/queue") {
        format!("{back}{sep}done={}", changed.len())
    } else {
        back
    };
    Ok(Redirect::to(&target).into_response())
}

/// `POST /queue/views`: saves the current filters under a name.
pub async fn save_view(
    State(state): State<AppState>,
    form: CsrfForm<WebCaller<perm::ReadReports>>,
) -> Result<Response, WebError> {
    let caller = form.caller;
    let name = form
        .fields
        .text("name")
        .filter(|n| n.chars().count() <= 80)
        .ok_or_else(|| {
            WebError::BadRequest("give the view a name (80 characters at most)".into())
        })?;
    let query = form.fields.get("query").unwrap_or("");
    // Re-serialise through the queue's own parameters, so a view holds nothing else.
    let parsed: QueueQuery = serde_urlencoded_query(query)?;
    parsed.filter(caller.user.principal.org)?;
    let clean = parsed.filter_query();
    state
        .store
        .save_view(caller.user.principal.user, name, &clean)
        .await?;
    Ok(Redirect::to(&format!("/queue?{clean}")).into_response())
}

fn serde_urlencoded_query(query: &str) -> Result<QueueQuery, WebError> {
    let mut q = QueueQuery::default();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let v = Some(v.into_owned());
        match k.as_ref() {
            "type" => q.incident_type = v,
            "state" => q.state = v,
            "priority" => q.priority = v,
            "reporter" => q.reporter = v,
            "from" => q.from = v,
            "to" => q.to = v,
            _ => {}
        }
    }
    Ok(q)
}

/// `POST /queue/views/{id}/delete`.
pub async fn delete_view(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: CsrfForm<WebCaller<perm::ReadReports>>,
) -> Result<Response, WebError> {
    if !state
        .store
        .delete_view(form.caller.user.principal.user, id)
        .await?
    {
        return Err(WebError::NotFound);
    }
    Ok(Redirect::to("/queue").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_and_days_parse_or_fail_cleanly() {
        assert_eq!(
            parse_cursor("4.1700000000000000.12").expect("cursor"),
            QueueCursor {
                rank: 4,
                received_micros: 1_700_000_000_000_000,
                id: 12
            }
        );
        assert!(parse_cursor("4.x").is_err());
        assert!(parse_cursor("").is_err());
        assert!(parse_day("2026-02-30").is_err());
        assert!(parse_day("2026-11-23").is_ok());
    }

    #[test]
    fn back_targets_stay_on_site() {
        assert_eq!(back_to(Some("/queue?type=x")), "/queue?type=x");
        assert_eq!(back_to(Some("/reports/3")), "/reports/3");
        assert_eq!(back_to(Some("https://evil.example")), "/queue");
        assert_eq!(back_to(Some("/queue//evil")), "/queue");
    }
}
