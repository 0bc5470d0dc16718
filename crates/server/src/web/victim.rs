//! Victim identification pages (`/victim/...`): the series workspace (media grid blurred by
//! default, arranged by capture time, camera or visual similarity, metadata and a map of GPS
//! positions), marking clues on a medium, searching clues across all series, Trace-an-Object
//! candidates (crop, two-person approval, traced/withdrawn), the tip triage queue and taskforce
//! editions.
//!
//! Specialists' pages take `WebCaller<ManageKnownMaterial>`; approving a crop takes
//! `WebCaller<ApprovePublication>`; the objects page and crop previews are open to either.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use safeguard_domain::account::{perm, Permission};
use safeguard_domain::audit::AuditEvent;
use safeguard_domain::known::{EntryId, SeriesId};
use safeguard_domain::victim::{ClueCategory, ClueStatus, ObjectState, TipStatus};
use safeguard_engine::victim::media::{arrange, Arrangement};
use safeguard_engine::victim::{self as vic, ClueInput, TaskforceAction};
use safeguard_store::{Clue, ClueFilter, PublicObject, SeriesMedium};
use serde::Deserialize;

use super::error::{render, WebError};
use super::map::{self, MapPoint};
use super::media::{blurred_png, media_failure, picture_response, ThumbnailLook};
use super::pages::TopBar;
use super::queue::when;
use super::session::{CsrfForm, SignedIn, WebCaller};
use crate::state::AppState;

/// Media whose metadata is read on one page view at most (the rest on the next view).
const EXTRACT_PER_VIEW: usize = 200;

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "clue" => "Clue marked.",
        "clue-updated" => "Clue updated.",
        "cut" => "Crop cut: it now awaits two approvals.",
        "approved" => "Approval recorded: one more person must approve.",
        "published" => "Second approval recorded: the object is on the public site.",
        "traced" => "Marked traced: shown as solved on the public site.",
        "withdrawn" => "Withdrawn from the public site.",
        "triaged" => "Tip triaged.",
        "created" => "Edition opened.",
        "done" => "Saved.",
        _ => return None,
    })
}

#[derive(Debug, Deserialize, Default)]
pub struct NoticeQuery {
    notice: Option<String>,
}

fn choices<T: Copy + PartialEq>(
    all: &[T],
    value: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    selected: Option<T>,
) -> Vec<(String, String, bool)> {
    all.iter()
        .map(|&v| {
            (
                value(v).to_owned(),
                label(v).to_owned(),
                Some(v) == selected,
            )
        })
        .collect()
}

fn categories(selected: Option<ClueCategory>) -> Vec<(String, String, bool)> {
    choices(
        ClueCategory::ALL,
        ClueCategory::as_str,
        ClueCategory::label,
        selected,
    )
}

fn statuses(selected: Option<ClueStatus>) -> Vec<(String, String, bool)> {
    choices(
        ClueStatus::ALL,
        ClueStatus::as_str,
        ClueStatus::label,
        selected,
    )
}

fn parse_id(raw: Option<&str>, field: &str) -> Result<i64, WebError> {
    raw.and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| WebError::BadRequest(format!("{field} is missing or not a number")))
}

// ---- home --------------------------------------------------------------------------------------

struct SeriesRow {
    id: i64,
    name: String,
    status: String,
    entries: i64,
}

#[derive(Template)]
#[template(path = "victim_home.html")]
struct HomePage {
    top: TopBar,
    specialist: bool,
    series: Vec<SeriesRow>,
    pending: usize,
    new_tips: usize,
    tips: i64,
    published: i64,
    traced: i64,
    countries: i64,
    notice: Option<&'static str>,
}

/// `GET /victim`: series, work waiting, and the public site's figures.
pub async fn home(State(state): State<AppState>, user: SignedIn) -> Result<Response, WebError> {
    let specialist = user.principal.can(Permission::ManageKnownMaterial);
    if !specialist && !user.principal.can(Permission::ApprovePublication) {
        return Err(WebError::Forbidden(
            "victim identification is for specialists and reviewers".into(),
        ));
    }
    let series = if specialist {
        state
            .store
            .list_series()
            .await?
            .into_iter()
            .filter(|s| s.merged_into.is_none())
            .map(|s| SeriesRow {
                id: s.id.0,
                name: s.name,
                status: s.status.to_string().replace('_', " "),
                entries: s.entries,
            })
            .collect()
    } else {
        Vec::new()
    };
    let pending = state
        .store
        .list_public_objects(&[ObjectState::Pending])
        .await?
        .len();
    let new_tips = if specialist {
        state
            .store
            .list_tips(None, Some(TipStatus::New), 1_000)
            .await?
            .len()
    } else {
        0
    };
    let stats = state.store.public_statistics().await?;
    Ok(render(&HomePage {
        top: TopBar::new(&user, "victim"),
        specialist,
        series,
        pending,
        new_tips,
        tips: stats.tips_received,
        published: stats.objects_published,
        traced: stats.objects_traced,
        countries: stats.countries_identified,
        notice: None,
    })?
    .into_response())
}

// ---- series workspace --------------------------------------------------------------------------

struct MediumCard {
    entry: i64,
    name: String,
    captured: String,
    camera: String,
    size: String,
    gps: String,
    clues: i64,
    error: String,
}

struct GroupView {
    label: String,
    cards: Vec<MediumCard>,
}

#[derive(Template)]
#[template(path = "victim_series.html")]
struct SeriesPage {
    top: TopBar,
    id: i64,
    name: String,
    status: String,
    notes: String,
    arrange: &'static str,
    groups: Vec<GroupView>,
    total: usize,
    map_svg: String,
    located: usize,
    clues: Vec<ClueRow>,
    notice: Option<&'static str>,
}

#[derive(Debug, Deserialize, Default)]
pub struct SeriesQuery {
    arrange: Option<String>,
}

fn camera_text(m: &SeriesMedium) -> String {
    let Some(meta) = &m.metadata else {
        return String::new();
    };
    let mut parts: Vec<String> = [meta.camera_make.clone(), meta.camera_model.clone()]
        .into_iter()
        .flatten()
        .collect();
    if let Some(s) = &meta.camera_serial {
        parts.push(format!("serial {s}"));
    }
    parts.join(" · ")
}

fn card(m: &SeriesMedium) -> MediumCard {
    let meta = m.metadata.as_ref();
    MediumCard {
        entry: m.entry.0,
        name: m
            .file_name
            .clone()
            .unwrap_or_else(|| format!("entry {}", m.entry.0)),
        captured: meta
            .and_then(|x| x.captured_at)
            .map(when)
            .unwrap_or_default(),
        camera: camera_text(m),
        size: meta
            .and_then(|x| x.width.zip(x.height))
            .map(|(w, h)| format!("{w}×{h}"))
            .unwrap_or_default(),
        gps: meta
            .and_then(|x| x.gps)
            .map(|(a, b)| format!("{a:.5}, {b:.5}"))
            .unwrap_or_default(),
        clues: m.clues,
        error: meta.and_then(|x| x.error.clone()).unwrap_or_default(),
    }
}

/// Reads metadata of media that have none yet (bounded per view).
async fn extract_missing(state: &AppState, media: &[SeriesMedium]) -> bool {
    let mut changed = false;
    for m in media
        .iter()
        .filter(|m| m.metadata.is_none())
        .take(EXTRACT_PER_VIEW)
    {
        let Some(sha) = m.sha256 else { continue };
        match state.media.source(&sha).await {
            Ok(bytes) => {
                if vic::record_metadata(&state.store, &sha, bytes)
                    .await
                    .is_ok()
                {
                    changed = true;
                }
            }
            Err(e) => tracing::debug!(error = %e, "no stored content for a series medium"),
        }
    }
    changed
}

/// `GET /victim/series/{id}?arrange=time|camera|similarity`.
pub async fn series(
    State(state): State<AppState>,
    caller: WebCaller<perm::ManageKnownMaterial>,
    Path(id): Path<i64>,
    Query(q): Query<SeriesQuery>,
) -> Result<Response, WebError> {
    let how = q
        .arrange
        .as_deref()
        .and_then(Arrangement::parse)
        .unwrap_or_default();
    let (s, mut media) = vic::series_workspace(&state.store, &caller.granted, SeriesId(id)).await?;
    if extract_missing(&state, &media).await {
        media = state
            .store
            .series_media(s.id, caller.user.principal.org)
            .await?;
    }
    let groups = arrange(&media, how)
        .into_iter()
        .map(|g| GroupView {
            label: g.label,
            cards: g.members.iter().map(|&i| card(&media[i])).collect(),
        })
        .collect();
    let points: Vec<MapPoint> = media
        .iter()
        .filter_map(|m| {
            let (lat, lon) = m.metadata.as_ref()?.gps?;
            Some(MapPoint {
                lat,
                lon,
                label: m
                    .file_name
                    .clone()
                    .unwrap_or_else(|| format!("entry {}", m.entry.0)),
            })
        })
        .collect();
    let clues = state
        .store
        .search_clues(&ClueFilter {
            series: Some(s.id),
            limit: 500,
            ..ClueFilter::default()
        })
        .await?
        .iter()
        .map(clue_row)
        .collect();
    Ok(render(&SeriesPage {
        top: TopBar::new(&caller.user, "victim"),
        id: s.id.0,
        name: s.name.clone(),
        status: s.status.to_string().replace('_', " "),
        notes: s.notes.clone().unwrap_or_default(),
        arrange: how.as_str(),
        total: media.len(),
        located: points.len(),
        map_svg: map::svg(&points, &format!("GPS positions of {}", s.name)),
        groups,
        clues,
        notice: None,
    })?
    .into_response())
}

fn look_of(w: &safeguard_store::WellnessSettings, revealed: bool) -> ThumbnailLook {
    ThumbnailLook {
        blur: if revealed {
            None
        } else {
            Some(w.blur_strength)
        },
        greyscale: w.greyscale,
        max_px: if revealed {
            w.thumbnail_px.saturating_mul(3)
        } else {
            w.thumbnail_px
        },
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct ThumbQuery {
    /// `large` for the marking view (still blurred).
    size: Option<String>,
}

/// `GET /victim/series/{id}/media/{entry}/thumbnail[?size=large]`: blurred, as the user's
/// settings say (`large`: three times the size, for marking regions).
pub async fn thumbnail(
    State(state): State<AppState>,
    caller: WebCaller<perm::ViewMedia>,
    Path((id, entry)): Path<(i64, i64)>,
    Query(q): Query<ThumbQuery>,
) -> Result<Response, WebError> {
    let m = vic::series_medium(
        &state.store,
        caller.user.principal.org,
        SeriesId(id),
        EntryId(entry),
    )
    .await?;
    let sha = m.sha256.ok_or(WebError::NotFound)?;
    let w = state
        .store
        .wellness_settings(caller.user.principal.user)
        .await?;
    let mut look = look_of(&w, false);
    if q.size.as_deref() == Some("large") {
        // Three times the size, three times the blur: no sharper than the grid's thumbnail.
        look.max_px = w.thumbnail_px.saturating_mul(3);
        look.blur = Some(w.blur_strength.saturating_mul(3));
    }
    let picture = state
        .media
        .thumbnail(&sha, look)
        .await
        .map_err(media_failure)?;
    Ok(picture_response(picture))
}

/// `POST /victim/series/{id}/media/{entry}/reveal`: writes `media.view`, then answers with the
/// unblurred picture.
pub async fn reveal(
    State(state): State<AppState>,
    Path((id, entry)): Path<(i64, i64)>,
    form: CsrfForm<WebCaller<perm::ViewMedia>>,
) -> Result<Response, WebError> {
    let caller = form.caller;
    let m = vic::series_medium(
        &state.store,
        caller.user.principal.org,
        SeriesId(id),
        EntryId(entry),
    )
    .await?;
    let sha = m.sha256.ok_or(WebError::NotFound)?;
    state
        .store
        .append_audit(&AuditEvent {
            actor_user: Some(caller.user.principal.user.0),
            actor: caller.user.principal.username.to_string(),
            action: "media.view".into(),
            object_kind: "known_entry".into(),
            object_id: entry.to_string(),
            detail: format!("series={id} sha256={}", sha.to_hex()),
        })
        .await?;
    let w = state
        .store
        .wellness_settings(caller.user.principal.user)
        .await?;
    let picture = state
        .media
        .thumbnail(&sha, look_of(&w, true))
        .await
        .map_err(media_failure)?;
    Ok(picture_response(picture))
}

// ---- one medium: mark clues ----------------------------------------------------------------------

struct ClueRow {
    id: i64,
    series: i64,
    series_name: String,
    entry: i64,
    category: String,
    description: String,
    country: String,
    place: String,
    status: String,
    org: String,
    by: String,
    at: String,
    has_region: bool,
    rx: u32,
    ry: u32,
    rw: u32,
    rh: u32,
}

fn clue_row(c: &Clue) -> ClueRow {
    let r = c.region;
    ClueRow {
        id: c.id,
        series: c.series.0,
        series_name: c.series_name.clone(),
        entry: c.entry.0,
        category: c.category.label().to_owned(),
        description: c.description.clone(),
        country: c.country.clone().unwrap_or_default(),
        place: c.place.clone().unwrap_or_default(),
        status: c.status.label().to_owned(),
        org: c.org_name.clone(),
        by: c.created_by_name.clone(),
        at: when(c.created_at),
        has_region: r.is_some(),
        rx: r.map_or(0, |r| r.x),
        ry: r.map_or(0, |r| r.y),
        rw: r.map_or(0, |r| r.w),
        rh: r.map_or(0, |r| r.h),
    }
}

#[derive(Template)]
#[template(path = "victim_medium.html")]
struct MediumPage {
    top: TopBar,
    series: i64,
    series_name: String,
    card: MediumCard,
    can_view_media: bool,
    categories: Vec<(String, String, bool)>,
    clues: Vec<ClueRow>,
    notice: Option<&'static str>,
    software: String,
}

/// `GET /victim/series/{id}/media/{entry}`: the picture (blurred), its metadata and clues, and
/// the form to mark a new clue (drag a rectangle on the picture).
pub async fn medium(
    State(state): State<AppState>,
    caller: WebCaller<perm::ManageKnownMaterial>,
    Path((id, entry)): Path<(i64, i64)>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let s = state.store.series(SeriesId(id)).await?;
    let m = vic::series_medium(
        &state.store,
        caller.user.principal.org,
        SeriesId(id),
        EntryId(entry),
    )
    .await?;
    let clues = state
        .store
        .search_clues(&ClueFilter {
            entry: Some(EntryId(entry)),
            limit: 200,
            ..ClueFilter::default()
        })
        .await?
        .iter()
        .map(clue_row)
        .collect();
    Ok(render(&MediumPage {
        top: TopBar::new(&caller.user, "victim"),
        series: id,
        series_name: s.name,
        software: m
            .metadata
            .as_ref()
            .and_then(|x| x.software.clone())
            .unwrap_or_default(),
        card: card(&m),
        can_view_media: caller.user.principal.can(Permission::ViewMedia),
        categories: categories(None),
        clues,
        notice: notice_text(q.notice.as_deref()),
    })?
    .into_response())
}

fn region_of(f: &super::form::FormFields) -> Result<Option<(u32, u32, u32, u32)>, WebError> {
    let get = |k: &str| f.text(k).map(|v| v.parse::<u32>());
    match (get("x"), get("y"), get("w"), get("h")) {
        (None, None, None, None) => Ok(None),
        (Some(Ok(x)), Some(Ok(y)), Some(Ok(w)), Some(Ok(h))) => Ok(Some((x, y, w, h))),
        _ => Err(WebError::BadRequest(
            "the region needs x, y, w and h as whole numbers (1/10000 of the picture)".into(),
        )),
    }
}

/// `POST /victim/series/{id}/media/{entry}/clues`.
pub async fn add_clue(
    State(state): State<AppState>,
    Path((id, entry)): Path<(i64, i64)>,
    form: CsrfForm<WebCaller<perm::ManageKnownMaterial>>,
) -> Result<Redirect, WebError> {
    let f = &form.fields;
    let region = region_of(f)?;
    vic::mark_clue(
        &state.store,
        &form.caller.granted,
        &ClueInput {
            series: id,
            entry,
            region,
            category: f.get("category").unwrap_or(""),
            description: f.get("description").unwrap_or(""),
            country: f.text("country"),
            place: f.text("place"),
        },
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/victim/series/{id}/media/{entry}?notice=clue"
    )))
}

// ---- clues across series -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "victim_clues.html")]
struct CluesPage {
    top: TopBar,
    q: String,
    country: String,
    categories: Vec<(String, String, bool)>,
    statuses: Vec<(String, String, bool)>,
    clues: Vec<ClueRow>,
    notice: Option<&'static str>,
}

#[derive(Debug, Deserialize, Default)]
pub struct CluesQuery {
    q: Option<String>,
    category: Option<String>,
    status: Option<String>,
    country: Option<String>,
    notice: Option<String>,
}

/// `GET /victim/clues?q=&category=&status=&country=`: clues of every series.
pub async fn clues(
    State(state): State<AppState>,
    caller: WebCaller<perm::ManageKnownMaterial>,
    Query(q): Query<CluesQuery>,
) -> Result<Response, WebError> {
    let category: Option<ClueCategory> = q
        .category
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse().ok());
    let status: Option<ClueStatus> = q
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse().ok());
    let country = q
        .country
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_uppercase);
    let text =
        q.q.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(200).collect::<String>());
    let found = vic::search_clues(
        &state.store,
        &caller.granted,
        &ClueFilter {
            text: text.clone(),
            category,
            status,
            country: country.clone(),
            limit: 200,
            ..ClueFilter::default()
        },
    )
    .await?;
    Ok(render(&CluesPage {
        top: TopBar::new(&caller.user, "victim"),
        q: text.unwrap_or_default(),
        country: country.unwrap_or_default(),
        categories: categories(category),
        statuses: statuses(status),
        clues: found.iter().map(clue_row).collect(),
        notice: notice_text(q.notice.as_deref()),
    })?
    .into_response())
}

/// `POST /victim/clues/{id}/status`.
pub async fn clue_status(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: CsrfForm<WebCaller<perm::ManageKnownMaterial>>,
) -> Result<Redirect, WebError> {
    let f = &form.fields;
    vic::update_clue(
        &state.store,
        &form.caller.granted,
        id,
        f.get("status").unwrap_or(""),
        f.text("country"),
        f.text("place"),
    )
    .await?;
    Ok(Redirect::to("/victim/clues?notice=clue-updated"))
}

/// `POST /victim/clues/{id}/objects`: cuts the clue's region as a Trace-an-Object candidate.
pub async fn cut(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: CsrfForm<WebCaller<perm::ManageKnownMaterial>>,
) -> Result<Redirect, WebError> {
    let caller = &form.caller;
    let clue = state.store.clue(id).await?;
    let m = vic::series_medium(
        &state.store,
        caller.user.principal.org,
        clue.series,
        clue.entry,
    )
    .await?;
    let sha = m.sha256.ok_or(WebError::NotFound)?;
    let bytes = state.media.source(&sha).await.map_err(media_failure)?;
    vic::cut_object(
        &state.store,
        &caller.granted,
        id,
        form.fields.get("title").unwrap_or(""),
        form.fields.get("question").unwrap_or(""),
        bytes,
    )
    .await?;
    Ok(Redirect::to("/victim/objects?notice=cut"))
}

// ---- Trace-an-Object candidates ------------------------------------------------------------------

struct ObjectRow {
    id: i64,
    title: String,
    question: String,
    state: String,
    state_code: &'static str,
    series: i64,
    clue: i64,
    cut_by: String,
    cut_at: String,
    approvals: Vec<String>,
    approved_by_me: bool,
    tips: i64,
    new_tips: i64,
    traced: String,
}

fn object_row(o: &PublicObject, me: safeguard_domain::account::UserId) -> ObjectRow {
    ObjectRow {
        id: o.id,
        title: o.title.clone(),
        question: o.question.clone(),
        state: o.state.label().to_owned(),
        state_code: o.state.as_str(),
        series: o.series.0,
        clue: o.clue,
        cut_by: o.cut_by_name.clone(),
        cut_at: when(o.cut_at),
        approvals: o
            .approvals
            .iter()
            .map(|a| format!("{} ({})", a.username, when(a.at)))
            .collect(),
        approved_by_me: o.approvals.iter().any(|a| a.user == me),
        tips: o.tips,
        new_tips: o.new_tips,
        traced: match (&o.traced_country, o.traced_at) {
            (Some(c), Some(t)) => format!("{c}, {}", when(t)),
            _ => String::new(),
        },
    }
}

#[derive(Template)]
#[template(path = "victim_objects.html")]
struct ObjectsPage {
    top: TopBar,
    objects: Vec<ObjectRow>,
    can_approve: bool,
    specialist: bool,
    notice: Option<&'static str>,
}

fn objects_caller(user: &SignedIn) -> Result<(bool, bool), WebError> {
    let specialist = user.principal.can(Permission::ManageKnownMaterial);
    let approver = user.principal.can(Permission::ApprovePublication);
    if !specialist && !approver {
        return Err(WebError::Forbidden(
            "Trace-an-Object candidates are for specialists and reviewers".into(),
        ));
    }
    Ok((specialist, approver))
}

/// `GET /victim/objects`: every candidate and public object, with approvals and tips.
pub async fn objects(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let (specialist, can_approve) = objects_caller(&user)?;
    let list = state.store.list_public_objects(&[]).await?;
    Ok(render(&ObjectsPage {
        objects: list
            .iter()
            .map(|o| object_row(o, user.principal.user))
            .collect(),
        top: TopBar::new(&user, "victim"),
        can_approve,
        specialist,
        notice: notice_text(q.notice.as_deref()),
    })?
    .into_response())
}

async fn crop_picture(
    state: &AppState,
    user: &SignedIn,
    id: i64,
    revealed: bool,
) -> Result<Response, WebError> {
    let (_, bytes) = state
        .store
        .public_object_crop(id)
        .await?
        .ok_or(WebError::NotFound)?;
    let w = state.store.wellness_settings(user.principal.user).await?;
    let look = look_of(&w, revealed);
    let picture = tokio::task::spawn_blocking(move || blurred_png(&bytes, look))
        .await
        .map_err(|_| WebError::Internal)?
        .map_err(media_failure)?;
    Ok(picture_response(picture))
}

/// `GET /victim/objects/{id}/crop`: the crop, blurred like every picture until revealed.
pub async fn crop(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    objects_caller(&user)?;
    crop_picture(&state, &user, id, false).await
}

/// `POST /victim/objects/{id}/crop/reveal`: audited (`media.view`), then the sharp crop.
pub async fn crop_reveal(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: CsrfForm<SignedIn>,
) -> Result<Response, WebError> {
    let user = form.caller;
    objects_caller(&user)?;
    state.store.public_object(id).await?;
    state
        .store
        .append_audit(&AuditEvent {
            actor_user: Some(user.principal.user.0),
            actor: user.principal.username.to_string(),
            action: "media.view".into(),
            object_kind: "public_object".into(),
            object_id: id.to_string(),
            detail: "crop".into(),
        })
        .await?;
    crop_picture(&state, &user, id, true).await
}

/// `POST /victim/objects/{id}/approve` (`no_person=1` required): one person's approval.
pub async fn approve(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: CsrfForm<WebCaller<perm::ApprovePublication>>,
) -> Result<Redirect, WebError> {
    let attested = form.fields.get("no_person") == Some("1");
    let published = vic::approve_object(&state.store, &form.caller.granted, id, attested).await?;
    Ok(Redirect::to(if published {
        "/victim/objects?notice=published"
    } else {
        "/victim/objects?notice=approved"
    }))
}

/// `POST /victim/objects/{id}/traced` (country, note).
pub async fn traced(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: CsrfForm<WebCaller<perm::ManageKnownMaterial>>,
) -> Result<Redirect, WebError> {
    vic::close_object(
        &state.store,
        &form.caller.granted,
        id,
        ObjectState::Traced,
        form.fields.text("country"),
        form.fields.text("note"),
    )
    .await?;
    Ok(Redirect::to("/victim/objects?notice=traced"))
}

/// `POST /victim/objects/{id}/withdraw`.
pub async fn withdraw(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: CsrfForm<WebCaller<perm::ManageKnownMaterial>>,
) -> Result<Redirect, WebError> {
    vic::close_object(
        &state.store,
        &form.caller.granted,
        id,
        ObjectState::Withdrawn,
        None,
        None,
    )
    .await?;
    Ok(Redirect::to("/victim/objects?notice=withdrawn"))
}

// ---- tips ----------------------------------------------------------------------------------------

struct TipRow {
    id: i64,
    object: i64,
    object_title: String,
    body: String,
    country: String,
    contact: String,
    at: String,
    status: String,
    triaged: String,
}

#[derive(Template)]
#[template(path = "victim_tips.html")]
struct TipsPage {
    top: TopBar,
    status: String,
    statuses: Vec<(String, String, bool)>,
    tips: Vec<TipRow>,
    notice: Option<&'static str>,
}

#[derive(Debug, Deserialize, Default)]
pub struct TipsQuery {
    status: Option<String>,
    object: Option<i64>,
    notice: Option<String>,
}

/// `GET /victim/tips?status=new&object=`: the triage queue of public tips.
pub async fn tips(
    State(state): State<AppState>,
    caller: WebCaller<perm::ManageKnownMaterial>,
    Query(q): Query<TipsQuery>,
) -> Result<Response, WebError> {
    let status: Option<TipStatus> = match q.status.as_deref() {
        None => Some(TipStatus::New),
        Some("all") | Some("") => None,
        Some(s) => Some(
            s.parse()
                .map_err(|e: safeguard_domain::victim::VictimError| {
                    WebError::BadRequest(e.to_string())
                })?,
        ),
    };
    let list = state.store.list_tips(q.object, status, 500).await?;
    Ok(render(&TipsPage {
        top: TopBar::new(&caller.user, "victim"),
        status: status.map_or("all", TipStatus::as_str).to_owned(),
        statuses: choices(TipStatus::ALL, TipStatus::as_str, TipStatus::label, status),
        tips: list
            .into_iter()
            .map(|t| TipRow {
                id: t.id,
                object: t.object,
                object_title: t.object_title,
                body: t.body,
                country: t.country.unwrap_or_default(),
                contact: t.contact.unwrap_or_default(),
                at: when(t.received_at),
                status: t.status.label().to_owned(),
                triaged: match (t.triaged_by_name, t.triaged_at) {
                    (Some(n), Some(at)) => format!("{n}, {}", when(at)),
                    _ => String::new(),
                },
            })
            .collect(),
        notice: notice_text(q.notice.as_deref()),
    })?
    .into_response())
}

/// `POST /victim/tips/{id}` (status).
pub async fn triage_tip(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: CsrfForm<WebCaller<perm::ManageKnownMaterial>>,
) -> Result<Redirect, WebError> {
    vic::triage_tip(
        &state.store,
        &form.caller.granted,
        id,
        form.fields.get("status").unwrap_or(""),
    )
    .await?;
    Ok(Redirect::to("/victim/tips?notice=triaged"))
}

// ---- taskforce editions --------------------------------------------------------------------------

struct EditionRow {
    id: i64,
    name: String,
    period: String,
    orgs: String,
    running: bool,
}

#[derive(Template)]
#[template(path = "victim_taskforces.html")]
struct TaskforcesPage {
    top: TopBar,
    editions: Vec<EditionRow>,
    notice: Option<&'static str>,
}

fn period(t: &safeguard_store::Taskforce) -> String {
    format!("{} – {}", t.starts_at.date(), t.ends_at.date())
}

/// `GET /victim/taskforces`: the editions the caller's organisation takes part in.
pub async fn taskforces(
    State(state): State<AppState>,
    caller: WebCaller<perm::ManageKnownMaterial>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let now = time::OffsetDateTime::now_utc();
    let editions = state
        .store
        .list_taskforces(caller.user.principal.org)
        .await?
        .iter()
        .map(|t| EditionRow {
            id: t.id,
            name: t.name.clone(),
            period: period(t),
            orgs: t
                .orgs
                .iter()
                .map(|(_, n)| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            running: t.starts_at <= now && now < t.ends_at,
        })
        .collect();
    Ok(render(&TaskforcesPage {
        top: TopBar::new(&caller.user, "victim"),
        editions,
        notice: notice_text(q.notice.as_deref()),
    })?
    .into_response())
}

/// `POST /victim/taskforces` (name, description, days): opens an edition starting now.
pub async fn create_taskforce(
    State(state): State<AppState>,
    form: CsrfForm<WebCaller<perm::ManageKnownMaterial>>,
) -> Result<Redirect, WebError> {
    let f = &form.fields;
    let days = parse_id(f.get("days"), "days")?;
    let t = vic::create_taskforce(
        &state.store,
        &form.caller.granted,
        f.get("name").unwrap_or(""),
        f.text("description"),
        time::OffsetDateTime::now_utc(),
        days,
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/victim/taskforces/{}?notice=created",
        t.id
    )))
}

struct EditionSeriesRow {
    id: i64,
    name: String,
    assignee: String,
    reviewed: String,
    clues: i64,
}

struct EventRow {
    at: String,
    kind: String,
    series: String,
    country: String,
    to_org: String,
    body: String,
    actor: String,
}

#[derive(Template)]
#[template(path = "victim_taskforce.html")]
struct TaskforcePage {
    top: TopBar,
    id: i64,
    name: String,
    description: String,
    period: String,
    orgs: Vec<String>,
    series: Vec<EditionSeriesRow>,
    all_series: Vec<(i64, String)>,
    timeline: Vec<EventRow>,
    count_series: i64,
    count_reviewed: i64,
    count_countries: i64,
    count_leads: i64,
    count_clues: i64,
    notice: Option<&'static str>,
}

/// `GET /victim/taskforces/{id}`: assignments, counts, timeline and the forms to work in it.
pub async fn taskforce(
    State(state): State<AppState>,
    caller: WebCaller<perm::ManageKnownMaterial>,
    Path(id): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let t = vic::taskforce(&state.store, &caller.granted, id).await?;
    let counts = state.store.taskforce_counts(id).await?;
    let series = state
        .store
        .taskforce_series(id)
        .await?
        .into_iter()
        .map(|s| EditionSeriesRow {
            id: s.series.0,
            name: s.name,
            assignee: s.assignee.map(|(_, n)| n).unwrap_or_default(),
            reviewed: s.reviewed_at.map(when).unwrap_or_default(),
            clues: s.clues,
        })
        .collect();
    let timeline = state
        .store
        .taskforce_timeline(id)
        .await?
        .into_iter()
        .rev()
        .map(|e| EventRow {
            at: when(e.at),
            kind: e.kind.label().to_owned(),
            series: e.series.map(|(_, n)| n).unwrap_or_default(),
            country: e.country.unwrap_or_default(),
            to_org: e.to_org.unwrap_or_default(),
            body: e.body.unwrap_or_default(),
            actor: match e.org {
                Some(o) => format!("{} ({o})", e.actor),
                None => e.actor,
            },
        })
        .collect();
    let all_series = state
        .store
        .list_series()
        .await?
        .into_iter()
        .filter(|s| s.merged_into.is_none())
        .map(|s| (s.id.0, s.name))
        .collect();
    Ok(render(&TaskforcePage {
        top: TopBar::new(&caller.user, "victim"),
        id,
        name: t.name.clone(),
        description: t.description.clone().unwrap_or_default(),
        period: period(&t),
        orgs: t.orgs.iter().map(|(_, n)| n.clone()).collect(),
        series,
        all_series,
        timeline,
        count_series: counts.series,
        count_reviewed: counts.series_reviewed,
        count_countries: counts.countries_suggested,
        count_leads: counts.leads_disseminated,
        count_clues: counts.clues,
        notice: notice_text(q.notice.as_deref()),
    })?
    .into_response())
}

/// `POST /victim/taskforces/{id}/act` (`action` = add_org, assign, reviewed, note, country, lead).
pub async fn taskforce_act(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: CsrfForm<WebCaller<perm::ManageKnownMaterial>>,
) -> Result<Redirect, WebError> {
    // An edition the caller's organisation is not in is not found, whatever the form says.
    vic::taskforce(&state.store, &form.caller.granted, id).await?;
    let f = &form.fields;
    let series = || parse_id(f.get("series"), "series");
    let opt_series = f.text("series").and_then(|s| s.parse().ok());
    let action = match f.get("action").unwrap_or("") {
        "add_org" => TaskforceAction::AddOrg {
            org: f.get("org").unwrap_or(""),
        },
        "assign" => TaskforceAction::Assign {
            series: series()?,
            username: f.text("username"),
        },
        "reviewed" => TaskforceAction::Reviewed { series: series()? },
        "note" => TaskforceAction::Note {
            series: opt_series,
            text: f.get("text").unwrap_or(""),
        },
        "country" => TaskforceAction::SuggestCountry {
            series: series()?,
            country: f.get("country").unwrap_or(""),
            text: f.text("text"),
        },
        "lead" => TaskforceAction::Lead {
            series: opt_series,
            to_org: f.get("to_org").unwrap_or(""),
            country: f.text("country"),
            text: f.get("text").unwrap_or(""),
        },
        other => {
            return Err(WebError::BadRequest(format!(
                "unknown action {:?}",
                other.chars().take(20).collect::<String>()
            )))
        }
    };
    vic::taskforce_act(&state.store, &form.caller.granted, id, &action).await?;
    Ok(Redirect::to(&format!(
        "/victim/taskforces/{id}?notice=done"
    )))
}
