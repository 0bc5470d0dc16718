//! Victim identification use cases: the series workspace (media with extracted metadata),
//! clues, "Trace an Object" (crops, two-person approval, public tips, traced objects) and
//! taskforce editions. Design: `docs/victim-identification.md`.
//!
//! Specialists' work takes a `Granted<ManageKnownMaterial>`, approvals a
//! `Granted<ApprovePublication>`; only [`submit_tip`] is public (the public site calls it without
//! any sign-in, after its own rate limit).

pub mod demo;
pub mod media;
pub mod scenes;

use safeguard_domain::account::{perm, Granted, OrgId, UserId, Username};
use safeguard_domain::known::{EntryId, Series, SeriesId};
use safeguard_domain::report::FieldError;
use safeguard_domain::victim::{
    check_tip, checked_text, country_code, ClueCategory, ClueStatus, ObjectState, Region,
    TaskforceEventKind, TipForm, TipRefusal, TipStatus,
};
use safeguard_store::{
    ApprovalOutcome, Clue, ClueFilter, KnownActor, NewClue, NewObject, NewTaskforceEvent,
    PublicObject, SeriesMedium, Store, Taskforce, TipOutcome,
};
use time::OffsetDateTime;

use crate::EngineError;

fn invalid(field: &str, message: impl Into<String>) -> EngineError {
    EngineError::Invalid(vec![FieldError::new(field, message)])
}

fn actor<P: safeguard_domain::account::RequiredPermission>(
    granted: &Granted<P>,
) -> (Option<i64>, String) {
    let p = granted.principal();
    (Some(p.user.0), p.username.to_string())
}

fn known_actor(a: &(Option<i64>, String)) -> KnownActor<'_> {
    KnownActor {
        user: a.0,
        name: &a.1,
    }
}

fn optional_country(field: &str, raw: Option<&str>) -> Result<Option<String>, EngineError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(c) => country_code(c)
            .map(Some)
            .map_err(|e| invalid(field, e.to_string())),
        None => Ok(None),
    }
}

fn optional_text(
    field: &str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, EngineError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(t) => checked_text("text", t, 1, max)
            .map(Some)
            .map_err(|e| invalid(field, e.to_string())),
        None => Ok(None),
    }
}

// ---- the series workspace -------------------------------------------------------------------

/// A series and the media of it the caller's organisation may see.
pub async fn series_workspace(
    store: &Store,
    granted: &Granted<perm::ManageKnownMaterial>,
    series: SeriesId,
) -> Result<(Series, Vec<SeriesMedium>), EngineError> {
    let s = store.series(series).await?;
    let media = store.series_media(series, granted.principal().org).await?;
    Ok((s, media))
}

/// One medium of a series, if the caller's organisation may see it.
pub async fn series_medium(
    store: &Store,
    org: OrgId,
    series: SeriesId,
    entry: EntryId,
) -> Result<SeriesMedium, EngineError> {
    store
        .series_media(series, org)
        .await?
        .into_iter()
        .find(|m| m.entry == entry)
        .ok_or(EngineError::NotFound {
            what: "medium",
            id: entry.0.to_string(),
        })
}

/// Reads and stores the metadata of a medium's bytes (off the async threads).
pub async fn record_metadata(
    store: &Store,
    sha256: &safeguard_domain::digest::Sha256,
    bytes: Vec<u8>,
) -> Result<safeguard_store::MediaMetadata, EngineError> {
    let meta = tokio::task::spawn_blocking(move || media::extract_metadata(&bytes))
        .await
        .map_err(|e| EngineError::Conflict(format!("metadata extraction failed: {e}")))?;
    store.put_media_metadata(sha256, &meta).await?;
    Ok(meta)
}

// ---- clues ---------------------------------------------------------------------------------

/// A clue as entered by a specialist.
#[derive(Debug, Clone, Default)]
pub struct ClueInput<'a> {
    pub series: i64,
    pub entry: i64,
    /// `x, y, w, h` in 1/10000 of the picture; required unless the category is `language_heard`.
    pub region: Option<(u32, u32, u32, u32)>,
    pub category: &'a str,
    pub description: &'a str,
    pub country: Option<&'a str>,
    pub place: Option<&'a str>,
}

/// Marks a clue on a medium of a series the caller's organisation can see.
pub async fn mark_clue(
    store: &Store,
    granted: &Granted<perm::ManageKnownMaterial>,
    input: &ClueInput<'_>,
) -> Result<Clue, EngineError> {
    let mut errors = Vec::new();
    let category: Option<ClueCategory> = match input.category.parse() {
        Ok(c) => Some(c),
        Err(e) => {
            errors.push(FieldError::new("category", e.to_string()));
            None
        }
    };
    let region = match input.region {
        Some((x, y, w, h)) => match Region::new(x, y, w, h) {
            Ok(r) => Some(r),
            Err(e) => {
                errors.push(FieldError::new("region", e.to_string()));
                None
            }
        },
        None => {
            if category.is_some_and(|c| c != ClueCategory::LanguageHeard) {
                errors.push(FieldError::new(
                    "region",
                    "mark the region of the picture that shows the clue",
                ));
            }
            None
        }
    };
    let description = checked_text("description", input.description, 3, 2_000)
        .map_err(|e| errors.push(FieldError::new("description", e.to_string())))
        .ok();
    let country = optional_country("country", input.country)
        .map_err(|_| {
            errors.push(FieldError::new(
                "country",
                "use a two-letter country code (e.g. NL)",
            ))
        })
        .ok()
        .flatten();
    let place = match optional_text("place", input.place, 200) {
        Ok(p) => p,
        Err(_) => {
            errors.push(FieldError::new("place", "at most 200 characters"));
            None
        }
    };
    let (Some(category), Some(description), true) = (category, description, errors.is_empty())
    else {
        return Err(EngineError::Invalid(errors));
    };
    let org = granted.principal().org;
    series_medium(store, org, SeriesId(input.series), EntryId(input.entry)).await?;
    let a = actor(granted);
    Ok(store
        .add_clue(
            &NewClue {
                series: SeriesId(input.series),
                entry: EntryId(input.entry),
                region,
                category,
                description: &description,
                country: country.as_deref(),
                place: place.as_deref(),
                org,
            },
            known_actor(&a),
        )
        .await?)
}

/// Clues across every series.
pub async fn search_clues(
    store: &Store,
    _granted: &Granted<perm::ManageKnownMaterial>,
    filter: &ClueFilter,
) -> Result<Vec<Clue>, EngineError> {
    Ok(store.search_clues(filter).await?)
}

/// Sets a clue's status, and optionally its suspected country and place.
pub async fn update_clue(
    store: &Store,
    granted: &Granted<perm::ManageKnownMaterial>,
    id: i64,
    status: &str,
    country: Option<&str>,
    place: Option<&str>,
) -> Result<Clue, EngineError> {
    let status: ClueStatus = status
        .parse()
        .map_err(|e: safeguard_domain::victim::VictimError| invalid("status", e.to_string()))?;
    let country = optional_country("country", country)?;
    let place = optional_text("place", place, 200)?;
    let a = actor(granted);
    Ok(store
        .update_clue(
            id,
            status,
            country.as_deref(),
            place.as_deref(),
            known_actor(&a),
        )
        .await?)
}

// ---- Trace an Object -----------------------------------------------------------------------

/// Cuts the clue's region out of `source` (the medium's bytes) as a candidate public object.
pub async fn cut_object(
    store: &Store,
    granted: &Granted<perm::ManageKnownMaterial>,
    clue_id: i64,
    title: &str,
    question: &str,
    source: Vec<u8>,
) -> Result<PublicObject, EngineError> {
    let clue = store.clue(clue_id).await?;
    let Some(region) = clue.region else {
        return Err(invalid("clue", "this clue has no region to cut"));
    };
    let title =
        checked_text("title", title, 3, 120).map_err(|e| invalid("title", e.to_string()))?;
    let question = checked_text("question", question, 5, 300)
        .map_err(|e| invalid("question", e.to_string()))?;
    let crop = tokio::task::spawn_blocking(move || media::crop(&source, region))
        .await
        .map_err(|e| EngineError::Conflict(format!("cropping failed: {e}")))?
        .map_err(|e| invalid("clue", e.to_string()))?;
    let a = actor(granted);
    Ok(store
        .add_public_object(
            &NewObject {
                clue: clue_id,
                title: &title,
                question: &question,
                crop_png: &crop.png,
                crop_width: crop.width,
                crop_height: crop.height,
            },
            known_actor(&a),
        )
        .await?)
}

/// One person's approval of a crop. `no_person_attested` is their statement that the crop shows
/// nothing of a person (no face, body, hand, hair, voice or name); without it nothing is recorded.
/// Returns whether the object is now published.
pub async fn approve_object(
    store: &Store,
    granted: &Granted<perm::ApprovePublication>,
    id: i64,
    no_person_attested: bool,
) -> Result<bool, EngineError> {
    if !no_person_attested {
        return Err(invalid(
            "no_person",
            "confirm that the crop shows nothing of a person before approving it",
        ));
    }
    let a = actor(granted);
    match store
        .approve_public_object(id, granted.principal().user, known_actor(&a))
        .await?
    {
        ApprovalOutcome::Recorded { published } => Ok(published),
        ApprovalOutcome::SamePerson => Err(EngineError::Conflict(
            "you already approved this crop: the second approval must come from another person"
                .into(),
        )),
        ApprovalOutcome::NotPending(state) => Err(EngineError::Conflict(format!(
            "this object is {} and takes no approval",
            state.label().to_lowercase()
        ))),
    }
}

/// Marks a published object traced (shown solved on the public site) or withdraws it.
pub async fn close_object(
    store: &Store,
    granted: &Granted<perm::ManageKnownMaterial>,
    id: i64,
    to: ObjectState,
    country: Option<&str>,
    note: Option<&str>,
) -> Result<PublicObject, EngineError> {
    let country = optional_country("country", country)?;
    if to == ObjectState::Traced && country.is_none() {
        return Err(invalid(
            "country",
            "name the country the object was traced to",
        ));
    }
    let note = optional_text("note", note, 1_000)?;
    let a = actor(granted);
    Ok(store
        .close_public_object(id, to, country.as_deref(), note.as_deref(), known_actor(&a))
        .await?)
}

/// Why a public tip was not stored.
#[derive(Debug, thiserror::Error)]
pub enum TipError {
    #[error(transparent)]
    Refused(#[from] TipRefusal),
    #[error("this object does not take tips")]
    NotPublic,
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Stores an anonymous tip about a published object after the local spam checks. Public: the
/// caller has no account; nothing about the sender is stored.
pub async fn submit_tip(store: &Store, object: i64, form: &TipForm<'_>) -> Result<i64, TipError> {
    let tip = check_tip(form)?;
    match store
        .add_tip(
            object,
            &tip.text,
            &tip.digest,
            tip.country.as_deref(),
            tip.contact.as_deref(),
        )
        .await
        .map_err(EngineError::from)?
    {
        TipOutcome::Stored(id) => Ok(id),
        TipOutcome::Duplicate => Err(TipError::Refused(TipRefusal::Duplicate)),
        TipOutcome::NotPublic => Err(TipError::NotPublic),
    }
}

/// A specialist's verdict on a tip.
pub async fn triage_tip(
    store: &Store,
    granted: &Granted<perm::ManageKnownMaterial>,
    id: i64,
    status: &str,
) -> Result<(), EngineError> {
    let status: TipStatus = status
        .parse()
        .map_err(|e: safeguard_domain::victim::VictimError| invalid("status", e.to_string()))?;
    let a = actor(granted);
    Ok(store.triage_tip(id, status, known_actor(&a)).await?)
}

// ---- taskforce editions --------------------------------------------------------------------

/// Opens an edition from `starts_at` for `days` days.
pub async fn create_taskforce(
    store: &Store,
    granted: &Granted<perm::ManageKnownMaterial>,
    name: &str,
    description: Option<&str>,
    starts_at: OffsetDateTime,
    days: i64,
) -> Result<Taskforce, EngineError> {
    let name = checked_text("name", name, 3, 120).map_err(|e| invalid("name", e.to_string()))?;
    let description = optional_text("description", description, 2_000)?;
    if !(1..=366).contains(&days) {
        return Err(invalid("days", "an edition lasts 1 to 366 days"));
    }
    let a = actor(granted);
    Ok(store
        .create_taskforce(
            &name,
            description.as_deref(),
            starts_at,
            starts_at + time::Duration::days(days),
            granted.principal().org,
            known_actor(&a),
        )
        .await?)
}

/// An edition the caller's organisation takes part in (others answer not found).
pub async fn taskforce(
    store: &Store,
    granted: &Granted<perm::ManageKnownMaterial>,
    id: i64,
) -> Result<Taskforce, EngineError> {
    if !store.taskforce_has_org(id, granted.principal().org).await? {
        return Err(EngineError::NotFound {
            what: "taskforce edition",
            id: id.to_string(),
        });
    }
    Ok(store.taskforce(id).await?)
}

/// What a participant does in an edition.
#[derive(Debug, Clone)]
pub enum TaskforceAction<'a> {
    /// Invite an organisation (by name).
    AddOrg { org: &'a str },
    /// Add a series, optionally assigned to a user (by username).
    Assign {
        series: i64,
        username: Option<&'a str>,
    },
    /// Mark a series reviewed.
    Reviewed { series: i64 },
    /// A shared note, optionally about a series.
    Note { series: Option<i64>, text: &'a str },
    /// Suggest a country for a series.
    SuggestCountry {
        series: i64,
        country: &'a str,
        text: Option<&'a str>,
    },
    /// Record a lead disseminated to an organisation.
    Lead {
        series: Option<i64>,
        to_org: &'a str,
        country: Option<&'a str>,
        text: &'a str,
    },
}

/// Applies an action to an edition the caller's organisation takes part in.
pub async fn taskforce_act(
    store: &Store,
    granted: &Granted<perm::ManageKnownMaterial>,
    id: i64,
    action: &TaskforceAction<'_>,
) -> Result<(), EngineError> {
    taskforce(store, granted, id).await?;
    let org = granted.principal().org;
    let a = actor(granted);
    let who = known_actor(&a);
    let series_of = |s: i64| async move {
        store
            .series(SeriesId(s))
            .await
            .map(|s| s.id)
            .map_err(EngineError::from)
    };
    match action {
        TaskforceAction::AddOrg { org: name } => {
            let other = store
                .org_by_name(name.trim())
                .await
                .map_err(|_| invalid("org", "no organisation of that name"))?;
            store.add_taskforce_org(id, other.id, who, org).await?;
        }
        TaskforceAction::Assign { series, username } => {
            let series = series_of(*series).await?;
            let assignee: Option<UserId> = match username.map(str::trim).filter(|u| !u.is_empty()) {
                Some(u) => {
                    let name =
                        Username::parse(u).map_err(|e| invalid("username", e.to_string()))?;
                    let creds = store
                        .credentials(&name)
                        .await
                        .map_err(|_| invalid("username", "no such user"))?;
                    if !store.taskforce_has_org(id, creds.principal.org).await? {
                        return Err(invalid(
                            "username",
                            "this user's organisation does not take part in the edition",
                        ));
                    }
                    Some(creds.principal.user)
                }
                None => None,
            };
            store
                .assign_taskforce_series(id, series, assignee, who, org)
                .await?;
        }
        TaskforceAction::Reviewed { series } => {
            store
                .review_taskforce_series(id, SeriesId(*series), granted.principal().user, who, org)
                .await?;
        }
        TaskforceAction::Note { series, text } => {
            let series = match series {
                Some(s) => Some(series_of(*s).await?),
                None => None,
            };
            let text =
                checked_text("note", text, 1, 4_000).map_err(|e| invalid("text", e.to_string()))?;
            store
                .add_taskforce_event(
                    id,
                    &NewTaskforceEvent {
                        kind: TaskforceEventKind::Note,
                        series,
                        clue: None,
                        country: None,
                        to_org: None,
                        body: Some(&text),
                        org: Some(org),
                    },
                    who,
                )
                .await?;
        }
        TaskforceAction::SuggestCountry {
            series,
            country,
            text,
        } => {
            let series = series_of(*series).await?;
            let country = country_code(country).map_err(|e| invalid("country", e.to_string()))?;
            let text = optional_text("text", *text, 2_000)?;
            store
                .add_taskforce_event(
                    id,
                    &NewTaskforceEvent {
                        kind: TaskforceEventKind::CountrySuggested,
                        series: Some(series),
                        clue: None,
                        country: Some(&country),
                        to_org: None,
                        body: text.as_deref(),
                        org: Some(org),
                    },
                    who,
                )
                .await?;
        }
        TaskforceAction::Lead {
            series,
            to_org,
            country,
            text,
        } => {
            let series = match series {
                Some(s) => Some(series_of(*s).await?),
                None => None,
            };
            let to = store
                .org_by_name(to_org.trim())
                .await
                .map_err(|_| invalid("to_org", "no organisation of that name"))?;
            let country = optional_country("country", *country)?;
            let text =
                checked_text("lead", text, 3, 4_000).map_err(|e| invalid("text", e.to_string()))?;
            store
                .add_taskforce_event(
                    id,
                    &NewTaskforceEvent {
                        kind: TaskforceEventKind::Lead,
                        series,
                        clue: None,
                        country: country.as_deref(),
                        to_org: Some(to.id),
                        body: Some(&text),
                        org: Some(org),
                    },
                    who,
                )
                .await?;
        }
    }
    Ok(())
}
