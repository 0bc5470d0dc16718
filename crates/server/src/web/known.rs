//! Known material: `/known` (the hash sets the organisation may use, with owner, source, licence
//! and counts; every series with its status), `/known/series/{id}` (status, victim status,
//! organisations, history, entries), and the forms that create a series, set its status, and
//! add a report's file to a series (`ManageKnownMaterial`; every form with the CSRF token).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use safeguard_domain::account::{perm, OrgId, Permission};
use safeguard_domain::known::{HashSetId, SeriesId, SeriesStatus};
use safeguard_domain::report::ReportId;
use safeguard_engine::known::{self as engine, Operator};
use safeguard_store::EntryFilter;
use serde::Deserialize;

use super::error::{render, WebError};
use super::pages::TopBar;
use super::queue::when;
use super::session::{CsrfForm, WebCaller};
use crate::state::AppState;

/// How a series status reads on the page.
pub(crate) fn status_label(s: SeriesStatus) -> &'static str {
    match s {
        SeriesStatus::New => "new",
        SeriesStatus::UnderInvestigation => "under investigation",
        SeriesStatus::VictimIdentified => "victim identified",
        SeriesStatus::OffenderIdentified => "offender identified",
    }
}

async fn org_names(state: &AppState, ids: Vec<OrgId>) -> Result<BTreeMap<i64, String>, WebError> {
    let mut names = BTreeMap::new();
    for id in ids {
        if let std::collections::btree_map::Entry::Vacant(v) = names.entry(id.0) {
            v.insert(state.store.org(id).await?.name.to_string());
        }
    }
    Ok(names)
}

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    done: Option<String>,
}

fn notice(n: &Notice) -> Option<String> {
    let text = match n.done.as_deref()? {
        "created" => "Series created.",
        "status" => "Status changed.",
        "added" => "File added to the series.",
        _ => return None,
    };
    Some(text.to_owned())
}

struct SetRow {
    id: i64,
    name: String,
    owner: String,
    purpose: String,
    source: String,
    licence: String,
    scheme: String,
    shared: bool,
    enabled: bool,
    entries: i64,
}

struct SeriesRow {
    id: i64,
    name: String,
    status: &'static str,
    entries: i64,
    orgs: String,
    merged_into: Option<i64>,
    updated: String,
}

struct StatusChoice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

fn status_choices(current: Option<SeriesStatus>) -> Vec<StatusChoice> {
    SeriesStatus::ALL
        .iter()
        .map(|s| StatusChoice {
            value: s.as_str(),
            label: status_label(*s),
            selected: current == Some(*s),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "known.html")]
struct KnownPage {
    top: TopBar,
    notice: Option<String>,
    can_manage: bool,
    sets: Vec<SetRow>,
    series: Vec<SeriesRow>,
    statuses: Vec<StatusChoice>,
}

/// `GET /known`.
pub async fn page(
    State(state): State<AppState>,
    caller: WebCaller<perm::ReadReports>,
    Query(n): Query<Notice>,
) -> Result<Response, WebError> {
    let org = caller.granted.principal().org;
    let sets = engine::list_hash_sets(&state.store, org).await?;
    let series = state.store.list_series().await?;
    let mut ids: Vec<OrgId> = sets.iter().map(|s| s.owner_org).collect();
    for s in &series {
        ids.extend(s.orgs.iter().copied());
    }
    let names = org_names(&state, ids).await?;
    let name = |o: &OrgId| names.get(&o.0).cloned().unwrap_or_default();
    let page = KnownPage {
        top: TopBar::new(&caller.user, "known"),
        notice: notice(&n),
        can_manage: caller.user.principal.can(Permission::ManageKnownMaterial),
        sets: sets
            .iter()
            .map(|s| SetRow {
                id: s.id.0,
                name: s.name.clone(),
                owner: name(&s.owner_org),
                purpose: s.purpose.as_str().replace('_', " "),
                source: s.source.clone().unwrap_or_default(),
                licence: s.licence.clone().unwrap_or_default(),
                scheme: s.category_scheme.clone().unwrap_or_default(),
                shared: s.shared,
                enabled: s.enabled,
                entries: s.entries,
            })
            .collect(),
        series: series
            .iter()
            .map(|s| SeriesRow {
                id: s.id.0,
                name: s.name.clone(),
                status: status_label(s.status),
                entries: s.entries,
                orgs: s.orgs.iter().map(name).collect::<Vec<_>>().join(", "),
                merged_into: s.merged_into.map(|m| m.0),
                updated: when(s.updated_at),
            })
            .collect(),
        statuses: status_choices(Some(SeriesStatus::New)),
    };
    Ok(render(&page)?.into_response())
}

struct EntryRow {
    id: i64,
    set: String,
    md5: String,
    sha256: String,
    victim: String,
    offender: String,
    category: String,
    first_seen: String,
}

struct EventRow {
    at: String,
    actor: String,
    action: String,
    entries: i64,
    detail: String,
}

#[derive(Template)]
#[template(path = "series.html")]
struct SeriesPage {
    top: TopBar,
    notice: Option<String>,
    can_manage: bool,
    id: i64,
    name: String,
    status: &'static str,
    notes: String,
    merged_into: Option<i64>,
    orgs: Vec<String>,
    entries_total: i64,
    entries: Vec<EntryRow>,
    entries_not_shown: i64,
    history: Vec<EventRow>,
    statuses: Vec<StatusChoice>,
}

fn yes_no(b: Option<bool>) -> String {
    match b {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => "—".into(),
    }
}

/// Entries listed on a series page.
const SERIES_ENTRIES: u32 = 200;

/// `GET /known/series/{id}`.
pub async fn series_page(
    State(state): State<AppState>,
    caller: WebCaller<perm::ReadReports>,
    Path(id): Path<String>,
    Query(n): Query<Notice>,
) -> Result<Response, WebError> {
    let id = SeriesId(id.parse().map_err(|_| WebError::NotFound)?);
    let org = caller.granted.principal().org;
    let series = state.store.series(id).await?;
    let history = state.store.series_history(id).await?;
    let names = org_names(&state, series.orgs.clone()).await?;
    // Entries come from many hash sets: only those of sets the organisation may use are listed.
    let usable: BTreeMap<HashSetId, String> = engine::list_hash_sets(&state.store, org)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let all = state
        .store
        .list_known_entries(&EntryFilter {
            hash_set: None,
            series: Some(id),
            after_id: None,
            limit: SERIES_ENTRIES,
        })
        .await?;
    let entries: Vec<EntryRow> = all
        .iter()
        .filter_map(|e| {
            let set = usable.get(&e.hash_set)?;
            Some(EntryRow {
                id: e.id.0,
                set: set.clone(),
                md5: e.hashes.md5.map(|h| h.to_hex()).unwrap_or_default(),
                sha256: e.hashes.sha256.map(|h| h.to_hex()).unwrap_or_default(),
                victim: yes_no(e.facts.victim_identified),
                offender: yes_no(e.facts.offender_identified),
                category: e.facts.category.map(|c| c.to_string()).unwrap_or_default(),
                first_seen: when(e.first_seen),
            })
        })
        .collect();
    let page = SeriesPage {
        top: TopBar::new(&caller.user, "known"),
        notice: notice(&n),
        can_manage: caller.user.principal.can(Permission::ManageKnownMaterial),
        id: id.0,
        name: series.name.clone(),
        status: status_label(series.status),
        notes: series.notes.clone().unwrap_or_default(),
        merged_into: series.merged_into.map(|m| m.0),
        orgs: series
            .orgs
            .iter()
            .map(|o| names.get(&o.0).cloned().unwrap_or_default())
            .collect(),
        entries_total: series.entries,
        entries_not_shown: series.entries - entries.len() as i64,
        entries,
        history: history
            .into_iter()
            .rev()
            .map(|e| EventRow {
                at: when(e.at),
                actor: e.actor,
                action: e.action.replace('_', " "),
                entries: e.entries,
                detail: e.detail,
            })
            .collect(),
        statuses: status_choices(Some(series.status)),
    };
    Ok(render(&page)?.into_response())
}

fn status_of(fields: &super::form::FormFields) -> Result<SeriesStatus, WebError> {
    let text = fields.text("status").unwrap_or("new");
    text.parse()
        .map_err(|_| WebError::BadRequest(format!("unknown series status {text:?}")))
}

/// `POST /known/series`: a new series (name, status, notes).
pub async fn create_series(
    State(state): State<AppState>,
    form: CsrfForm<WebCaller<perm::ManageKnownMaterial>>,
) -> Result<Redirect, WebError> {
    let name = form
        .fields
        .text("name")
        .ok_or_else(|| WebError::BadRequest("give the series a name".into()))?;
    let status = status_of(&form.fields)?;
    let series = engine::create_series(
        &state.store,
        &Operator::from_granted(&form.caller.granted),
        name,
        status,
        form.fields.text("notes"),
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/known/series/{}?done=created",
        series.id.0
    )))
}

/// `POST /known/series/{id}/status`: victim or offender identified, under investigation, new.
pub async fn set_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<WebCaller<perm::ManageKnownMaterial>>,
) -> Result<Redirect, WebError> {
    let id = SeriesId(id.parse().map_err(|_| WebError::NotFound)?);
    let status = status_of(&form.fields)?;
    engine::set_series_status(
        &state.store,
        &Operator::from_granted(&form.caller.granted),
        id,
        status,
    )
    .await?;
    Ok(Redirect::to(&format!("/known/series/{}?done=status", id.0)))
}

/// `POST /reports/{id}/files/{file_id}/series`: adds the report's file to the chosen series
/// (`series`), then shows the series.
pub async fn add_file(
    State(state): State<AppState>,
    Path((id, file_id)): Path<(String, String)>,
    form: CsrfForm<WebCaller<perm::ManageKnownMaterial>>,
) -> Result<Redirect, WebError> {
    let report = ReportId(id.parse().map_err(|_| WebError::NotFound)?);
    // Another organisation's report is not found, whatever the form says.
    if !state
        .store
        .can_see_report(form.caller.granted.principal().org, report)
        .await?
    {
        return Err(WebError::NotFound);
    }
    let series = form
        .fields
        .text("series")
        .and_then(|s| s.parse().ok())
        .map(SeriesId)
        .ok_or_else(|| WebError::BadRequest("choose a series".into()))?;
    let added = safeguard_engine::series_media::add_report_file_to_series(
        &state.store,
        &form.caller.granted,
        report,
        &file_id,
        series,
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/known/series/{}?done=added",
        added.series.id.0
    )))
}
