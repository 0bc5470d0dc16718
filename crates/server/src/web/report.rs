//! `/reports/{id}`: one report's facts in the order an analyst reads them — incident, reporter,
//! reported parties, IP events, files, linked reports, priority, history.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use safeguard_domain::account::{perm, Permission};
use safeguard_domain::report::{ChannelKind, IpEvent, Party, PartyRole, Priority, ReportId};

use super::error::{render, WebError};
use super::pages::TopBar;
use super::queue::{priority_label, when, Choice};
use super::session::WebCaller;
use crate::state::AppState;

/// A label and its value, shown as a definition list.
struct Fact {
    label: &'static str,
    value: String,
}

fn facts(items: impl IntoIterator<Item = (&'static str, Option<String>)>) -> Vec<Fact> {
    items
        .into_iter()
        .filter_map(|(label, value)| {
            value
                .filter(|v| !v.trim().is_empty())
                .map(|value| Fact { label, value })
        })
        .collect()
}

struct PartyView {
    role: String,
    facts: Vec<Fact>,
}

struct IpRow {
    ip: String,
    event: String,
    at: String,
    port: String,
    proxy: String,
    whose: String,
}

struct FileView {
    file_id: String,
    name: String,
    media_type: String,
    is_video: bool,
    size: String,
    md5: String,
    sha1: String,
    sha256: String,
    relevance: String,
    classification: String,
}

struct HistoryRow {
    at: String,
    actor: String,
    action: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    top: TopBar,
    id: i64,
    uid: String,
    title: String,
    priority: String,
    priority_class: &'static str,
    incident: Vec<Fact>,
    annotations: Vec<String>,
    reporter: Vec<Fact>,
    reporting_people: Vec<PartyView>,
    parties: Vec<PartyView>,
    channels: Vec<PartyView>,
    ip_events: Vec<IpRow>,
    files: Vec<FileView>,
    can_view_media: bool,
    prior_reports: Vec<i64>,
    can_write: bool,
    /// Series a file can be added to (for those who curate known material).
    series_choices: Vec<(i64, String)>,
    priorities: Vec<Choice>,
    assignee: String,
    history: Vec<HistoryRow>,
}

fn role_label(role: PartyRole) -> &'static str {
    match role {
        PartyRole::Reported => "Reported person or account",
        PartyRole::IntendedRecipient => "Intended recipient",
        PartyRole::Victim => "Child victim",
        PartyRole::ReportingPerson => "Reporting person",
        PartyRole::ContactPerson => "Contact person",
        PartyRole::AssociatedAccount => "Associated account",
    }
}

fn channel_label(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::WebPage => "Web page",
        ChannelKind::Email => "E-mail",
        ChannelKind::Newsgroup => "Newsgroup",
        ChannelKind::ChatIm => "Chat or instant messaging",
        ChannelKind::OnlineGaming => "Online gaming",
        ChannelKind::CellPhone => "Mobile phone",
        ChannelKind::NonInternet => "Not on the internet",
        ChannelKind::PeerToPeer => "Peer-to-peer",
    }
}

fn yes_no(b: Option<bool>) -> Option<String> {
    b.map(|b| if b { "yes".into() } else { "no".into() })
}

fn ip_row(e: &IpEvent, whose: &str) -> IpRow {
    IpRow {
        ip: e.ip.to_string(),
        event: e.event.map(|v| v.wire().to_owned()).unwrap_or_default(),
        at: e.at.map(when).unwrap_or_default(),
        port: e.port.map(|p| p.to_string()).unwrap_or_default(),
        proxy: yes_no(e.possible_proxy).unwrap_or_default(),
        whose: whose.to_owned(),
    }
}

fn party_name(p: &Party) -> Option<String> {
    let name = [p.first_name.as_deref(), p.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

fn party_view(p: &Party) -> PartyView {
    let join = |v: Vec<String>| (!v.is_empty()).then(|| v.join(", "));
    PartyView {
        role: role_label(p.role).to_owned(),
        facts: facts([
            ("Name", party_name(p)),
            ("Screen name", p.screen_name.clone()),
            ("Display names", join(p.display_names.clone())),
            ("Service", p.esp_service.clone()),
            ("Account id", p.esp_identifier.clone()),
            ("E-mail", join(p.emails.clone())),
            (
                "Phone",
                join(
                    p.phones
                        .iter()
                        .map(|ph| match &ph.country_calling_code {
                            Some(cc) => format!("+{cc} {}", ph.number),
                            None => ph.number.clone(),
                        })
                        .collect(),
                ),
            ),
            ("Profile", join(p.profile_urls.clone())),
            ("Age", p.age.map(|a| a.to_string())),
            ("Date of birth", p.date_of_birth.map(|d| d.to_string())),
            (
                "Address",
                join(
                    p.addresses
                        .iter()
                        .map(|a| {
                            [&a.street, &a.zip_code, &a.city, &a.state, &a.country]
                                .into_iter()
                                .flatten()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .collect(),
                ),
            ),
            (
                "Devices",
                join(
                    p.device_ids
                        .iter()
                        .map(|d| format!("{}: {}", d.id_type, d.value))
                        .collect(),
                ),
            ),
            ("School", p.school_name.clone()),
            ("Notes", p.additional_info.clone()),
        ]),
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// `GET /reports/{id}`. A report the caller's organisation may not see is a 404.
pub async fn page(
    State(state): State<AppState>,
    caller: WebCaller<perm::ReadReports>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = ReportId(id.parse().map_err(|_| WebError::NotFound)?);
    let stored = safeguard_engine::reports::read_report(&state.store, &caller.granted, id).await?;
    let r = &stored.report;
    let c = &r.content;
    let principal = &caller.user.principal;
    let reporter_org = state.store.org(r.reporter_org).await?;
    let (priority, priority_class) = priority_label(r.priority);
    let le = c.law_enforcement.as_ref();
    let incident = facts([
        (
            "Incident type",
            Some(c.incident.incident_type.wire().to_owned()),
        ),
        ("Occurred", Some(when(c.incident.occurred_at))),
        ("As described", c.incident.occurred_at_description.clone()),
        ("Platform", c.incident.platform.clone()),
        ("Escalation", c.incident.escalation.clone()),
        ("Received", Some(when(r.received_at))),
        ("Source", Some(r.source.code().to_owned())),
        ("State", Some(r.state.code().to_owned())),
        ("Batched / viral", c.batched_viral.then(|| "yes".to_owned())),
        ("Additional information", c.additional_info.clone()),
        ("Demo data", c.demo.then(|| "yes — fictional".to_owned())),
    ]);
    let reporter = facts([
        ("Organisation", Some(reporter_org.name.to_string())),
        ("Country", reporter_org.country.clone()),
        ("Law enforcement agency", le.map(|l| l.agency_name.clone())),
        ("Case number", le.and_then(|l| l.case_number.clone())),
        (
            "Reported to law enforcement",
            le.and_then(|l| yes_no(l.reported_to_le)),
        ),
    ]);
    let is_reporting = |p: &&Party| {
        matches!(
            p.role,
            PartyRole::ReportingPerson | PartyRole::ContactPerson
        )
    };
    let reporting_people = c
        .parties
        .iter()
        .filter(is_reporting)
        .map(party_view)
        .collect();
    let parties = c
        .parties
        .iter()
        .filter(|p| !is_reporting(p))
        .map(party_view)
        .collect();
    let channels = c
        .channels
        .iter()
        .map(|ch| {
            let join = |v: &Vec<String>| (!v.is_empty()).then(|| v.join(", "));
            PartyView {
                role: channel_label(ch.kind).to_owned(),
                facts: facts([
                    ("Name", ch.name.clone()),
                    ("Detail", ch.detail.clone()),
                    ("Content", ch.content.clone()),
                    ("URLs", join(&ch.urls)),
                    ("E-mail", join(&ch.emails)),
                    ("Notes", ch.additional_info.clone()),
                ]),
            }
        })
        .collect();
    let mut ip_events = Vec::new();
    for p in &c.parties {
        let whose = party_name(p)
            .or_else(|| p.screen_name.clone())
            .unwrap_or_else(|| role_label(p.role).to_owned());
        ip_events.extend(p.ip_events.iter().map(|e| ip_row(e, &whose)));
    }
    for ch in &c.channels {
        ip_events.extend(
            ch.ip_events
                .iter()
                .map(|e| ip_row(e, channel_label(ch.kind))),
        );
    }
    for f in &r.files {
        let whose = format!("file {}", f.original_name.as_deref().unwrap_or(&f.file_id));
        ip_events.extend(f.ip_events.iter().map(|e| ip_row(e, &whose)));
    }
    let files = r
        .files
        .iter()
        .map(|f| FileView {
            file_id: f.file_id.clone(),
            name: f.original_name.clone().unwrap_or_else(|| f.file_id.clone()),
            media_type: f.media_type.clone().unwrap_or_else(|| "unknown".into()),
            is_video: f
                .media_type
                .as_deref()
                .is_some_and(|m| m.starts_with("video/")),
            size: size(f.size),
            md5: f.digests.md5.to_hex(),
            sha1: f.digests.sha1.to_hex(),
            sha256: f.digests.sha256.to_hex(),
            relevance: f.relevance.wire().to_owned(),
            classification: f
                .industry_classification
                .map(|c| c.wire().to_owned())
                .unwrap_or_default(),
        })
        .collect();
    let mut prior_reports: Vec<i64> = c
        .parties
        .iter()
        .flat_map(|p| p.prior_reports.iter().copied())
        .collect();
    prior_reports.sort_unstable();
    prior_reports.dedup();
    let assignee = state
        .store
        .report_assignee(id)
        .await?
        .map(|(_, name)| name)
        .unwrap_or_default();
    let history = state
        .store
        .audit_for_object("report", &id.to_string(), 500)
        .await?
        .into_iter()
        .map(|e| HistoryRow {
            at: time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(e.at_micros) * 1_000)
                .map(when)
                .unwrap_or_default(),
            actor: e.event.actor,
            action: e.event.action,
            detail: e.event.detail,
        })
        .collect();
    let current = r.priority.map(Priority::code);
    let series_choices = if principal.can(Permission::ManageKnownMaterial) && !r.files.is_empty() {
        state
            .store
            .list_series()
            .await?
            .into_iter()
            .filter(|s| s.merged_into.is_none())
            .map(|s| (s.id.0, s.name))
            .collect()
    } else {
        Vec::new()
    };
    let page = ReportPage {
        top: TopBar::new(&caller.user, "queue"),
        id: id.0,
        uid: r.uid.to_string(),
        title: c.incident.incident_type.wire().to_owned(),
        priority,
        priority_class,
        incident,
        annotations: c
            .incident
            .annotations
            .iter()
            .map(|a| a.code().replace('_', " "))
            .collect(),
        reporter,
        reporting_people,
        parties,
        channels,
        ip_events,
        files,
        can_view_media: principal.can(Permission::ViewMedia),
        prior_reports,
        can_write: principal.can(Permission::WriteReports),
        series_choices,
        priorities: Priority::ALL
            .iter()
            .map(|p| Choice {
                value: p.code().to_owned(),
                label: priority_label(Some(*p)).0,
                selected: current == Some(p.code()),
            })
            .collect(),
        assignee,
        history,
    };
    Ok(render(&page)?.into_response())
}
