//! Referrals and intelligence packages: `/packages` (the organisation's referrals by recipient,
//! referrals to pass on, packages sent and received), `/packages/{id}` (review, approve, send;
//! for the recipient: acknowledge and report outcomes), `/packages/{id}/report.html` (the
//! readable report exactly as the recipient gets it) and `/inbox` (packages received).
//!
//! Every page is scoped to the caller's organisation: a package is shown to its sender, and to
//! its recipient once sent; anything else is a 404 like a missing one. Every POST carries the
//! session's CSRF token ([`CsrfForm`]).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use safeguard_domain::account::{perm, Granted, OrgId, Permission};
use safeguard_domain::report::ReportId;
use safeguard_engine::packages::{html_report, PackageDocument};
use safeguard_engine::{dissemination, package_flow};
use safeguard_store::{Outcome, PackageState, StoredPackage};
use serde::Deserialize;
use time::OffsetDateTime;

use super::error::{render, WebError};
use super::pages::TopBar;
use super::queue::when;
use super::session::{CsrfForm, SignedIn, WebCaller};
use crate::state::AppState;

/// How a state reads on the page.
pub(crate) fn state_label(s: PackageState) -> &'static str {
    match s {
        PackageState::Draft => "draft",
        PackageState::Approved => "approved",
        PackageState::Sent => "sent",
        PackageState::Acknowledged => "acknowledged",
        PackageState::OutcomeReported => "outcome reported",
    }
}

/// How an outcome reads on the page.
pub(crate) fn outcome_label(o: Outcome) -> &'static str {
    match o {
        Outcome::NoCrime => "No crime",
        Outcome::InvestigationOpened => "Investigation opened",
        Outcome::VictimIdentified => "Victim identified",
        Outcome::VictimSafeguarded => "Victim safeguarded",
        Outcome::Arrest => "Arrest",
        Outcome::Prosecution => "Prosecution",
    }
}

fn at(micros: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map(when)
        .unwrap_or_default()
}

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    done: Option<String>,
}

fn notice(n: &Notice) -> Option<String> {
    let text = match n.done.as_deref()? {
        "built" => "Package built as a draft. Review it; someone else approves it.",
        "approved" => "Package approved.",
        "sent" => "Package sent: the recipient sees it in its inbox.",
        "forwarded" => "Referral(s) passed on.",
        "acknowledged" => "Package acknowledged.",
        "outcomes" => "Outcomes recorded.",
        _ => return None,
    };
    Some(text.to_owned())
}

struct GroupRow {
    to_org: i64,
    to_name: String,
    waiting: i64,
    packaged: i64,
}

struct HeldRow {
    id: i64,
    report_id: i64,
    from: String,
    reason: String,
    received: String,
    onward: String,
}

struct PackageRow {
    id: i64,
    direction: &'static str,
    other: String,
    state: &'static str,
    referrals: i64,
    created: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "packages.html")]
struct PackagesPage {
    top: TopBar,
    notice: Option<String>,
    can_manage: bool,
    can_receive: bool,
    groups: Vec<GroupRow>,
    held: Vec<HeldRow>,
    packages: Vec<PackageRow>,
}

async fn package_rows(
    state: &AppState,
    org: OrgId,
    received_only: bool,
) -> Result<Vec<PackageRow>, WebError> {
    Ok(state
        .store
        .packages_of_org(org, 200)
        .await?
        .into_iter()
        .filter(|p| !received_only || p.to_org == org)
        .map(|p| {
            let sent = p.from_org == org;
            PackageRow {
                id: p.id,
                direction: if sent { "to" } else { "from" },
                other: if sent { p.to_name } else { p.from_name },
                state: state_label(p.state),
                referrals: p.referrals,
                created: at(p.created_at),
                updated: at(p.updated_at),
            }
        })
        .collect())
}

/// `GET /packages`: for those who build packages and those who receive them.
pub async fn list(
    State(state): State<AppState>,
    user: SignedIn,
    Query(n): Query<Notice>,
) -> Result<Response, WebError> {
    let can_manage = user.principal.can(Permission::ManagePackages);
    let can_receive = user.principal.can(Permission::ReceivePackages);
    if !can_manage && !can_receive {
        return Err(WebError::Forbidden(
            "your role neither sends nor receives packages".into(),
        ));
    }
    let org = user.principal.org;
    let mut groups = Vec::new();
    let mut held = Vec::new();
    if can_manage {
        groups = state
            .store
            .outgoing_referrals(org)
            .await?
            .into_iter()
            .map(|g| GroupRow {
                to_org: g.to_org.0,
                to_name: g.to_name,
                waiting: g.waiting,
                packaged: g.packaged,
            })
            .collect();
        // Organisation names once each, not once per referral.
        let mut names = std::collections::HashMap::new();
        for r in state.store.held_referrals(org, 500).await? {
            let next = package_flow::onward(&r, &user.org_name);
            if next.is_empty() {
                continue;
            }
            let from = match names.get(&r.from_org) {
                Some(name) => String::clone(name),
                None => {
                    let name = state.store.org(r.from_org).await?.name.to_string();
                    names.insert(r.from_org, name.clone());
                    name
                }
            };
            held.push(HeldRow {
                id: r.id,
                report_id: r.report_id.0,
                from,
                reason: r.reason,
                received: when(r.created_at),
                onward: next.join(", "),
            });
        }
    }
    let page = PackagesPage {
        top: TopBar::new(&user, "packages"),
        notice: notice(&n),
        can_manage,
        can_receive,
        groups,
        held,
        packages: package_rows(&state, org, false).await?,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    top: TopBar,
    packages: Vec<PackageRow>,
}

/// `GET /inbox`: packages sent to the caller's organisation.
pub async fn inbox(
    State(state): State<AppState>,
    caller: WebCaller<perm::ReceivePackages>,
) -> Result<Response, WebError> {
    let org = caller.granted.principal().org;
    let page = InboxPage {
        top: TopBar::new(&caller.user, "packages"),
        packages: package_rows(&state, org, true).await?,
    };
    Ok(render(&page)?.into_response())
}

fn parse_id(text: &str) -> Result<i64, WebError> {
    text.trim().parse().map_err(|_| WebError::NotFound)
}

/// `POST /packages/build`: a draft for `to` from the caller's organisation's waiting referrals.
pub async fn build(
    State(state): State<AppState>,
    form: CsrfForm<WebCaller<perm::ManagePackages>>,
) -> Result<Redirect, WebError> {
    let to = form
        .fields
        .text("to")
        .and_then(|t| t.parse().ok())
        .map(OrgId)
        .ok_or_else(|| WebError::BadRequest("choose the organisation to send to".into()))?;
    let key = state.signing_key.as_ref().ok_or_else(|| {
        WebError::BadRequest("this instance has no package signing key configured".into())
    })?;
    // ISP requests are grouped by the network operator the geolocation data names (loaded
    // once per process).
    let geo = state.geolocator().await.map_err(|e| {
        tracing::error!(error = %e, "loading the geolocation data");
        WebError::Internal
    })?;
    let built = package_flow::build(
        &state.store,
        &form.caller.granted,
        to,
        geo.as_ref(),
        key.as_ref(),
    )
    .await?;
    Ok(Redirect::to(&format!("/packages/{}?done=built", built.id)))
}

/// `POST /referrals/forward`: passes on the ticked referrals (`id`, repeated) the caller's
/// organisation holds.
pub async fn forward(
    State(state): State<AppState>,
    form: CsrfForm<WebCaller<perm::ManagePackages>>,
) -> Result<Redirect, WebError> {
    let ids: Vec<i64> = form
        .fields
        .all("id")
        .map(parse_id)
        .collect::<Result<_, _>>()
        .map_err(|_| WebError::BadRequest("a referral id is malformed".into()))?;
    if ids.is_empty() {
        return Err(WebError::BadRequest("tick at least one referral".into()));
    }
    for id in ids {
        package_flow::forward(&state.store, &form.caller.granted, id).await?;
    }
    Ok(Redirect::to("/packages?done=forwarded"))
}

struct ReportRow {
    id: i64,
    incident: String,
    received: String,
    priority: String,
    files: usize,
    parties: usize,
    linked_here: String,
    linked_elsewhere: i64,
    outcomes: String,
}

struct IspRow {
    operator: String,
    addresses: usize,
    cost: String,
}

struct HistoryRow {
    state: &'static str,
    actor: String,
    at: String,
}

struct OutcomeChoice {
    code: &'static str,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "package.html")]
struct PackagePage {
    top: TopBar,
    notice: Option<String>,
    id: i64,
    uid: String,
    from: String,
    to: String,
    state: &'static str,
    file_sha256: String,
    is_sender: bool,
    can_approve: bool,
    approve_blocked: Option<String>,
    can_send: bool,
    can_acknowledge: bool,
    can_report: bool,
    reports: Vec<ReportRow>,
    alerts: usize,
    isp: Vec<IspRow>,
    isp_total: String,
    history: Vec<HistoryRow>,
    outcome_choices: Vec<OutcomeChoice>,
}

fn cents(c: i64, currency: &str) -> String {
    format!("{}.{:02} {currency}", c / 100, c % 100)
}

fn document(p: &StoredPackage) -> Result<PackageDocument, WebError> {
    serde_json::from_value(p.manifest.clone()).map_err(|e| {
        tracing::error!(package = p.id, error = %e, "stored package document does not parse");
        WebError::Internal
    })
}

/// The package if the caller's organisation sent it, or received it (once sent).
async fn visible_package(
    state: &AppState,
    user: &SignedIn,
    id: &str,
) -> Result<StoredPackage, WebError> {
    let id = parse_id(id)?;
    if !user.principal.can(Permission::ManagePackages)
        && !user.principal.can(Permission::ReceivePackages)
    {
        return Err(WebError::Forbidden(
            "your role neither sends nor receives packages".into(),
        ));
    }
    Ok(dissemination::package(&state.store, user.principal.org, id).await?)
}

/// `GET /packages/{id}`: review (sender) or the received package (recipient).
pub async fn page(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(n): Query<Notice>,
) -> Result<Response, WebError> {
    let p = visible_package(&state, &user, &id).await?;
    let doc = document(&p)?;
    let org = user.principal.org;
    let is_sender = p.from_org == org;
    let manage = user.principal.can(Permission::ManagePackages);
    let receive = user.principal.can(Permission::ReceivePackages);
    let builder = package_flow::builder(&state.store, p.id).await?;
    let me = user.principal.username.as_str();
    let draft = p.state == PackageState::Draft;
    let approve_blocked = (is_sender && manage && draft && builder.as_deref() == Some(me))
        .then(|| "You built this package: someone else approves it (four eyes).".to_owned());
    let outcomes = state.store.package_outcomes(p.id).await?;
    let reports = doc
        .reports
        .iter()
        .map(|r| {
            // In the order an investigation goes, each once.
            let recorded: Vec<&str> = Outcome::ALL
                .iter()
                .filter(|o| {
                    outcomes
                        .iter()
                        .any(|x| x.report_id.0 == r.id && x.outcome == **o)
                })
                .map(|o| outcome_label(*o))
                .collect();
            ReportRow {
                id: r.id,
                incident: r.content.incident.incident_type.wire().to_owned(),
                received: when(r.received_at),
                priority: r.priority.clone().unwrap_or_else(|| "not set".into()),
                files: r.files.len(),
                parties: r.content.parties.len(),
                linked_here: r
                    .cluster
                    .reports_in_package
                    .iter()
                    .filter(|x| **x != r.id)
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                linked_elsewhere: r.cluster.linked_reports_elsewhere,
                outcomes: recorded.join(", "),
            }
        })
        .collect();
    let currency = doc
        .isp_requests
        .first()
        .map_or("EUR".to_owned(), |r| r.currency.clone());
    let page = PackagePage {
        top: TopBar::new(&user, "packages"),
        notice: notice(&n),
        id: p.id,
        uid: p.uid.clone(),
        from: doc.from_org.clone(),
        to: doc.to_org.clone(),
        state: state_label(p.state),
        file_sha256: p.file_sha256.clone().unwrap_or_default(),
        is_sender,
        can_approve: is_sender && manage && draft && approve_blocked.is_none(),
        approve_blocked,
        can_send: is_sender && manage && p.state == PackageState::Approved,
        can_acknowledge: !is_sender && receive && p.state == PackageState::Sent,
        can_report: !is_sender
            && receive
            && matches!(
                p.state,
                PackageState::Sent | PackageState::Acknowledged | PackageState::OutcomeReported
            ),
        reports,
        alerts: doc.alerts.len(),
        isp: doc
            .isp_requests
            .iter()
            .map(|r| IspRow {
                operator: r.operator.name.clone(),
                addresses: r.items.len(),
                cost: cents(r.cost_cents, &r.currency),
            })
            .collect(),
        isp_total: cents(doc.isp_cost_total_cents, &currency),
        history: state
            .store
            .package_history(p.id)
            .await?
            .into_iter()
            .map(|(s, actor, t)| HistoryRow {
                state: state_label(s),
                actor,
                at: at(t),
            })
            .collect(),
        outcome_choices: Outcome::ALL
            .iter()
            .map(|o| OutcomeChoice {
                code: o.code(),
                label: outcome_label(*o),
            })
            .collect(),
    };
    Ok(render(&page)?.into_response())
}

/// `GET /packages/{id}/report.html`: the package's readable report, byte for byte what the
/// recipient finds in the zip. It carries its own print styles, so it is served alone with a
/// policy that allows those styles and nothing else (no script, no fetch, sandboxed).
pub async fn readable(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let p = visible_package(&state, &user, &id).await?;
    let doc = document(&p)?;
    Ok((
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; \
                 base-uri 'none'; form-action 'none'; sandbox",
            ),
        ],
        html_report(&doc),
    )
        .into_response())
}

async fn step(
    state: &AppState,
    granted: &Granted<perm::ManagePackages>,
    id: &str,
    next: PackageState,
) -> Result<Redirect, WebError> {
    let id = parse_id(id)?;
    match next {
        PackageState::Approved => package_flow::approve(&state.store, granted, id).await?,
        _ => package_flow::send(&state.store, granted, id).await?,
    }
    let done = if next == PackageState::Approved {
        "approved"
    } else {
        "sent"
    };
    Ok(Redirect::to(&format!("/packages/{id}?done={done}")))
}

/// `POST /packages/{id}/approve` (someone other than the builder).
pub async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<WebCaller<perm::ManagePackages>>,
) -> Result<Redirect, WebError> {
    step(&state, &form.caller.granted, &id, PackageState::Approved).await
}

/// `POST /packages/{id}/send`.
pub async fn send(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<WebCaller<perm::ManagePackages>>,
) -> Result<Redirect, WebError> {
    step(&state, &form.caller.granted, &id, PackageState::Sent).await
}

/// `POST /packages/{id}/acknowledge` (the recipient).
pub async fn acknowledge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<WebCaller<perm::ReceivePackages>>,
) -> Result<Redirect, WebError> {
    let id = parse_id(&id)?;
    dissemination::acknowledge(&state.store, &form.caller.granted, id).await?;
    Ok(Redirect::to(&format!("/packages/{id}?done=acknowledged")))
}

/// Longest note kept with an outcome.
const MAX_NOTE: usize = 2_000;

/// `POST /packages/{id}/outcomes` (the recipient): ticked `outcome` values `REPORT:CODE`, and a
/// `note-REPORT` per report.
pub async fn outcomes(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<WebCaller<perm::ReceivePackages>>,
) -> Result<Redirect, WebError> {
    let id = parse_id(&id)?;
    // Another organisation's package is not found, whatever the form says.
    dissemination::package(&state.store, form.caller.granted.principal().org, id).await?;
    let mut entries = Vec::new();
    for value in form.fields.all("outcome") {
        let bad = || WebError::BadRequest(format!("{value:?} is not a report and an outcome"));
        let (report, code) = value.split_once(':').ok_or_else(bad)?;
        let report: i64 = report.parse().map_err(|_| bad())?;
        let outcome = Outcome::from_code(code).ok_or_else(bad)?;
        let note = form
            .fields
            .text(&format!("note-{report}"))
            .map(|n| n.chars().take(MAX_NOTE).collect::<String>());
        entries.push((ReportId(report), outcome, note));
    }
    if entries.is_empty() {
        return Err(WebError::BadRequest(
            "tick at least one outcome for a report".into(),
        ));
    }
    entries.sort_by_key(|(r, o, _)| (r.0, o.code()));
    entries.dedup_by_key(|(r, o, _)| (r.0, o.code()));
    dissemination::report_outcomes(&state.store, &form.caller.granted, id, &entries).await?;
    Ok(Redirect::to(&format!("/packages/{id}?done=outcomes")))
}
