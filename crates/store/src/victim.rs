//! Victim identification: metadata of series media, clues, "Trace an Object" public objects (with
//! their approvals and tips) and taskforce editions. Design: `docs/victim-identification.md`.
//!
//! Every change a person makes writes an audit entry in the same transaction. Public tips carry
//! no trace of their sender (no address, no agent); the audit entry of a tip names `public`.

use safeguard_domain::account::{OrgId, UserId};
use safeguard_domain::audit::AuditEvent;
use safeguard_domain::digest::Sha256;
use safeguard_domain::known::{EntryId, HashSetId, PdqHash, SeriesId};
use safeguard_domain::victim::{
    ClueCategory, ClueStatus, ObjectState, Region, TaskforceEventKind, TipStatus, APPROVALS_NEEDED,
};
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

use crate::known::KnownActor;
use crate::time_codec::{from_micros, micros, now_micros};
use crate::{audit, Store, StoreError};

/// What was read from a medium.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaMetadata {
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The capture time the camera wrote (its local time, read as UTC: EXIF rarely says the zone).
    pub captured_at: Option<OffsetDateTime>,
    pub camera_make: Option<String>,
    pub camera_model: Option<String>,
    pub camera_serial: Option<String>,
    pub software: Option<String>,
    /// Latitude and longitude in degrees.
    pub gps: Option<(f64, f64)>,
    pub pdq: Option<PdqHash>,
    /// Why nothing (or not everything) could be read.
    pub error: Option<String>,
}

/// One medium of a series, with what is known of it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesMedium {
    pub entry: EntryId,
    pub hash_set: HashSetId,
    pub sha256: Option<Sha256>,
    /// The PDQ of the entry (from its hash set), if any.
    pub entry_pdq: Option<PdqHash>,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    /// `None` until metadata was extracted.
    pub metadata: Option<MediaMetadata>,
    /// Clues marked on it.
    pub clues: i64,
}

impl SeriesMedium {
    /// The PDQ to compare by: the extracted one, else the hash set's.
    pub fn pdq(&self) -> Option<PdqHash> {
        self.metadata
            .as_ref()
            .and_then(|m| m.pdq)
            .or(self.entry_pdq)
    }
}

/// A clue to record.
#[derive(Debug, Clone)]
pub struct NewClue<'a> {
    pub series: SeriesId,
    pub entry: EntryId,
    pub region: Option<Region>,
    pub category: ClueCategory,
    pub description: &'a str,
    pub country: Option<&'a str>,
    pub place: Option<&'a str>,
    pub org: OrgId,
}

/// A clue as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clue {
    pub id: i64,
    pub series: SeriesId,
    pub series_name: String,
    pub entry: EntryId,
    pub region: Option<Region>,
    pub category: ClueCategory,
    pub description: String,
    pub country: Option<String>,
    pub place: Option<String>,
    pub status: ClueStatus,
    pub org: OrgId,
    pub org_name: String,
    pub created_by_name: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Which clues to list.
#[derive(Debug, Clone, Default)]
pub struct ClueFilter {
    /// Words that must all appear in the description, place or series name (case-insensitive).
    pub text: Option<String>,
    pub category: Option<ClueCategory>,
    pub status: Option<ClueStatus>,
    pub country: Option<String>,
    pub series: Option<SeriesId>,
    pub entry: Option<EntryId>,
    pub limit: u32,
}

/// One approval of a crop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub user: UserId,
    pub username: String,
    pub at: OffsetDateTime,
}

/// A Trace-an-Object candidate or public object (without its picture).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicObject {
    pub id: i64,
    pub clue: i64,
    pub series: SeriesId,
    pub title: String,
    pub question: String,
    pub state: ObjectState,
    pub crop_width: u32,
    pub crop_height: u32,
    pub cut_by: Option<UserId>,
    pub cut_by_name: String,
    pub cut_at: OffsetDateTime,
    pub published_at: Option<OffsetDateTime>,
    pub traced_at: Option<OffsetDateTime>,
    pub traced_country: Option<String>,
    pub traced_note: Option<String>,
    pub approvals: Vec<Approval>,
    pub tips: i64,
    pub new_tips: i64,
}

/// A crop to record.
#[derive(Debug, Clone)]
pub struct NewObject<'a> {
    pub clue: i64,
    pub title: &'a str,
    pub question: &'a str,
    pub crop_png: &'a [u8],
    pub crop_width: u32,
    pub crop_height: u32,
}

/// The answer to an approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalOutcome {
    /// Recorded; the object is published when `published`.
    Recorded { published: bool },
    /// This person already approved it: a second approval must come from someone else.
    SamePerson,
    /// The object is not awaiting approval.
    NotPending(ObjectState),
}

/// A tip as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tip {
    pub id: i64,
    pub object: i64,
    pub object_title: String,
    pub body: String,
    pub country: Option<String>,
    pub contact: Option<String>,
    pub received_at: OffsetDateTime,
    pub status: TipStatus,
    pub triaged_by_name: Option<String>,
    pub triaged_at: Option<OffsetDateTime>,
}

/// What storing a tip did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TipOutcome {
    Stored(i64),
    /// The same text already came for this object.
    Duplicate,
    /// The object is not on the public site (anymore).
    NotPublic,
}

/// Figures of the public site.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublicStatistics {
    pub tips_received: i64,
    pub objects_published: i64,
    pub objects_traced: i64,
    pub countries_identified: i64,
}

/// A taskforce edition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taskforce {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub created_by_name: String,
    pub orgs: Vec<(OrgId, String)>,
}

/// A series in an edition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskforceSeries {
    pub series: SeriesId,
    pub name: String,
    pub assignee: Option<(UserId, String)>,
    pub reviewed_at: Option<OffsetDateTime>,
    pub clues: i64,
}

/// One entry of an edition's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskforceEvent {
    pub id: i64,
    pub kind: TaskforceEventKind,
    pub series: Option<(SeriesId, String)>,
    pub clue: Option<i64>,
    pub country: Option<String>,
    pub to_org: Option<String>,
    pub body: Option<String>,
    pub actor: String,
    pub org: Option<String>,
    pub at: OffsetDateTime,
}

/// An event to add to a timeline.
#[derive(Debug, Clone)]
pub struct NewTaskforceEvent<'a> {
    pub kind: TaskforceEventKind,
    pub series: Option<SeriesId>,
    pub clue: Option<i64>,
    pub country: Option<&'a str>,
    pub to_org: Option<OrgId>,
    pub body: Option<&'a str>,
    pub org: Option<OrgId>,
}

/// The counts of an edition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskforceCounts {
    pub series: i64,
    pub series_reviewed: i64,
    pub countries_suggested: i64,
    pub leads_disseminated: i64,
    pub clues: i64,
}

fn event(actor: KnownActor<'_>, action: &str, kind: &str, id: i64, detail: String) -> AuditEvent {
    AuditEvent {
        actor_user: actor.user,
        actor: actor.name.to_owned(),
        action: action.to_owned(),
        object_kind: kind.to_owned(),
        object_id: id.to_string(),
        detail,
    }
}

fn corrupt<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::corrupt(e.to_string())
}

fn opt_time(v: Option<i64>) -> Result<Option<OffsetDateTime>, StoreError> {
    v.map(from_micros).transpose()
}

fn u32_of(v: Option<i64>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

fn hash32(v: Option<Vec<u8>>) -> Option<[u8; 32]> {
    v.and_then(|b| b.try_into().ok())
}

fn metadata_from_row(r: &AnyRow) -> Result<Option<MediaMetadata>, StoreError> {
    let extracted: Option<i64> = r.try_get("extracted_at")?;
    if extracted.is_none() {
        return Ok(None);
    }
    let lat: Option<i64> = r.try_get("gps_lat_e6")?;
    let lon: Option<i64> = r.try_get("gps_lon_e6")?;
    Ok(Some(MediaMetadata {
        width: u32_of(r.try_get("width")?),
        height: u32_of(r.try_get("height")?),
        captured_at: opt_time(r.try_get("captured_at")?)?,
        camera_make: r.try_get("camera_make")?,
        camera_model: r.try_get("camera_model")?,
        camera_serial: r.try_get("camera_serial")?,
        software: r.try_get("software")?,
        gps: lat.zip(lon).map(|(a, b)| (a as f64 / 1e6, b as f64 / 1e6)),
        pdq: hash32(r.try_get("meta_pdq")?).map(PdqHash),
        error: r.try_get("error")?,
    }))
}

const CLUE_COLUMNS: &str =
    "c.id, c.series_id, s.name AS series_name, c.entry_id, c.region_x, c.region_y, \
     c.region_w, c.region_h, c.category, c.description, c.country, c.place, c.status, c.org_id, \
     o.name AS org_name, c.created_by_name, c.created_at, c.updated_at";

const CLUE_FROM: &str =
    "FROM clue c JOIN series s ON s.id = c.series_id JOIN organisation o ON o.id = c.org_id";

fn clue_from_row(r: &AnyRow) -> Result<Clue, StoreError> {
    let rx: Option<i64> = r.try_get("region_x")?;
    let region = match (
        u32_of(rx),
        u32_of(r.try_get("region_y")?),
        u32_of(r.try_get("region_w")?),
        u32_of(r.try_get("region_h")?),
    ) {
        (Some(x), Some(y), Some(w), Some(h)) => Some(Region::new(x, y, w, h).map_err(corrupt)?),
        _ => None,
    };
    let category: String = r.try_get("category")?;
    let status: String = r.try_get("status")?;
    Ok(Clue {
        id: r.try_get("id")?,
        series: SeriesId(r.try_get("series_id")?),
        series_name: r.try_get("series_name")?,
        entry: EntryId(r.try_get("entry_id")?),
        region,
        category: category.parse().map_err(corrupt)?,
        description: r.try_get("description")?,
        country: r.try_get("country")?,
        place: r.try_get("place")?,
        status: status.parse().map_err(corrupt)?,
        org: OrgId(r.try_get("org_id")?),
        org_name: r.try_get("org_name")?,
        created_by_name: r.try_get("created_by_name")?,
        created_at: from_micros(r.try_get("created_at")?)?,
        updated_at: from_micros(r.try_get("updated_at")?)?,
    })
}

const OBJECT_COLUMNS: &str = "p.id, p.clue_id, c.series_id, p.title, p.question, p.state, p.crop_width, \
     p.crop_height, p.cut_by, p.cut_by_name, p.cut_at, p.published_at, p.traced_at, p.traced_country, \
     p.traced_note, \
     (SELECT COUNT(*) FROM public_tip t WHERE t.object_id = p.id) AS tips, \
     (SELECT COUNT(*) FROM public_tip t WHERE t.object_id = p.id AND t.status = 'new') AS new_tips";

const OBJECT_FROM: &str = "FROM public_object p JOIN clue c ON c.id = p.clue_id";

fn object_from_row(r: &AnyRow) -> Result<PublicObject, StoreError> {
    let state: String = r.try_get("state")?;
    let cut_by: Option<i64> = r.try_get("cut_by")?;
    Ok(PublicObject {
        id: r.try_get("id")?,
        clue: r.try_get("clue_id")?,
        series: SeriesId(r.try_get("series_id")?),
        title: r.try_get("title")?,
        question: r.try_get("question")?,
        state: state.parse().map_err(corrupt)?,
        crop_width: u32_of(r.try_get("crop_width")?).unwrap_or(0),
        crop_height: u32_of(r.try_get("crop_height")?).unwrap_or(0),
        cut_by: cut_by.map(UserId),
        cut_by_name: r.try_get("cut_by_name")?,
        cut_at: from_micros(r.try_get("cut_at")?)?,
        published_at: opt_time(r.try_get("published_at")?)?,
        traced_at: opt_time(r.try_get("traced_at")?)?,
        traced_country: r.try_get("traced_country")?,
        traced_note: r.try_get("traced_note")?,
        approvals: Vec::new(),
        tips: r.try_get("tips")?,
        new_tips: r.try_get("new_tips")?,
    })
}

fn tip_from_row(r: &AnyRow) -> Result<Tip, StoreError> {
    let status: String = r.try_get("status")?;
    Ok(Tip {
        id: r.try_get("id")?,
        object: r.try_get("object_id")?,
        object_title: r.try_get("title")?,
        body: r.try_get("body")?,
        country: r.try_get("country")?,
        contact: r.try_get("contact")?,
        received_at: from_micros(r.try_get("received_at")?)?,
        status: status.parse().map_err(corrupt)?,
        triaged_by_name: r.try_get("triaged_by_name")?,
        triaged_at: opt_time(r.try_get("triaged_at")?)?,
    })
}

/// `%word%` for LIKE, with the wildcard characters of the word escaped.
fn like_pattern(word: &str) -> String {
    let mut p = String::from("%");
    for c in word.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl Store {
    // ---- media of a series -------------------------------------------------------------------

    /// The media of a series that `org` may see (entries of its own or shared, enabled hash
    /// sets), with their metadata and clue counts, by entry id.
    pub async fn series_media(
        &self,
        series: SeriesId,
        org: OrgId,
    ) -> Result<Vec<SeriesMedium>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.id, e.hash_set_id, e.sha256, e.pdq, e.file_names, e.mime_type, \
             m.width, m.height, m.captured_at, m.camera_make, m.camera_model, m.camera_serial, m.software, \
             m.gps_lat_e6, m.gps_lon_e6, m.pdq AS meta_pdq, m.error, m.extracted_at, \
             (SELECT COUNT(*) FROM clue c WHERE c.entry_id = e.id) AS clues \
             FROM known_entry e JOIN hash_set h ON h.id = e.hash_set_id \
             LEFT JOIN media_metadata m ON m.sha256 = e.sha256 \
             WHERE e.series_id = $1 AND e.disabled = 0 AND h.enabled = 1 AND (h.owner_org = $2 OR h.shared = 1) \
             ORDER BY e.id",
        )
        .bind(series.0)
        .bind(org.0)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let names: Option<String> = r.try_get("file_names")?;
                let file_name = names
                    .and_then(|t| serde_json::from_str::<Vec<String>>(&t).ok())
                    .and_then(|v| v.into_iter().next());
                Ok(SeriesMedium {
                    entry: EntryId(r.try_get("id")?),
                    hash_set: HashSetId(r.try_get("hash_set_id")?),
                    sha256: hash32(r.try_get("sha256")?).map(Sha256::from_bytes),
                    entry_pdq: hash32(r.try_get("pdq")?).map(PdqHash),
                    file_name,
                    mime_type: r.try_get("mime_type")?,
                    metadata: metadata_from_row(r)?,
                    clues: r.try_get("clues")?,
                })
            })
            .collect()
    }

    /// Stores (or replaces) what was read from the medium with this SHA-256.
    pub async fn put_media_metadata(
        &self,
        sha256: &Sha256,
        m: &MediaMetadata,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM media_metadata WHERE sha256 = $1")
            .bind(sha256.as_bytes().to_vec())
            .execute(&mut *tx)
            .await?;
        let e6 = |v: f64| (v * 1e6).round() as i64;
        sqlx::query(
            "INSERT INTO media_metadata (sha256, width, height, captured_at, camera_make, camera_model, \
             camera_serial, software, gps_lat_e6, gps_lon_e6, pdq, error, extracted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(sha256.as_bytes().to_vec())
        .bind(m.width.map(i64::from))
        .bind(m.height.map(i64::from))
        .bind(m.captured_at.map(micros))
        .bind(m.camera_make.as_deref())
        .bind(m.camera_model.as_deref())
        .bind(m.camera_serial.as_deref())
        .bind(m.software.as_deref())
        .bind(m.gps.map(|(lat, _)| e6(lat)))
        .bind(m.gps.map(|(_, lon)| e6(lon)))
        .bind(m.pdq.map(|p| p.0.to_vec()))
        .bind(m.error.as_deref())
        .bind(now_micros())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ---- clues -------------------------------------------------------------------------------

    /// Records a clue (and, when the series is in a running taskforce edition of the clue's
    /// organisation, a `clue` entry on its timeline).
    pub async fn add_clue(
        &self,
        clue: &NewClue<'_>,
        actor: KnownActor<'_>,
    ) -> Result<Clue, StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO clue (series_id, entry_id, region_x, region_y, region_w, region_h, category, \
             description, country, place, status, org_id, created_by, created_by_name, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12, $13, $14, $14) RETURNING id",
        )
        .bind(clue.series.0)
        .bind(clue.entry.0)
        .bind(clue.region.map(|r| i64::from(r.x)))
        .bind(clue.region.map(|r| i64::from(r.y)))
        .bind(clue.region.map(|r| i64::from(r.w)))
        .bind(clue.region.map(|r| i64::from(r.h)))
        .bind(clue.category.as_str())
        .bind(clue.description)
        .bind(clue.country)
        .bind(clue.place)
        .bind(clue.org.0)
        .bind(actor.user)
        .bind(actor.name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let editions = sqlx::query(
            "SELECT t.id FROM taskforce t JOIN taskforce_series ts ON ts.taskforce_id = t.id \
             JOIN taskforce_org tor ON tor.taskforce_id = t.id AND tor.org_id = $2 \
             WHERE ts.series_id = $1 AND t.starts_at <= $3 AND t.ends_at > $3",
        )
        .bind(clue.series.0)
        .bind(clue.org.0)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        for e in &editions {
            let edition: i64 = e.try_get("id")?;
            let kind = if clue.country.is_some() {
                TaskforceEventKind::CountrySuggested
            } else {
                TaskforceEventKind::Clue
            };
            insert_event(
                &mut tx,
                edition,
                &NewTaskforceEvent {
                    kind,
                    series: Some(clue.series),
                    clue: Some(id),
                    country: clue.country,
                    to_org: None,
                    body: Some(clue.description),
                    org: Some(clue.org),
                },
                actor,
                now,
            )
            .await?;
        }
        audit::append_in(
            &mut tx,
            &event(
                actor,
                "clue.create",
                "clue",
                id,
                format!(
                    "series={} entry={} category={}",
                    clue.series.0, clue.entry.0, clue.category
                ),
            ),
        )
        .await?;
        tx.commit().await?;
        self.clue(id).await
    }

    /// One clue.
    pub async fn clue(&self, id: i64) -> Result<Clue, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {CLUE_COLUMNS} {CLUE_FROM} WHERE c.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "clue",
            name: id.to_string(),
        })?;
        clue_from_row(&row)
    }

    /// Clues across all series, newest first.
    pub async fn search_clues(&self, f: &ClueFilter) -> Result<Vec<Clue>, StoreError> {
        let mut sql = format!("SELECT {CLUE_COLUMNS} {CLUE_FROM} WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        let words: Vec<String> = f
            .text
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .take(8)
            .map(like_pattern)
            .collect();
        for _ in &words {
            let k = next();
            sql.push_str(&format!(
                " AND (LOWER(c.description) LIKE ${k} ESCAPE '\\' OR LOWER(COALESCE(c.place, '')) LIKE ${k} ESCAPE '\\' \
                 OR LOWER(s.name) LIKE ${k} ESCAPE '\\' OR LOWER(COALESCE(c.country, '')) LIKE ${k} ESCAPE '\\')"
            ));
        }
        if f.category.is_some() {
            sql.push_str(&format!(" AND c.category = ${}", next()));
        }
        if f.status.is_some() {
            sql.push_str(&format!(" AND c.status = ${}", next()));
        }
        if f.country.is_some() {
            sql.push_str(&format!(" AND c.country = ${}", next()));
        }
        if f.series.is_some() {
            sql.push_str(&format!(" AND c.series_id = ${}", next()));
        }
        if f.entry.is_some() {
            sql.push_str(&format!(" AND c.entry_id = ${}", next()));
        }
        sql.push_str(&format!(" ORDER BY c.id DESC LIMIT ${}", next()));
        let mut q = sqlx::query(&sql);
        for w in &words {
            q = q.bind(w.clone());
        }
        if let Some(c) = f.category {
            q = q.bind(c.as_str());
        }
        if let Some(s) = f.status {
            q = q.bind(s.as_str());
        }
        if let Some(c) = &f.country {
            q = q.bind(c.clone());
        }
        if let Some(s) = f.series {
            q = q.bind(s.0);
        }
        if let Some(e) = f.entry {
            q = q.bind(e.0);
        }
        q = q.bind(i64::from(f.limit.clamp(1, 1_000)));
        q.fetch_all(&self.read)
            .await?
            .iter()
            .map(clue_from_row)
            .collect()
    }

    /// Sets a clue's status (and, when given, its suspected country and place).
    pub async fn update_clue(
        &self,
        id: i64,
        status: ClueStatus,
        country: Option<&str>,
        place: Option<&str>,
        actor: KnownActor<'_>,
    ) -> Result<Clue, StoreError> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE clue SET status = $2, country = COALESCE($3, country), place = COALESCE($4, place), updated_at = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(country)
        .bind(place)
        .bind(now_micros())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "clue",
                name: id.to_string(),
            });
        }
        audit::append_in(
            &mut tx,
            &event(actor, "clue.update", "clue", id, format!("status={status}")),
        )
        .await?;
        tx.commit().await?;
        self.clue(id).await
    }

    // ---- public objects ----------------------------------------------------------------------

    /// Records a crop cut from a clue, awaiting approval.
    pub async fn add_public_object(
        &self,
        o: &NewObject<'_>,
        actor: KnownActor<'_>,
    ) -> Result<PublicObject, StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO public_object (clue_id, title, question, crop, crop_width, crop_height, state, \
             cut_by, cut_by_name, cut_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9) RETURNING id",
        )
        .bind(o.clue)
        .bind(o.title)
        .bind(o.question)
        .bind(o.crop_png.to_vec())
        .bind(i64::from(o.crop_width))
        .bind(i64::from(o.crop_height))
        .bind(actor.user)
        .bind(actor.name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        audit::append_in(
            &mut tx,
            &event(
                actor,
                "public_object.cut",
                "public_object",
                id,
                format!("clue={} size={}x{}", o.clue, o.crop_width, o.crop_height),
            ),
        )
        .await?;
        tx.commit().await?;
        self.public_object(id).await
    }

    /// One object with its approvals.
    pub async fn public_object(&self, id: i64) -> Result<PublicObject, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {OBJECT_COLUMNS} {OBJECT_FROM} WHERE p.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "public object",
            name: id.to_string(),
        })?;
        let mut object = object_from_row(&row)?;
        object.approvals = sqlx::query(
            "SELECT user_id, username, at FROM public_object_approval WHERE object_id = $1 ORDER BY at, user_id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| {
            Ok(Approval {
                user: UserId(r.try_get("user_id")?),
                username: r.try_get("username")?,
                at: from_micros(r.try_get("at")?)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
        Ok(object)
    }

    /// Objects in the given states (all when empty), newest first.
    pub async fn list_public_objects(
        &self,
        states: &[ObjectState],
    ) -> Result<Vec<PublicObject>, StoreError> {
        let mut sql = format!("SELECT {OBJECT_COLUMNS} {OBJECT_FROM}");
        if !states.is_empty() {
            let list = (1..=states.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            sql.push_str(&format!(" WHERE p.state IN ({list})"));
        }
        sql.push_str(" ORDER BY p.id DESC");
        let mut q = sqlx::query(&sql);
        for s in states {
            q = q.bind(s.as_str());
        }
        let rows = q.fetch_all(&self.read).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut o = object_from_row(r)?;
            o.approvals = sqlx::query(
                "SELECT user_id, username, at FROM public_object_approval WHERE object_id = $1 ORDER BY at, user_id",
            )
            .bind(o.id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| {
                Ok(Approval {
                    user: UserId(r.try_get("user_id")?),
                    username: r.try_get("username")?,
                    at: from_micros(r.try_get("at")?)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
            out.push(o);
        }
        Ok(out)
    }

    /// The crop (PNG) of an object, with its state.
    pub async fn public_object_crop(
        &self,
        id: i64,
    ) -> Result<Option<(ObjectState, Vec<u8>)>, StoreError> {
        let row = sqlx::query("SELECT state, crop FROM public_object WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            let state: String = r.try_get("state")?;
            Ok((state.parse().map_err(corrupt)?, r.try_get("crop")?))
        })
        .transpose()
    }

    /// Records one person's approval (with their attestation that the crop shows nothing of a
    /// person). The second approval by a different person publishes the object; a second
    /// approval by the same person is refused.
    pub async fn approve_public_object(
        &self,
        id: i64,
        user: UserId,
        actor: KnownActor<'_>,
    ) -> Result<ApprovalOutcome, StoreError> {
        let mut tx = self.write.begin().await?;
        // Taking the object's row first serialises concurrent approvals of one object.
        sqlx::query("UPDATE public_object SET state = state WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query("SELECT state FROM public_object WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "public object",
                name: id.to_string(),
            })?;
        let state: ObjectState = row
            .try_get::<String, _>("state")?
            .parse()
            .map_err(corrupt)?;
        if state != ObjectState::Pending {
            return Ok(ApprovalOutcome::NotPending(state));
        }
        let already = sqlx::query(
            "SELECT COUNT(*) AS n FROM public_object_approval WHERE object_id = $1 AND user_id = $2",
        )
        .bind(id)
        .bind(user.0)
        .fetch_one(&mut *tx)
        .await?
        .try_get::<i64, _>("n")?;
        if already > 0 {
            return Ok(ApprovalOutcome::SamePerson);
        }
        let now = now_micros();
        sqlx::query(
            "INSERT INTO public_object_approval (object_id, user_id, username, no_person_attested, at) VALUES ($1, $2, $3, 1, $4)",
        )
        .bind(id)
        .bind(user.0)
        .bind(actor.name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let approvals =
            sqlx::query("SELECT COUNT(*) AS n FROM public_object_approval WHERE object_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .try_get::<i64, _>("n")?;
        let published = approvals >= APPROVALS_NEEDED as i64;
        if published {
            sqlx::query(
                "UPDATE public_object SET state = 'published', published_at = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        audit::append_in(
            &mut tx,
            &event(
                actor,
                "public_object.approve",
                "public_object",
                id,
                format!("no_person_attested=1 approvals={approvals} published={published}"),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(ApprovalOutcome::Recorded { published })
    }

    /// Marks an object traced (it stays on the public site, shown as solved) or withdrawn.
    pub async fn close_public_object(
        &self,
        id: i64,
        to: ObjectState,
        country: Option<&str>,
        note: Option<&str>,
        actor: KnownActor<'_>,
    ) -> Result<PublicObject, StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        let done = match to {
            ObjectState::Traced => sqlx::query(
                "UPDATE public_object SET state = 'traced', traced_at = $2, traced_country = $3, traced_note = $4 \
                 WHERE id = $1 AND state = 'published'",
            )
            .bind(id)
            .bind(now)
            .bind(country)
            .bind(note)
            .execute(&mut *tx)
            .await?,
            ObjectState::Withdrawn => sqlx::query(
                "UPDATE public_object SET state = 'withdrawn', withdrawn_at = $2 WHERE id = $1 AND state <> 'withdrawn'",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?,
            other => {
                return Err(StoreError::corrupt(format!(
                    "an object cannot be closed as {other}"
                )))
            }
        };
        if done.rows_affected() == 0 {
            drop(tx);
            // Missing, or there but already closed: told apart (404 against 409).
            let current = self.public_object(id).await?;
            return Err(StoreError::StateConflict(format!(
                "the object is {}; it cannot be marked {to} now",
                current.state
            )));
        }
        audit::append_in(
            &mut tx,
            &event(
                actor,
                &format!("public_object.{to}"),
                "public_object",
                id,
                format!("country={}", country.unwrap_or("")),
            ),
        )
        .await?;
        tx.commit().await?;
        self.public_object(id).await
    }

    // ---- tips ---------------------------------------------------------------------------------

    /// Stores a tip for a published object, unless the same (normalised) text already came for
    /// it. The audit entry names the public, nothing of the sender.
    pub async fn add_tip(
        &self,
        object: i64,
        body: &str,
        digest: &[u8; 32],
        country: Option<&str>,
        contact: Option<&str>,
    ) -> Result<TipOutcome, StoreError> {
        let mut tx = self.write.begin().await?;
        let state = sqlx::query("SELECT state FROM public_object WHERE id = $1")
            .bind(object)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(state) = state else {
            return Ok(TipOutcome::NotPublic);
        };
        let state: ObjectState = state
            .try_get::<String, _>("state")?
            .parse()
            .map_err(corrupt)?;
        if state != ObjectState::Published {
            return Ok(TipOutcome::NotPublic);
        }
        let dup = sqlx::query(
            "SELECT COUNT(*) AS n FROM public_tip WHERE object_id = $1 AND body_digest = $2",
        )
        .bind(object)
        .bind(digest.to_vec())
        .fetch_one(&mut *tx)
        .await?
        .try_get::<i64, _>("n")?;
        if dup > 0 {
            return Ok(TipOutcome::Duplicate);
        }
        let row = sqlx::query(
            "INSERT INTO public_tip (object_id, body, body_digest, country, contact, received_at, status) \
             VALUES ($1, $2, $3, $4, $5, $6, 'new') RETURNING id",
        )
        .bind(object)
        .bind(body)
        .bind(digest.to_vec())
        .bind(country)
        .bind(contact)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        audit::append_in(
            &mut tx,
            &AuditEvent {
                actor_user: None,
                actor: "public".into(),
                action: "tip.receive".into(),
                object_kind: "public_object".into(),
                object_id: object.to_string(),
                detail: format!("tip={id}"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(TipOutcome::Stored(id))
    }

    /// Tips, newest first: of one object, or (with `status`) those in that state.
    pub async fn list_tips(
        &self,
        object: Option<i64>,
        status: Option<TipStatus>,
        limit: u32,
    ) -> Result<Vec<Tip>, StoreError> {
        let mut sql = String::from(
            "SELECT t.id, t.object_id, p.title, t.body, t.country, t.contact, t.received_at, t.status, \
             t.triaged_by_name, t.triaged_at FROM public_tip t JOIN public_object p ON p.id = t.object_id WHERE 1 = 1",
        );
        let mut n = 0;
        if object.is_some() {
            n += 1;
            sql.push_str(&format!(" AND t.object_id = ${n}"));
        }
        if status.is_some() {
            n += 1;
            sql.push_str(&format!(" AND t.status = ${n}"));
        }
        sql.push_str(&format!(" ORDER BY t.id DESC LIMIT ${}", n + 1));
        let mut q = sqlx::query(&sql);
        if let Some(o) = object {
            q = q.bind(o);
        }
        if let Some(s) = status {
            q = q.bind(s.as_str());
        }
        q.bind(i64::from(limit.clamp(1, 1_000)))
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(tip_from_row)
            .collect()
    }

    /// A specialist's verdict on a tip.
    pub async fn triage_tip(
        &self,
        id: i64,
        status: TipStatus,
        actor: KnownActor<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE public_tip SET status = $2, triaged_by = $3, triaged_by_name = $4, triaged_at = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(actor.user)
        .bind(actor.name)
        .bind(now_micros())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "tip",
                name: id.to_string(),
            });
        }
        audit::append_in(
            &mut tx,
            &event(actor, "tip.triage", "tip", id, format!("status={status}")),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The public site's figures.
    pub async fn public_statistics(&self) -> Result<PublicStatistics, StoreError> {
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM public_tip) AS tips, \
             (SELECT COUNT(*) FROM public_object WHERE state IN ('published', 'traced')) AS published, \
             (SELECT COUNT(*) FROM public_object WHERE state = 'traced') AS traced, \
             (SELECT COUNT(DISTINCT traced_country) FROM public_object WHERE state = 'traced' AND traced_country IS NOT NULL) AS countries",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(PublicStatistics {
            tips_received: r.try_get("tips")?,
            objects_published: r.try_get("published")?,
            objects_traced: r.try_get("traced")?,
            countries_identified: r.try_get("countries")?,
        })
    }

    // ---- taskforce editions --------------------------------------------------------------------

    /// Opens an edition; `org` (the creator's) takes part.
    pub async fn create_taskforce(
        &self,
        name: &str,
        description: Option<&str>,
        starts_at: OffsetDateTime,
        ends_at: OffsetDateTime,
        org: OrgId,
        actor: KnownActor<'_>,
    ) -> Result<Taskforce, StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO taskforce (name, description, starts_at, ends_at, created_by, created_by_name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(name)
        .bind(description)
        .bind(micros(starts_at))
        .bind(micros(ends_at))
        .bind(actor.user)
        .bind(actor.name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Duplicate {
                    what: "taskforce edition",
                    name: name.to_owned(),
                }
            } else {
                e.into()
            }
        })?;
        let id: i64 = row.try_get("id")?;
        sqlx::query(
            "INSERT INTO taskforce_org (taskforce_id, org_id, joined_at) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(org.0)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        insert_event(
            &mut tx,
            id,
            &NewTaskforceEvent {
                kind: TaskforceEventKind::Created,
                series: None,
                clue: None,
                country: None,
                to_org: None,
                body: Some(name),
                org: Some(org),
            },
            actor,
            now,
        )
        .await?;
        audit::append_in(
            &mut tx,
            &event(
                actor,
                "taskforce.create",
                "taskforce",
                id,
                format!("name={name}"),
            ),
        )
        .await?;
        tx.commit().await?;
        self.taskforce(id).await
    }

    /// One edition with its organisations.
    pub async fn taskforce(&self, id: i64) -> Result<Taskforce, StoreError> {
        let r = sqlx::query(
            "SELECT id, name, description, starts_at, ends_at, created_by_name FROM taskforce WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "taskforce edition",
            name: id.to_string(),
        })?;
        let orgs = sqlx::query(
            "SELECT o.id, o.name FROM taskforce_org t JOIN organisation o ON o.id = t.org_id \
             WHERE t.taskforce_id = $1 ORDER BY o.name",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| Ok((OrgId(r.try_get("id")?), r.try_get("name")?)))
        .collect::<Result<_, StoreError>>()?;
        Ok(Taskforce {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            starts_at: from_micros(r.try_get("starts_at")?)?,
            ends_at: from_micros(r.try_get("ends_at")?)?,
            created_by_name: r.try_get("created_by_name")?,
            orgs,
        })
    }

    /// The editions `org` takes part in, latest start first.
    pub async fn list_taskforces(&self, org: OrgId) -> Result<Vec<Taskforce>, StoreError> {
        let ids = sqlx::query(
            "SELECT t.id FROM taskforce t JOIN taskforce_org o ON o.taskforce_id = t.id AND o.org_id = $1 \
             ORDER BY t.starts_at DESC, t.id DESC",
        )
        .bind(org.0)
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for r in &ids {
            out.push(self.taskforce(r.try_get("id")?).await?);
        }
        Ok(out)
    }

    /// Adds an organisation to an edition (no-op when it takes part already).
    pub async fn add_taskforce_org(
        &self,
        id: i64,
        org: OrgId,
        actor: KnownActor<'_>,
        acting_org: OrgId,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        let exists = sqlx::query(
            "SELECT COUNT(*) AS n FROM taskforce_org WHERE taskforce_id = $1 AND org_id = $2",
        )
        .bind(id)
        .bind(org.0)
        .fetch_one(&mut *tx)
        .await?
        .try_get::<i64, _>("n")?;
        if exists == 0 {
            let now = now_micros();
            sqlx::query(
                "INSERT INTO taskforce_org (taskforce_id, org_id, joined_at) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(org.0)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            insert_event(
                &mut tx,
                id,
                &NewTaskforceEvent {
                    kind: TaskforceEventKind::OrgJoined,
                    series: None,
                    clue: None,
                    country: None,
                    to_org: Some(org),
                    body: None,
                    org: Some(acting_org),
                },
                actor,
                now,
            )
            .await?;
            audit::append_in(
                &mut tx,
                &event(
                    actor,
                    "taskforce.add_org",
                    "taskforce",
                    id,
                    format!("org={}", org.0),
                ),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds a series to an edition, or (re)assigns it to `assignee`.
    pub async fn assign_taskforce_series(
        &self,
        id: i64,
        series: SeriesId,
        assignee: Option<UserId>,
        actor: KnownActor<'_>,
        acting_org: OrgId,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        let exists = sqlx::query(
            "SELECT COUNT(*) AS n FROM taskforce_series WHERE taskforce_id = $1 AND series_id = $2",
        )
        .bind(id)
        .bind(series.0)
        .fetch_one(&mut *tx)
        .await?
        .try_get::<i64, _>("n")?;
        if exists == 0 {
            sqlx::query("INSERT INTO taskforce_series (taskforce_id, series_id) VALUES ($1, $2)")
                .bind(id)
                .bind(series.0)
                .execute(&mut *tx)
                .await?;
        }
        let assignee_name = match assignee {
            Some(u) => {
                sqlx::query(
                    "UPDATE taskforce_series SET assignee = $3, assigned_at = $4 WHERE taskforce_id = $1 AND series_id = $2",
                )
                .bind(id)
                .bind(series.0)
                .bind(u.0)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query("SELECT username FROM app_user WHERE id = $1")
                    .bind(u.0)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| r.try_get::<String, _>("username"))
                    .transpose()?
            }
            None => None,
        };
        let body = match &assignee_name {
            Some(n) => format!("assigned to {n}"),
            None => "added to the edition".to_owned(),
        };
        insert_event(
            &mut tx,
            id,
            &NewTaskforceEvent {
                kind: TaskforceEventKind::Assigned,
                series: Some(series),
                clue: None,
                country: None,
                to_org: None,
                body: Some(&body),
                org: Some(acting_org),
            },
            actor,
            now,
        )
        .await?;
        audit::append_in(
            &mut tx,
            &event(
                actor,
                "taskforce.assign",
                "taskforce",
                id,
                format!("series={} {body}", series.0),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Marks a series of an edition reviewed.
    pub async fn review_taskforce_series(
        &self,
        id: i64,
        series: SeriesId,
        user: UserId,
        actor: KnownActor<'_>,
        acting_org: OrgId,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        let done = sqlx::query(
            "UPDATE taskforce_series SET reviewed_at = $3, reviewed_by = $4 WHERE taskforce_id = $1 AND series_id = $2",
        )
        .bind(id)
        .bind(series.0)
        .bind(now)
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "series in this edition",
                name: series.0.to_string(),
            });
        }
        insert_event(
            &mut tx,
            id,
            &NewTaskforceEvent {
                kind: TaskforceEventKind::Reviewed,
                series: Some(series),
                clue: None,
                country: None,
                to_org: None,
                body: None,
                org: Some(acting_org),
            },
            actor,
            now,
        )
        .await?;
        audit::append_in(
            &mut tx,
            &event(
                actor,
                "taskforce.review",
                "taskforce",
                id,
                format!("series={}", series.0),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a note, a suggested country or a disseminated lead to an edition's timeline.
    pub async fn add_taskforce_event(
        &self,
        id: i64,
        e: &NewTaskforceEvent<'_>,
        actor: KnownActor<'_>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        let event_id = insert_event(&mut tx, id, e, actor, now).await?;
        audit::append_in(
            &mut tx,
            &event(
                actor,
                &format!("taskforce.{}", e.kind),
                "taskforce",
                id,
                format!(
                    "event={event_id} country={} to_org={}",
                    e.country.unwrap_or(""),
                    e.to_org.map(|o| o.0.to_string()).unwrap_or_default()
                ),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(event_id)
    }

    /// The series of an edition.
    pub async fn taskforce_series(&self, id: i64) -> Result<Vec<TaskforceSeries>, StoreError> {
        sqlx::query(
            "SELECT ts.series_id, s.name, ts.assignee, u.username, ts.reviewed_at, \
             (SELECT COUNT(*) FROM clue c WHERE c.series_id = ts.series_id) AS clues \
             FROM taskforce_series ts JOIN series s ON s.id = ts.series_id \
             LEFT JOIN app_user u ON u.id = ts.assignee WHERE ts.taskforce_id = $1 ORDER BY s.name",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| {
            let assignee: Option<i64> = r.try_get("assignee")?;
            let username: Option<String> = r.try_get("username")?;
            Ok(TaskforceSeries {
                series: SeriesId(r.try_get("series_id")?),
                name: r.try_get("name")?,
                assignee: assignee.map(UserId).zip(username),
                reviewed_at: opt_time(r.try_get("reviewed_at")?)?,
                clues: r.try_get("clues")?,
            })
        })
        .collect()
    }

    /// An edition's timeline, oldest first.
    pub async fn taskforce_timeline(&self, id: i64) -> Result<Vec<TaskforceEvent>, StoreError> {
        sqlx::query(
            "SELECT e.id, e.kind, e.series_id, s.name AS series_name, e.clue_id, e.country, o.name AS to_org_name, \
             e.body, e.actor, a.name AS org_name, e.at FROM taskforce_event e \
             LEFT JOIN series s ON s.id = e.series_id LEFT JOIN organisation o ON o.id = e.to_org \
             LEFT JOIN organisation a ON a.id = e.org_id WHERE e.taskforce_id = $1 ORDER BY e.at, e.id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            let series: Option<i64> = r.try_get("series_id")?;
            let series_name: Option<String> = r.try_get("series_name")?;
            Ok(TaskforceEvent {
                id: r.try_get("id")?,
                kind: kind.parse().map_err(corrupt)?,
                series: series.map(SeriesId).zip(series_name),
                clue: r.try_get("clue_id")?,
                country: r.try_get("country")?,
                to_org: r.try_get("to_org_name")?,
                body: r.try_get("body")?,
                actor: r.try_get("actor")?,
                org: r.try_get("org_name")?,
                at: from_micros(r.try_get("at")?)?,
            })
        })
        .collect()
    }

    /// An edition's counts: series, series reviewed, distinct countries suggested, leads
    /// disseminated, clues marked on its series.
    pub async fn taskforce_counts(&self, id: i64) -> Result<TaskforceCounts, StoreError> {
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM taskforce_series WHERE taskforce_id = $1) AS series, \
             (SELECT COUNT(*) FROM taskforce_series WHERE taskforce_id = $1 AND reviewed_at IS NOT NULL) AS reviewed, \
             (SELECT COUNT(DISTINCT country) FROM taskforce_event WHERE taskforce_id = $1 AND country IS NOT NULL \
                AND kind IN ('country', 'lead')) AS countries, \
             (SELECT COUNT(*) FROM taskforce_event WHERE taskforce_id = $1 AND kind = 'lead') AS leads, \
             (SELECT COUNT(*) FROM clue c JOIN taskforce_series ts ON ts.series_id = c.series_id \
                WHERE ts.taskforce_id = $1) AS clues",
        )
        .bind(id)
        .fetch_one(&self.read)
        .await?;
        Ok(TaskforceCounts {
            series: r.try_get("series")?,
            series_reviewed: r.try_get("reviewed")?,
            countries_suggested: r.try_get("countries")?,
            leads_disseminated: r.try_get("leads")?,
            clues: r.try_get("clues")?,
        })
    }

    /// Whether `org` takes part in edition `id`.
    pub async fn taskforce_has_org(&self, id: i64, org: OrgId) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "SELECT COUNT(*) AS n FROM taskforce_org WHERE taskforce_id = $1 AND org_id = $2",
        )
        .bind(id)
        .bind(org.0)
        .fetch_one(&self.read)
        .await?
        .try_get::<i64, _>("n")?
            > 0)
    }
}

async fn insert_event(
    conn: &mut sqlx::AnyConnection,
    taskforce: i64,
    e: &NewTaskforceEvent<'_>,
    actor: KnownActor<'_>,
    at: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO taskforce_event (taskforce_id, kind, series_id, clue_id, country, to_org, body, \
         actor_user, actor, org_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(taskforce)
    .bind(e.kind.as_str())
    .bind(e.series.map(|s| s.0))
    .bind(e.clue)
    .bind(e.country)
    .bind(e.to_org.map(|o| o.0))
    .bind(e.body)
    .bind(actor.user)
    .bind(actor.name)
    .bind(e.org.map(|o| o.0))
    .bind(at)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("id")?)
}
