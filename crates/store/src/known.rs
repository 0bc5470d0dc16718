//! Known material: hash sets, entries, imports, series (with their history), match results of
//! report files and the verdicts drawn from them. Design: `docs/known-material.md`.
//!
//! Identity of an entry inside a hash set: each exact digest (MD5, SHA-1, SHA-256) names at most
//! one entry (unique indexes); an entry without any exact digest is identified by its PDQ, then
//! its PhotoDNA. [`Store::upsert_known_entries`] looks records up by those keys, so importing the
//! same file twice updates entries instead of duplicating them.

use std::collections::HashMap;

use safeguard_domain::account::OrgId;
use safeguard_domain::audit::AuditEvent;
use safeguard_domain::digest::{FileDigests, Md5, Sha1, Sha256};
use safeguard_domain::known::{
    EntryFacts, EntryHashes, EntryId, FileVerdict, HashSet, HashSetId, HashSetPurpose, KnownEntry,
    KnownMatch, MatchHashKind, MatchMethod, PdqHash, Series, SeriesEvent, SeriesId, SeriesStatus,
    Verdict,
};
use safeguard_domain::report::ReportId;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::time_codec::{flag, from_micros, micros, now_micros, opt_flag, read_flag};
use crate::{audit, Store, StoreError};

/// Who makes a change, for the audit log and the series history.
#[derive(Debug, Clone, Copy)]
pub struct KnownActor<'a> {
    pub user: Option<i64>,
    pub name: &'a str,
}

/// A hash set to create.
#[derive(Debug, Clone)]
pub struct NewHashSet<'a> {
    pub name: &'a str,
    pub owner_org: OrgId,
    pub purpose: HashSetPurpose,
    pub source: Option<&'a str>,
    pub licence: Option<&'a str>,
    pub category_scheme: Option<&'a str>,
    pub shared: bool,
}

/// One record to put into a hash set.
#[derive(Debug, Clone, Default)]
pub struct NewKnownEntry {
    pub hashes: EntryHashes,
    pub facts: EntryFacts,
    /// Series name; the series is created when new.
    pub series: Option<String>,
}

/// What happened to one record of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpsertOutcome {
    /// A new entry. Its PDQ, if any, must go into the match index.
    Inserted { id: EntryId, pdq: Option<PdqHash> },
    /// An existing entry was updated; `new_pdq` is set when it gained or changed its PDQ.
    Updated {
        id: EntryId,
        new_pdq: Option<PdqHash>,
    },
    /// The record could not be stored (its hashes name two different entries, or disagree with
    /// the entry they name); nothing was written for it.
    Refused(String),
}

/// Where the records of a batch come from.
#[derive(Debug, Clone, Copy)]
pub struct ImportContext {
    pub hash_set: HashSetId,
    pub import_id: Option<i64>,
    pub org: OrgId,
}

/// Counts of a finished import.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportCounts {
    pub records: u64,
    pub inserted: u64,
    pub updated: u64,
    pub errors: u64,
}

/// An import as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KnownImport {
    pub id: i64,
    pub hash_set: HashSetId,
    pub format: String,
    pub file_name: Option<String>,
    pub org: OrgId,
    pub actor: String,
    pub counts: ImportCounts,
    pub error_sample: Option<String>,
    pub finished: bool,
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub hash_set: Option<HashSetId>,
    pub series: Option<SeriesId>,
    /// Entries with an id above this (the cursor of the previous page).
    pub after_id: Option<i64>,
    /// Page size (1 to 10,000; 100 when 0).
    pub limit: u32,
}

/// A person's classification of a report file.
#[derive(Debug, Clone, Copy)]
pub struct FileClassification<'a> {
    pub file_id: &'a str,
    pub user: i64,
    pub category: Option<u32>,
    pub category_scheme: Option<&'a str>,
    pub series: Option<SeriesId>,
    pub note: Option<&'a str>,
}

/// A vPDQ frame of a known video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownFrame {
    pub frame: u64,
    pub timestamp_ms: u64,
    pub pdq: PdqHash,
    pub quality: u8,
}

const ENTRY_COLUMNS: &str = "e.id, e.hash_set_id, e.md5, e.sha1, e.sha256, e.pdq, e.photodna, e.category, \
     e.series_id, e.victim_identified, e.offender_identified, e.distributed, e.baseline, e.file_available, \
     e.submissions, e.mime_type, e.media_type, e.media_size, e.external_id, e.file_names, e.tags, e.comments, \
     e.source_updated_at, e.disabled, e.first_seen, e.last_seen, e.import_id, e.org_id, sr.name AS series_name";

const MATCH_COLUMNS: &str =
    "e.id, e.md5, e.sha1, e.sha256, e.category, e.victim_identified, e.series_id, \
     sr.name AS series_name, s.id AS set_id, s.name AS set_name, s.purpose";

fn fixed<const N: usize>(bytes: Vec<u8>, what: &str) -> Result<[u8; N], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::corrupt(format!("{what} has the wrong length")))
}

fn opt_fixed<const N: usize>(
    bytes: Option<Vec<u8>>,
    what: &str,
) -> Result<Option<[u8; N]>, StoreError> {
    bytes.map(|b| fixed::<N>(b, what)).transpose()
}

fn to_i64(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::corrupt(format!("{what} {v} is too large")))
}

fn to_u64(v: Option<i64>, what: &str) -> Result<Option<u64>, StoreError> {
    v.map(|v| u64::try_from(v).map_err(|_| StoreError::corrupt(format!("{what} {v}"))))
        .transpose()
}

fn hashes_from_row(r: &AnyRow) -> Result<EntryHashes, StoreError> {
    Ok(EntryHashes {
        md5: opt_fixed::<16>(r.try_get("md5")?, "md5")?.map(Md5::from_bytes),
        sha1: opt_fixed::<20>(r.try_get("sha1")?, "sha1")?.map(Sha1::from_bytes),
        sha256: opt_fixed::<32>(r.try_get("sha256")?, "sha256")?.map(Sha256::from_bytes),
        pdq: opt_fixed::<32>(r.try_get("pdq")?, "pdq")?.map(PdqHash),
        photodna: r.try_get("photodna")?,
    })
}

fn entry_from_row(r: &AnyRow) -> Result<KnownEntry, StoreError> {
    let file_names: Option<String> = r.try_get("file_names")?;
    let file_names = match file_names {
        Some(text) => serde_json::from_str(&text).map_err(StoreError::corrupt)?,
        None => Vec::new(),
    };
    let category: Option<i64> = r.try_get("category")?;
    let updated: Option<i64> = r.try_get("source_updated_at")?;
    let series: Option<i64> = r.try_get("series_id")?;
    Ok(KnownEntry {
        id: EntryId(r.try_get("id")?),
        hash_set: HashSetId(r.try_get("hash_set_id")?),
        hashes: hashes_from_row(r)?,
        facts: EntryFacts {
            category: category
                .map(|c| u32::try_from(c).map_err(StoreError::corrupt))
                .transpose()?,
            victim_identified: read_flag(r.try_get("victim_identified")?),
            offender_identified: read_flag(r.try_get("offender_identified")?),
            distributed: read_flag(r.try_get("distributed")?),
            baseline: read_flag(r.try_get("baseline")?),
            file_available: read_flag(r.try_get("file_available")?),
            submissions: to_u64(r.try_get("submissions")?, "submissions")?,
            mime_type: r.try_get("mime_type")?,
            media_type: r.try_get("media_type")?,
            media_size: to_u64(r.try_get("media_size")?, "media size")?,
            external_id: r.try_get("external_id")?,
            file_names,
            tags: r.try_get("tags")?,
            comments: r.try_get("comments")?,
            source_updated_at: updated.map(from_micros).transpose()?,
        },
        series: series.map(SeriesId),
        series_name: r.try_get("series_name")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        first_seen: from_micros(r.try_get("first_seen")?)?,
        last_seen: from_micros(r.try_get("last_seen")?)?,
        import_id: r.try_get("import_id")?,
        org: OrgId(r.try_get("org_id")?),
    })
}

fn hash_set_from_row(r: &AnyRow) -> Result<HashSet, StoreError> {
    let purpose: String = r.try_get("purpose")?;
    Ok(HashSet {
        id: HashSetId(r.try_get("id")?),
        name: r.try_get("name")?,
        owner_org: OrgId(r.try_get("owner_org")?),
        purpose: purpose.parse().map_err(StoreError::corrupt)?,
        source: r.try_get("source")?,
        licence: r.try_get("licence")?,
        category_scheme: r.try_get("category_scheme")?,
        shared: r.try_get::<i64, _>("shared")? != 0,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        created_at: from_micros(r.try_get("created_at")?)?,
        entries: r.try_get("entries")?,
    })
}

/// A matched entry row (see `MATCH_COLUMNS`) as a [`KnownMatch`].
fn match_from_row(
    r: &AnyRow,
    method: MatchMethod,
    hash_kind: MatchHashKind,
    distance: u32,
) -> Result<KnownMatch, StoreError> {
    let purpose: String = r.try_get("purpose")?;
    let category: Option<i64> = r.try_get("category")?;
    let series: Option<i64> = r.try_get("series_id")?;
    Ok(KnownMatch {
        entry: EntryId(r.try_get("id")?),
        hash_set: HashSetId(r.try_get("set_id")?),
        hash_set_name: r.try_get("set_name")?,
        purpose: purpose.parse().map_err(StoreError::corrupt)?,
        series: series.map(SeriesId),
        series_name: r.try_get("series_name")?,
        category: category
            .map(|c| u32::try_from(c).map_err(StoreError::corrupt))
            .transpose()?,
        victim_identified: read_flag(r.try_get("victim_identified")?),
        method,
        hash_kind,
        distance,
    })
}

/// The SQL condition "hash set `s` and entry `e` may be matched by organisation `$n`", or only
/// "enabled" when no organisation is given (local administration).
fn usable_condition(org_param: Option<usize>) -> String {
    match org_param {
        Some(n) => {
            format!("s.enabled = 1 AND e.disabled = 0 AND (s.owner_org = ${n} OR s.shared = 1)")
        }
        None => "s.enabled = 1 AND e.disabled = 0".to_owned(),
    }
}

fn event(
    actor: KnownActor<'_>,
    action: &str,
    kind: &str,
    id: String,
    detail: String,
) -> AuditEvent {
    AuditEvent {
        actor_user: actor.user,
        actor: actor.name.to_owned(),
        action: action.to_owned(),
        object_kind: kind.to_owned(),
        object_id: id,
        detail,
    }
}

#[allow(clippy::too_many_arguments)]
async fn history_in(
    conn: &mut AnyConnection,
    series: SeriesId,
    action: &str,
    other: Option<SeriesId>,
    entries: i64,
    actor: KnownActor<'_>,
    detail: &str,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO series_history (series_id, action, other_series_id, entries, actor_user, actor, detail, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(series.0)
    .bind(action)
    .bind(other.map(|s| s.0))
    .bind(entries)
    .bind(actor.user)
    .bind(actor.name)
    .bind(detail)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn add_series_org_in(
    conn: &mut AnyConnection,
    series: SeriesId,
    org: OrgId,
    at: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO series_org (series_id, org_id, added_at) VALUES ($1, $2, $3) ON CONFLICT (series_id, org_id) DO NOTHING",
    )
    .bind(series.0)
    .bind(org.0)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Finds a series by name or creates it (status `new`), recording the organisation on it.
async fn series_for_name_in(
    conn: &mut AnyConnection,
    name: &str,
    org: OrgId,
    actor: KnownActor<'_>,
    cache: &mut HashMap<String, SeriesId>,
) -> Result<SeriesId, StoreError> {
    if let Some(id) = cache.get(name) {
        return Ok(*id);
    }
    let now = now_micros();
    let found = sqlx::query("SELECT id, merged_into FROM series WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    let id = match found {
        Some(r) => {
            // A name of a merged series leads to the series it went into.
            let merged: Option<i64> = r.try_get("merged_into")?;
            SeriesId(merged.unwrap_or(r.try_get("id")?))
        }
        None => {
            let row = sqlx::query(
                "INSERT INTO series (name, status, notes, created_at, updated_at) VALUES ($1, 'new', NULL, $2, $2) RETURNING id",
            )
            .bind(name)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
            let id = SeriesId(row.try_get("id")?);
            history_in(conn, id, "create", None, 0, actor, "created by import", now).await?;
            id
        }
    };
    add_series_org_in(conn, id, org, now).await?;
    cache.insert(name.to_owned(), id);
    Ok(id)
}

fn facts_binds(facts: &EntryFacts) -> Result<FactBinds, StoreError> {
    Ok(FactBinds {
        category: facts.category.map(i64::from),
        submissions: facts
            .submissions
            .map(|v| to_i64(v, "submissions"))
            .transpose()?,
        media_size: facts
            .media_size
            .map(|v| to_i64(v, "media size"))
            .transpose()?,
        file_names: if facts.file_names.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&facts.file_names).map_err(StoreError::corrupt)?)
        },
        updated: facts.source_updated_at.map(micros),
    })
}

struct FactBinds {
    category: Option<i64>,
    submissions: Option<i64>,
    media_size: Option<i64>,
    file_names: Option<String>,
    updated: Option<i64>,
}

/// Finds the entries of a set that a record's identity keys name.
async fn lookup_in(
    conn: &mut AnyConnection,
    set: HashSetId,
    hashes: &EntryHashes,
) -> Result<Vec<KnownEntry>, StoreError> {
    let rows = if hashes.has_exact() {
        sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM known_entry e LEFT JOIN series sr ON sr.id = e.series_id \
             WHERE e.id IN (SELECT id FROM known_entry WHERE hash_set_id = $1 AND md5 = $2 \
             UNION SELECT id FROM known_entry WHERE hash_set_id = $1 AND sha1 = $3 \
             UNION SELECT id FROM known_entry WHERE hash_set_id = $1 AND sha256 = $4)"
        ))
        .bind(set.0)
        .bind(hashes.md5.map(|h| h.as_bytes().to_vec()))
        .bind(hashes.sha1.map(|h| h.as_bytes().to_vec()))
        .bind(hashes.sha256.map(|h| h.as_bytes().to_vec()))
        .fetch_all(&mut *conn)
        .await?
    } else {
        sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM known_entry e LEFT JOIN series sr ON sr.id = e.series_id \
             WHERE e.id IN (SELECT id FROM known_entry WHERE hash_set_id = $1 AND pdq = $2 \
             AND md5 IS NULL AND sha1 IS NULL AND sha256 IS NULL \
             UNION SELECT id FROM known_entry WHERE hash_set_id = $1 AND photodna = $3 \
             AND md5 IS NULL AND sha1 IS NULL AND sha256 IS NULL)"
        ))
        .bind(set.0)
        .bind(hashes.pdq.map(|h| h.0.to_vec()))
        .bind(hashes.photodna.clone())
        .fetch_all(&mut *conn)
        .await?
    };
    rows.iter().map(entry_from_row).collect()
}

/// Merges `new` into `old`: hashes `old` lacks are filled in; a different value of a hash both
/// have is a conflict (the record describes other content).
fn merge_hashes(old: &EntryHashes, new: &EntryHashes) -> Result<EntryHashes, String> {
    fn one<T: PartialEq + Clone + std::fmt::Display>(
        name: &str,
        old: &Option<T>,
        new: &Option<T>,
    ) -> Result<Option<T>, String> {
        match (old, new) {
            (Some(a), Some(b)) if a != b => Err(format!(
                "its {name} {b} differs from the stored entry's {a} with the same other hash"
            )),
            (Some(a), _) => Ok(Some(a.clone())),
            (None, b) => Ok(b.clone()),
        }
    }
    Ok(EntryHashes {
        md5: one("MD5", &old.md5, &new.md5)?,
        sha1: one("SHA-1", &old.sha1, &new.sha1)?,
        sha256: one("SHA-256", &old.sha256, &new.sha256)?,
        // Perceptual hashes are not identity: a newer value replaces the old one.
        pdq: new.pdq.or(old.pdq),
        photodna: new.photodna.clone().or_else(|| old.photodna.clone()),
    })
}

impl Store {
    // ---- hash sets -------------------------------------------------------------------------

    /// Creates a hash set; its name must be new.
    pub async fn create_hash_set(
        &self,
        set: &NewHashSet<'_>,
        actor: KnownActor<'_>,
    ) -> Result<HashSet, StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO hash_set (name, owner_org, purpose, source, licence, category_scheme, shared, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8) RETURNING id",
        )
        .bind(set.name)
        .bind(set.owner_org.0)
        .bind(set.purpose.as_str())
        .bind(set.source)
        .bind(set.licence)
        .bind(set.category_scheme)
        .bind(flag(set.shared))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Duplicate {
                    what: "hash set",
                    name: set.name.to_owned(),
                }
            } else {
                e.into()
            }
        })?;
        let id: i64 = row.try_get("id")?;
        audit::append_in(
            &mut tx,
            &event(
                actor,
                "hash_set.create",
                "hash_set",
                id.to_string(),
                format!(
                    "name={} purpose={} shared={}",
                    set.name, set.purpose, set.shared
                ),
            ),
        )
        .await?;
        tx.commit().await?;
        self.hash_set(HashSetId(id)).await
    }

    const HASH_SET_SELECT: &'static str = "SELECT h.id, h.name, h.owner_org, h.purpose, h.source, h.licence, h.category_scheme, \
         h.shared, h.enabled, h.created_at, (SELECT COUNT(*) FROM known_entry k WHERE k.hash_set_id = h.id) AS entries \
         FROM hash_set h";

    /// One hash set, with its entry count.
    pub async fn hash_set(&self, id: HashSetId) -> Result<HashSet, StoreError> {
        let row = sqlx::query(&format!("{} WHERE h.id = $1", Self::HASH_SET_SELECT))
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "hash set",
                name: id.0.to_string(),
            })?;
        hash_set_from_row(&row)
    }

    /// A hash set by its name, if there is one.
    pub async fn hash_set_by_name(&self, name: &str) -> Result<Option<HashSet>, StoreError> {
        let row = sqlx::query(&format!("{} WHERE h.name = $1", Self::HASH_SET_SELECT))
            .bind(name.trim())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(hash_set_from_row).transpose()
    }

    /// Every hash set (`visible_to`: only those the organisation owns or that are shared).
    pub async fn list_hash_sets(
        &self,
        visible_to: Option<OrgId>,
    ) -> Result<Vec<HashSet>, StoreError> {
        let rows = match visible_to {
            Some(org) => {
                sqlx::query(&format!(
                    "{} WHERE h.owner_org = $1 OR h.shared = 1 ORDER BY h.id",
                    Self::HASH_SET_SELECT
                ))
                .bind(org.0)
                .fetch_all(&self.read)
                .await?
            }
            None => {
                sqlx::query(&format!("{} ORDER BY h.id", Self::HASH_SET_SELECT))
                    .fetch_all(&self.read)
                    .await?
            }
        };
        rows.iter().map(hash_set_from_row).collect()
    }

    /// Switches a set on or off for matching, and shares it or not.
    pub async fn update_hash_set_flags(
        &self,
        id: HashSetId,
        enabled: Option<bool>,
        shared: Option<bool>,
        actor: KnownActor<'_>,
    ) -> Result<HashSet, StoreError> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE hash_set SET enabled = COALESCE($1, enabled), shared = COALESCE($2, shared), updated_at = $3 WHERE id = $4",
        )
        .bind(opt_flag(enabled))
        .bind(opt_flag(shared))
        .bind(now_micros())
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "hash set",
                name: id.0.to_string(),
            });
        }
        audit::append_in(
            &mut tx,
            &event(
                actor,
                "hash_set.update",
                "hash_set",
                id.0.to_string(),
                format!("enabled={enabled:?} shared={shared:?}"),
            ),
        )
        .await?;
        tx.commit().await?;
        self.hash_set(id).await
    }

    // ---- imports ---------------------------------------------------------------------------

    /// Records the start of an import.
    pub async fn begin_known_import(
        &self,
        set: HashSetId,
        format: &str,
        file_name: Option<&str>,
        org: OrgId,
        actor: KnownActor<'_>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(
            "INSERT INTO known_import (hash_set_id, format, file_name, org_id, actor_user, actor, started_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(set.0)
        .bind(format)
        .bind(file_name)
        .bind(org.0)
        .bind(actor.user)
        .bind(actor.name)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        audit::append_in(
            &mut tx,
            &event(
                actor,
                "known.import.start",
                "known_import",
                id.to_string(),
                format!(
                    "hash_set={} format={format} file={}",
                    set.0,
                    file_name.unwrap_or("-")
                ),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records the end of an import with its counts and a sample of its errors.
    pub async fn finish_known_import(
        &self,
        id: i64,
        counts: &ImportCounts,
        error_sample: Option<&str>,
        actor: KnownActor<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "UPDATE known_import SET finished_at = $1, records = $2, inserted = $3, updated = $4, errors = $5, error_sample = $6 WHERE id = $7",
        )
        .bind(now_micros())
        .bind(to_i64(counts.records, "records")?)
        .bind(to_i64(counts.inserted, "inserted")?)
        .bind(to_i64(counts.updated, "updated")?)
        .bind(to_i64(counts.errors, "errors")?)
        .bind(error_sample)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit::append_in(
            &mut tx,
            &event(
                actor,
                "known.import.finish",
                "known_import",
                id.to_string(),
                format!(
                    "records={} inserted={} updated={} errors={}",
                    counts.records, counts.inserted, counts.updated, counts.errors
                ),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One import.
    pub async fn known_import(&self, id: i64) -> Result<KnownImport, StoreError> {
        let r = sqlx::query(
            "SELECT id, hash_set_id, format, file_name, org_id, actor, records, inserted, updated, errors, error_sample, finished_at \
             FROM known_import WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "import",
            name: id.to_string(),
        })?;
        let count = |c: &str| -> Result<u64, StoreError> {
            u64::try_from(r.try_get::<i64, _>(c)?).map_err(StoreError::corrupt)
        };
        Ok(KnownImport {
            id: r.try_get("id")?,
            hash_set: HashSetId(r.try_get("hash_set_id")?),
            format: r.try_get("format")?,
            file_name: r.try_get("file_name")?,
            org: OrgId(r.try_get("org_id")?),
            actor: r.try_get("actor")?,
            counts: ImportCounts {
                records: count("records")?,
                inserted: count("inserted")?,
                updated: count("updated")?,
                errors: count("errors")?,
            },
            error_sample: r.try_get("error_sample")?,
            finished: r.try_get::<Option<i64>, _>("finished_at")?.is_some(),
        })
    }

    // ---- entries ---------------------------------------------------------------------------

    /// Inserts or updates a batch of records in one transaction (the importer sends about
    /// 1,000 at a time). Returns one outcome per record, in order. A refused record writes
    /// nothing and does not stop the batch.
    pub async fn upsert_known_entries(
        &self,
        ctx: ImportContext,
        records: &[NewKnownEntry],
        actor: KnownActor<'_>,
    ) -> Result<Vec<UpsertOutcome>, StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        let mut series_cache = HashMap::new();
        let mut outcomes = Vec::with_capacity(records.len());
        for record in records {
            if record.hashes.is_empty() {
                outcomes.push(UpsertOutcome::Refused("the record has no hash".into()));
                continue;
            }
            let series = match record.series.as_deref().map(str::trim) {
                Some(name) if !name.is_empty() => Some(
                    series_for_name_in(&mut tx, name, ctx.org, actor, &mut series_cache).await?,
                ),
                _ => None,
            };
            let found = lookup_in(&mut tx, ctx.hash_set, &record.hashes).await?;
            let outcome = match found.as_slice() {
                [] => {
                    let id = insert_entry_in(&mut tx, ctx, record, series, now).await?;
                    UpsertOutcome::Inserted {
                        id,
                        pdq: record.hashes.pdq,
                    }
                }
                [old] => match merge_hashes(&old.hashes, &record.hashes) {
                    Ok(hashes) => {
                        let mut facts = old.facts.clone();
                        facts.merge_from(&record.facts);
                        let series = series.or(old.series);
                        update_entry_in(&mut tx, ctx, old.id, &hashes, &facts, series, now).await?;
                        UpsertOutcome::Updated {
                            id: old.id,
                            new_pdq: hashes.pdq.filter(|p| old.hashes.pdq != Some(*p)),
                        }
                    }
                    Err(why) => {
                        UpsertOutcome::Refused(format!("conflicts with entry {}: {why}", old.id.0))
                    }
                },
                many => UpsertOutcome::Refused(format!(
                    "its hashes name {} different entries ({})",
                    many.len(),
                    many.iter()
                        .map(|e| e.id.0.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            };
            outcomes.push(outcome);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// One entry.
    pub async fn known_entry(&self, id: EntryId) -> Result<KnownEntry, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM known_entry e LEFT JOIN series sr ON sr.id = e.series_id WHERE e.id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "entry",
            name: id.0.to_string(),
        })?;
        entry_from_row(&row)
    }

    /// A page of entries by id, filtered by set and/or series.
    pub async fn list_known_entries(
        &self,
        filter: &EntryFilter,
    ) -> Result<Vec<KnownEntry>, StoreError> {
        let limit = match filter.limit {
            0 => 100,
            n => n.min(10_000),
        };
        let mut sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM known_entry e LEFT JOIN series sr ON sr.id = e.series_id WHERE e.id > $1"
        );
        let mut n = 1;
        if filter.hash_set.is_some() {
            n += 1;
            sql.push_str(&format!(" AND e.hash_set_id = ${n}"));
        }
        if filter.series.is_some() {
            n += 1;
            sql.push_str(&format!(" AND e.series_id = ${n}"));
        }
        sql.push_str(&format!(" ORDER BY e.id LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(filter.after_id.unwrap_or(0));
        if let Some(s) = filter.hash_set {
            q = q.bind(s.0);
        }
        if let Some(s) = filter.series {
            q = q.bind(s.0);
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Every `(entry id, PDQ)` after `after_id`, a page at a time, for loading the match index.
    /// Disabled entries and sets are included: the index holds everything and the visibility
    /// rules are applied when candidates are read back.
    pub async fn known_pdq_page(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<(EntryId, PdqHash)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT id, pdq FROM known_entry WHERE pdq IS NOT NULL AND id > $1 ORDER BY id LIMIT {}",
            limit.clamp(1, 100_000)
        ))
        .bind(after_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    EntryId(r.try_get("id")?),
                    PdqHash(fixed::<32>(r.try_get("pdq")?, "pdq")?),
                ))
            })
            .collect()
    }

    /// Stores the vPDQ frames of a known video entry (replacing earlier ones).
    pub async fn set_known_frames(
        &self,
        entry: EntryId,
        frames: &[KnownFrame],
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM known_entry_frame WHERE entry_id = $1")
            .bind(entry.0)
            .execute(&mut *tx)
            .await?;
        for f in frames {
            sqlx::query(
                "INSERT INTO known_entry_frame (entry_id, frame, timestamp_ms, pdq, quality) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(entry.0)
            .bind(to_i64(f.frame, "frame")?)
            .bind(to_i64(f.timestamp_ms, "timestamp")?)
            .bind(f.pdq.0.to_vec())
            .bind(i64::from(f.quality))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The vPDQ frames of a known video entry, in frame order.
    pub async fn known_frames(&self, entry: EntryId) -> Result<Vec<KnownFrame>, StoreError> {
        let rows = sqlx::query(
            "SELECT frame, timestamp_ms, pdq, quality FROM known_entry_frame WHERE entry_id = $1 ORDER BY frame",
        )
        .bind(entry.0)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(KnownFrame {
                    frame: u64::try_from(r.try_get::<i64, _>("frame")?)
                        .map_err(StoreError::corrupt)?,
                    timestamp_ms: u64::try_from(r.try_get::<i64, _>("timestamp_ms")?)
                        .map_err(StoreError::corrupt)?,
                    pdq: PdqHash(fixed::<32>(r.try_get("pdq")?, "pdq")?),
                    quality: u8::try_from(r.try_get::<i64, _>("quality")?)
                        .map_err(StoreError::corrupt)?,
                })
            })
            .collect()
    }

    /// Every `(entry id, frame PDQ)` after `(after_entry, after_frame)`, for loading the index.
    pub async fn known_frame_page(
        &self,
        after_entry: i64,
        limit: u32,
    ) -> Result<Vec<(EntryId, PdqHash)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT entry_id, pdq FROM known_entry_frame WHERE entry_id > $1 ORDER BY entry_id, frame LIMIT {}",
            limit.clamp(1, 100_000)
        ))
        .bind(after_entry)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    EntryId(r.try_get("entry_id")?),
                    PdqHash(fixed::<32>(r.try_get("pdq")?, "pdq")?),
                ))
            })
            .collect()
    }

    // ---- matching --------------------------------------------------------------------------

    /// Entries of usable sets whose MD5, SHA-1 or SHA-256 equals the file's. `org`: the
    /// receiving organisation (its own sets and shared ones); `None` for every enabled set.
    pub async fn exact_known_matches(
        &self,
        digests: &FileDigests,
        org: Option<OrgId>,
    ) -> Result<Vec<KnownMatch>, StoreError> {
        let sql = format!(
            "SELECT {MATCH_COLUMNS} FROM known_entry e JOIN hash_set s ON s.id = e.hash_set_id \
             LEFT JOIN series sr ON sr.id = e.series_id \
             WHERE e.id IN (SELECT id FROM known_entry WHERE md5 = $1 \
             UNION SELECT id FROM known_entry WHERE sha1 = $2 \
             UNION SELECT id FROM known_entry WHERE sha256 = $3) AND {} ORDER BY e.id",
            usable_condition(org.map(|_| 4))
        );
        let mut q = sqlx::query(&sql)
            .bind(digests.md5.as_bytes().to_vec())
            .bind(digests.sha1.as_bytes().to_vec())
            .bind(digests.sha256.as_bytes().to_vec());
        if let Some(org) = org {
            q = q.bind(org.0);
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                // The strongest digest that agrees names the match.
                let sha256: Option<Vec<u8>> = r.try_get("sha256")?;
                let sha1: Option<Vec<u8>> = r.try_get("sha1")?;
                let kind = if sha256.as_deref() == Some(&digests.sha256.as_bytes()[..]) {
                    MatchHashKind::Sha256
                } else if sha1.as_deref() == Some(&digests.sha1.as_bytes()[..]) {
                    MatchHashKind::Sha1
                } else {
                    MatchHashKind::Md5
                };
                match_from_row(r, MatchMethod::Exact, kind, 0)
            })
            .collect()
    }

    /// The usable entries among perceptual candidates `(entry id, distance)` found by the index.
    pub async fn perceptual_known_matches(
        &self,
        candidates: &[(EntryId, u32)],
        hash_kind: MatchHashKind,
        org: Option<OrgId>,
    ) -> Result<Vec<KnownMatch>, StoreError> {
        let mut out = Vec::with_capacity(candidates.len());
        let distances: HashMap<i64, u32> = candidates.iter().map(|(id, d)| (id.0, *d)).collect();
        // In chunks: a hostile or degenerate query could find very many candidates.
        for chunk in candidates.chunks(500) {
            let ids = chunk
                .iter()
                .map(|(id, _)| id.0.to_string())
                .collect::<Vec<_>>()
                .join(",");
            let sql = format!(
                "SELECT {MATCH_COLUMNS} FROM known_entry e JOIN hash_set s ON s.id = e.hash_set_id \
                 LEFT JOIN series sr ON sr.id = e.series_id WHERE e.id IN ({ids}) AND {}",
                usable_condition(org.map(|_| 1))
            );
            let mut q = sqlx::query(&sql);
            if let Some(org) = org {
                q = q.bind(org.0);
            }
            for r in q.fetch_all(&self.read).await? {
                let id: i64 = r.try_get("id")?;
                let distance = distances.get(&id).copied().unwrap_or_default();
                out.push(match_from_row(
                    &r,
                    MatchMethod::Perceptual,
                    hash_kind,
                    distance,
                )?);
            }
        }
        Ok(out)
    }

    /// Stores the matches and verdict of one report file (replacing those of an earlier run) and
    /// recomputes its report's verdict and series. Returns the report and its verdict.
    pub async fn record_file_verdict(
        &self,
        file_id: &str,
        verdict: &FileVerdict,
    ) -> Result<(ReportId, Verdict), StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        let file = sqlx::query("SELECT id, report_id FROM report_file WHERE file_id = $1")
            .bind(file_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "file",
                name: file_id.to_owned(),
            })?;
        let row_id: i64 = file.try_get("id")?;
        let report = ReportId(file.try_get("report_id")?);
        sqlx::query("DELETE FROM known_match WHERE file_row_id = $1")
            .bind(row_id)
            .execute(&mut *tx)
            .await?;
        for m in verdict
            .matches
            .iter()
            .chain(&verdict.known_good)
            .chain(&verdict.suppressed)
        {
            sqlx::query(
                "INSERT INTO known_match (file_row_id, entry_id, method, hash_kind, distance, matched_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (file_row_id, entry_id, hash_kind) DO NOTHING",
            )
            .bind(row_id)
            .bind(m.entry.0)
            .bind(m.method.as_str())
            .bind(m.hash_kind.as_str())
            .bind(i64::from(m.distance))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO file_verdict (file_row_id, verdict, matched_at) VALUES ($1, $2, $3) \
             ON CONFLICT (file_row_id) DO UPDATE SET verdict = excluded.verdict, matched_at = excluded.matched_at",
        )
        .bind(row_id)
        .bind(verdict.verdict.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let report_verdict = refresh_report_verdict_in(&mut tx, report, now).await?;
        tx.commit().await?;
        Ok((report, report_verdict))
    }

    /// The stored matches of a report file (including known-good and suppressed ones).
    pub async fn file_known_matches(&self, file_id: &str) -> Result<Vec<KnownMatch>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {MATCH_COLUMNS}, m.method, m.hash_kind, m.distance FROM known_match m \
             JOIN report_file f ON f.id = m.file_row_id JOIN known_entry e ON e.id = m.entry_id \
             JOIN hash_set s ON s.id = e.hash_set_id LEFT JOIN series sr ON sr.id = e.series_id \
             WHERE f.file_id = $1 ORDER BY m.distance, m.id"
        ))
        .bind(file_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let method: String = r.try_get("method")?;
                let kind: String = r.try_get("hash_kind")?;
                let distance =
                    u32::try_from(r.try_get::<i64, _>("distance")?).map_err(StoreError::corrupt)?;
                match_from_row(
                    r,
                    method.parse().map_err(StoreError::corrupt)?,
                    kind.parse().map_err(StoreError::corrupt)?,
                    distance,
                )
            })
            .collect()
    }

    /// The verdict of one report file, if it was matched.
    pub async fn file_verdict(&self, file_id: &str) -> Result<Option<Verdict>, StoreError> {
        let row = sqlx::query(
            "SELECT v.verdict FROM file_verdict v JOIN report_file f ON f.id = v.file_row_id WHERE f.file_id = $1",
        )
        .bind(file_id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            let v: String = r.try_get("verdict")?;
            v.parse().map_err(StoreError::corrupt)
        })
        .transpose()
    }

    /// A report's verdict and the series its files' matches touch (`None` before any matching).
    pub async fn report_known_verdict(
        &self,
        report: ReportId,
    ) -> Result<Option<(Verdict, Vec<SeriesId>)>, StoreError> {
        let row = sqlx::query("SELECT verdict FROM report_verdict WHERE report_id = $1")
            .bind(report.0)
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let verdict: String = row.try_get("verdict")?;
        let series = sqlx::query(
            "SELECT series_id FROM report_series WHERE report_id = $1 ORDER BY series_id",
        )
        .bind(report.0)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| Ok(SeriesId(r.try_get("series_id")?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some((
            verdict.parse().map_err(StoreError::corrupt)?,
            series,
        )))
    }

    /// Records a person's classification of a report file (kept apart from matcher results).
    pub async fn classify_file(
        &self,
        c: &FileClassification<'_>,
        actor: KnownActor<'_>,
    ) -> Result<(), StoreError> {
        let FileClassification {
            file_id,
            user,
            category,
            category_scheme,
            series,
            note,
        } = *c;
        let mut tx = self.write.begin().await?;
        let file = sqlx::query("SELECT id FROM report_file WHERE file_id = $1")
            .bind(file_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "file",
                name: file_id.to_owned(),
            })?;
        let row_id: i64 = file.try_get("id")?;
        sqlx::query(
            "INSERT INTO file_classification (file_row_id, classified_by, category, category_scheme, series_id, note, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(row_id)
        .bind(user)
        .bind(category.map(i64::from))
        .bind(category_scheme)
        .bind(series.map(|s| s.0))
        .bind(note)
        .bind(now_micros())
        .execute(&mut *tx)
        .await?;
        audit::append_in(
            &mut tx,
            &event(
                actor,
                "file.classify",
                "file",
                file_id.to_owned(),
                format!("category={category:?} series={:?}", series.map(|s| s.0)),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ---- series ----------------------------------------------------------------------------

    /// Creates a series; its name must be new. `org` is recorded as working on it.
    pub async fn create_series(
        &self,
        name: &str,
        status: SeriesStatus,
        notes: Option<&str>,
        org: OrgId,
        actor: KnownActor<'_>,
    ) -> Result<Series, StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO series (name, status, notes, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(name)
        .bind(status.as_str())
        .bind(notes)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Duplicate {
                    what: "series",
                    name: name.to_owned(),
                }
            } else {
                e.into()
            }
        })?;
        let id = SeriesId(row.try_get("id")?);
        add_series_org_in(&mut tx, id, org, now).await?;
        history_in(
            &mut tx,
            id,
            "create",
            None,
            0,
            actor,
            &format!("status={status}"),
            now,
        )
        .await?;
        audit::append_in(
            &mut tx,
            &event(
                actor,
                "series.create",
                "series",
                id.0.to_string(),
                format!("name={name}"),
            ),
        )
        .await?;
        tx.commit().await?;
        self.series(id).await
    }

    /// One series with its organisations and entry count.
    pub async fn series(&self, id: SeriesId) -> Result<Series, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, status, notes, merged_into, created_at, updated_at, \
             (SELECT COUNT(*) FROM known_entry k WHERE k.series_id = series.id) AS entries FROM series WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "series",
            name: id.0.to_string(),
        })?;
        let orgs =
            sqlx::query("SELECT org_id FROM series_org WHERE series_id = $1 ORDER BY org_id")
                .bind(id.0)
                .fetch_all(&self.read)
                .await?
                .iter()
                .map(|r| Ok(OrgId(r.try_get("org_id")?)))
                .collect::<Result<Vec<_>, StoreError>>()?;
        series_from_row(&row, orgs)
    }

    /// A series by name, if there is one.
    pub async fn series_by_name(&self, name: &str) -> Result<Option<Series>, StoreError> {
        let row = sqlx::query("SELECT id FROM series WHERE name = $1")
            .bind(name.trim())
            .fetch_optional(&self.read)
            .await?;
        match row {
            Some(r) => Ok(Some(self.series(SeriesId(r.try_get("id")?)).await?)),
            None => Ok(None),
        }
    }

    /// Every series (merged ones included, with `merged_into` set), by id.
    pub async fn list_series(&self) -> Result<Vec<Series>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, status, notes, merged_into, created_at, updated_at, \
             (SELECT COUNT(*) FROM known_entry k WHERE k.series_id = series.id) AS entries FROM series ORDER BY id",
        )
        .fetch_all(&self.read)
        .await?;
        let org_rows = sqlx::query("SELECT series_id, org_id FROM series_org ORDER BY org_id")
            .fetch_all(&self.read)
            .await?;
        let mut orgs: HashMap<i64, Vec<OrgId>> = HashMap::new();
        for r in &org_rows {
            orgs.entry(r.try_get("series_id")?)
                .or_default()
                .push(OrgId(r.try_get("org_id")?));
        }
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                series_from_row(r, orgs.remove(&id).unwrap_or_default())
            })
            .collect()
    }

    /// The history of a series, oldest first.
    pub async fn series_history(&self, id: SeriesId) -> Result<Vec<SeriesEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT series_id, action, other_series_id, entries, actor, detail, at FROM series_history \
             WHERE series_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let other: Option<i64> = r.try_get("other_series_id")?;
                Ok(SeriesEvent {
                    series: SeriesId(r.try_get("series_id")?),
                    action: r.try_get("action")?,
                    other_series: other.map(SeriesId),
                    entries: r.try_get("entries")?,
                    actor: r.try_get("actor")?,
                    detail: r.try_get("detail")?,
                    at: from_micros(r.try_get("at")?)?,
                })
            })
            .collect()
    }

    /// Records an organisation as working on a series.
    pub async fn add_series_org(
        &self,
        id: SeriesId,
        org: OrgId,
        actor: KnownActor<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        ensure_live_series_in(&mut tx, id).await?;
        if add_series_org_in(&mut tx, id, org, now).await? {
            history_in(
                &mut tx,
                id,
                "org_added",
                None,
                0,
                actor,
                &format!("org={}", org.0),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Moves entries into a series (from wherever they were: the history of both sides says so).
    pub async fn add_entries_to_series(
        &self,
        id: SeriesId,
        entries: &[EntryId],
        actor: KnownActor<'_>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        ensure_live_series_in(&mut tx, id).await?;
        let moved = move_entries_in(&mut tx, entries, id, actor, now, "add_media", true).await?;
        sqlx::query("UPDATE series SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        audit::append_in(
            &mut tx,
            &event(
                actor,
                "series.add_media",
                "series",
                id.0.to_string(),
                format!("entries={moved}"),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// Sets the status of a series. `VictimIdentified` also marks every entry of the series as
    /// showing an identified victim.
    pub async fn set_series_status(
        &self,
        id: SeriesId,
        status: SeriesStatus,
        actor: KnownActor<'_>,
    ) -> Result<Series, StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        ensure_live_series_in(&mut tx, id).await?;
        sqlx::query("UPDATE series SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(now)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        let mut touched = 0;
        let column = match status {
            SeriesStatus::VictimIdentified => Some("victim_identified"),
            SeriesStatus::OffenderIdentified => Some("offender_identified"),
            _ => None,
        };
        if let Some(column) = column {
            touched = sqlx::query(&format!(
                "UPDATE known_entry SET {column} = 1, last_seen = $1 WHERE series_id = $2"
            ))
            .bind(now)
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        let touched = i64::try_from(touched).map_err(StoreError::corrupt)?;
        history_in(
            &mut tx,
            id,
            "status",
            None,
            touched,
            actor,
            &format!("status={status}"),
            now,
        )
        .await?;
        audit::append_in(
            &mut tx,
            &event(
                actor,
                "series.status",
                "series",
                id.0.to_string(),
                format!("status={status}"),
            ),
        )
        .await?;
        tx.commit().await?;
        self.series(id).await
    }

    /// Merges `from` into `into`: every entry moves, the organisations join, and `from` stays as
    /// a tombstone (`merged_into`) so its name still leads to the right series.
    pub async fn merge_series(
        &self,
        from: SeriesId,
        into: SeriesId,
        actor: KnownActor<'_>,
    ) -> Result<Series, StoreError> {
        if from == into {
            return Err(StoreError::Duplicate {
                what: "series merge of a series into itself",
                name: from.0.to_string(),
            });
        }
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        ensure_live_series_in(&mut tx, from).await?;
        ensure_live_series_in(&mut tx, into).await?;
        let moved = sqlx::query("UPDATE known_entry SET series_id = $1 WHERE series_id = $2")
            .bind(into.0)
            .bind(from.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let moved = i64::try_from(moved).map_err(StoreError::corrupt)?;
        sqlx::query(
            "INSERT INTO series_org (series_id, org_id, added_at) SELECT $1, org_id, $2 FROM series_org WHERE series_id = $3 \
             ON CONFLICT (series_id, org_id) DO NOTHING",
        )
        .bind(into.0)
        .bind(now)
        .bind(from.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO report_series (report_id, series_id) SELECT report_id, $1 FROM report_series WHERE series_id = $2 \
             ON CONFLICT (report_id, series_id) DO NOTHING",
        )
        .bind(into.0)
        .bind(from.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM report_series WHERE series_id = $1")
            .bind(from.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE series SET merged_into = $1, updated_at = $2 WHERE id = $3 OR merged_into = $3",
        )
        .bind(into.0)
        .bind(now)
        .bind(from.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE series SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(into.0)
            .execute(&mut *tx)
            .await?;
        history_in(&mut tx, into, "merge_in", Some(from), moved, actor, "", now).await?;
        history_in(
            &mut tx,
            from,
            "merged_into",
            Some(into),
            moved,
            actor,
            "",
            now,
        )
        .await?;
        audit::append_in(
            &mut tx,
            &event(
                actor,
                "series.merge",
                "series",
                into.0.to_string(),
                format!("from={} entries={moved}", from.0),
            ),
        )
        .await?;
        tx.commit().await?;
        self.series(into).await
    }

    /// Splits `entries` of series `from` out into a new series `new_name` (same organisations,
    /// status `new`). Entries not in `from` are refused.
    pub async fn split_series(
        &self,
        from: SeriesId,
        new_name: &str,
        entries: &[EntryId],
        actor: KnownActor<'_>,
    ) -> Result<Series, StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        ensure_live_series_in(&mut tx, from).await?;
        for e in entries {
            let row = sqlx::query("SELECT series_id FROM known_entry WHERE id = $1")
                .bind(e.0)
                .fetch_optional(&mut *tx)
                .await?;
            let in_series = match row {
                Some(r) => r.try_get::<Option<i64>, _>("series_id")? == Some(from.0),
                None => false,
            };
            if !in_series {
                return Err(StoreError::NotFound {
                    what: "entry in the series",
                    name: e.0.to_string(),
                });
            }
        }
        let row = sqlx::query(
            "INSERT INTO series (name, status, notes, created_at, updated_at) VALUES ($1, 'new', NULL, $2, $2) RETURNING id",
        )
        .bind(new_name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Duplicate {
                    what: "series",
                    name: new_name.to_owned(),
                }
            } else {
                e.into()
            }
        })?;
        let new_id = SeriesId(row.try_get("id")?);
        sqlx::query(
            "INSERT INTO series_org (series_id, org_id, added_at) SELECT $1, org_id, $2 FROM series_org WHERE series_id = $3",
        )
        .bind(new_id.0)
        .bind(now)
        .bind(from.0)
        .execute(&mut *tx)
        .await?;
        history_in(
            &mut tx,
            new_id,
            "create",
            Some(from),
            0,
            actor,
            "split",
            now,
        )
        .await?;
        // The source gets its own `split_out` row below.
        let moved =
            move_entries_in(&mut tx, entries, new_id, actor, now, "split_from", false).await?;
        let moved_i = i64::try_from(moved).map_err(StoreError::corrupt)?;
        history_in(
            &mut tx,
            from,
            "split_out",
            Some(new_id),
            moved_i,
            actor,
            "",
            now,
        )
        .await?;
        audit::append_in(
            &mut tx,
            &event(
                actor,
                "series.split",
                "series",
                from.0.to_string(),
                format!("new={} entries={moved}", new_id.0),
            ),
        )
        .await?;
        tx.commit().await?;
        self.series(new_id).await
    }
}

fn series_from_row(r: &AnyRow, orgs: Vec<OrgId>) -> Result<Series, StoreError> {
    let status: String = r.try_get("status")?;
    let merged: Option<i64> = r.try_get("merged_into")?;
    Ok(Series {
        id: SeriesId(r.try_get("id")?),
        name: r.try_get("name")?,
        status: status.parse().map_err(StoreError::corrupt)?,
        notes: r.try_get("notes")?,
        merged_into: merged.map(SeriesId),
        orgs,
        entries: r.try_get("entries")?,
        created_at: from_micros(r.try_get("created_at")?)?,
        updated_at: from_micros(r.try_get("updated_at")?)?,
    })
}

async fn ensure_live_series_in(conn: &mut AnyConnection, id: SeriesId) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT merged_into FROM series WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "series",
            name: id.0.to_string(),
        })?;
    if let Some(into) = row.try_get::<Option<i64>, _>("merged_into")? {
        return Err(StoreError::NotFound {
            what: "series (it was merged into another)",
            name: format!("{} -> {into}", id.0),
        });
    }
    Ok(())
}

/// Moves entries into `to`, writing a history row on every series they leave.
async fn move_entries_in(
    conn: &mut AnyConnection,
    entries: &[EntryId],
    to: SeriesId,
    actor: KnownActor<'_>,
    now: i64,
    action: &str,
    record_sources: bool,
) -> Result<u64, StoreError> {
    let mut left: HashMap<i64, i64> = HashMap::new();
    let mut moved = 0u64;
    for e in entries {
        let row = sqlx::query("SELECT series_id FROM known_entry WHERE id = $1")
            .bind(e.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "entry",
                name: e.0.to_string(),
            })?;
        let old: Option<i64> = row.try_get("series_id")?;
        if old == Some(to.0) {
            continue;
        }
        if let Some(old) = old {
            *left.entry(old).or_default() += 1;
        }
        sqlx::query("UPDATE known_entry SET series_id = $1 WHERE id = $2")
            .bind(to.0)
            .bind(e.0)
            .execute(&mut *conn)
            .await?;
        moved += 1;
    }
    for (old, count) in left.into_iter().filter(|_| record_sources) {
        history_in(
            conn,
            SeriesId(old),
            "media_moved_out",
            Some(to),
            count,
            actor,
            "",
            now,
        )
        .await?;
    }
    let moved_i = i64::try_from(moved).map_err(StoreError::corrupt)?;
    history_in(conn, to, action, None, moved_i, actor, "", now).await?;
    Ok(moved)
}

async fn insert_entry_in(
    conn: &mut AnyConnection,
    ctx: ImportContext,
    record: &NewKnownEntry,
    series: Option<SeriesId>,
    now: i64,
) -> Result<EntryId, StoreError> {
    let f = &record.facts;
    let b = facts_binds(f)?;
    let h = &record.hashes;
    let row = sqlx::query(
        "INSERT INTO known_entry (hash_set_id, md5, sha1, sha256, pdq, photodna, category, series_id, victim_identified, \
         offender_identified, distributed, baseline, file_available, submissions, mime_type, media_type, media_size, \
         external_id, file_names, tags, comments, source_updated_at, disabled, first_seen, last_seen, import_id, org_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, 0, $23, $23, $24, $25) \
         RETURNING id",
    )
    .bind(ctx.hash_set.0)
    .bind(h.md5.map(|x| x.as_bytes().to_vec()))
    .bind(h.sha1.map(|x| x.as_bytes().to_vec()))
    .bind(h.sha256.map(|x| x.as_bytes().to_vec()))
    .bind(h.pdq.map(|x| x.0.to_vec()))
    .bind(h.photodna.clone())
    .bind(b.category)
    .bind(series.map(|s| s.0))
    .bind(opt_flag(f.victim_identified))
    .bind(opt_flag(f.offender_identified))
    .bind(opt_flag(f.distributed))
    .bind(opt_flag(f.baseline))
    .bind(opt_flag(f.file_available))
    .bind(b.submissions)
    .bind(f.mime_type.clone())
    .bind(f.media_type.clone())
    .bind(b.media_size)
    .bind(f.external_id.clone())
    .bind(b.file_names)
    .bind(f.tags.clone())
    .bind(f.comments.clone())
    .bind(b.updated)
    .bind(now)
    .bind(ctx.import_id)
    .bind(ctx.org.0)
    .fetch_one(&mut *conn)
    .await?;
    Ok(EntryId(row.try_get("id")?))
}

async fn update_entry_in(
    conn: &mut AnyConnection,
    ctx: ImportContext,
    id: EntryId,
    h: &EntryHashes,
    f: &EntryFacts,
    series: Option<SeriesId>,
    now: i64,
) -> Result<(), StoreError> {
    let b = facts_binds(f)?;
    sqlx::query(
        "UPDATE known_entry SET md5 = $1, sha1 = $2, sha256 = $3, pdq = $4, photodna = $5, category = $6, series_id = $7, \
         victim_identified = $8, offender_identified = $9, distributed = $10, baseline = $11, file_available = $12, \
         submissions = $13, mime_type = $14, media_type = $15, media_size = $16, external_id = $17, file_names = $18, \
         tags = $19, comments = $20, source_updated_at = $21, last_seen = $22, import_id = COALESCE($23, import_id) \
         WHERE id = $24",
    )
    .bind(h.md5.map(|x| x.as_bytes().to_vec()))
    .bind(h.sha1.map(|x| x.as_bytes().to_vec()))
    .bind(h.sha256.map(|x| x.as_bytes().to_vec()))
    .bind(h.pdq.map(|x| x.0.to_vec()))
    .bind(h.photodna.clone())
    .bind(b.category)
    .bind(series.map(|s| s.0))
    .bind(opt_flag(f.victim_identified))
    .bind(opt_flag(f.offender_identified))
    .bind(opt_flag(f.distributed))
    .bind(opt_flag(f.baseline))
    .bind(opt_flag(f.file_available))
    .bind(b.submissions)
    .bind(f.mime_type.clone())
    .bind(f.media_type.clone())
    .bind(b.media_size)
    .bind(f.external_id.clone())
    .bind(b.file_names)
    .bind(f.tags.clone())
    .bind(f.comments.clone())
    .bind(b.updated)
    .bind(now)
    .bind(ctx.import_id)
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Recomputes a report's verdict from its files' verdicts, and its series from their counted
/// matches.
async fn refresh_report_verdict_in(
    conn: &mut AnyConnection,
    report: ReportId,
    now: i64,
) -> Result<Verdict, StoreError> {
    let rows = sqlx::query(
        "SELECT v.verdict FROM file_verdict v JOIN report_file f ON f.id = v.file_row_id WHERE f.report_id = $1",
    )
    .bind(report.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut verdict = Verdict::Unknown;
    for r in &rows {
        let v: String = r.try_get("verdict")?;
        verdict = verdict.combine(v.parse().map_err(StoreError::corrupt)?);
    }
    sqlx::query(
        "INSERT INTO report_verdict (report_id, verdict, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (report_id) DO UPDATE SET verdict = excluded.verdict, updated_at = excluded.updated_at",
    )
    .bind(report.0)
    .bind(verdict.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM report_series WHERE report_id = $1")
        .bind(report.0)
        .execute(&mut *conn)
        .await?;
    // Series of counted matches only: known-good and suppressed hits are stored with their own
    // verdict context, so the file verdict decides which series count.
    sqlx::query(
        "INSERT INTO report_series (report_id, series_id) \
         SELECT DISTINCT f.report_id, e.series_id FROM known_match m JOIN report_file f ON f.id = m.file_row_id \
         JOIN known_entry e ON e.id = m.entry_id JOIN hash_set s ON s.id = e.hash_set_id \
         JOIN file_verdict v ON v.file_row_id = f.id \
         WHERE f.report_id = $1 AND e.series_id IS NOT NULL AND s.purpose = 'known' AND v.verdict = 'known' \
         AND (m.method = 'exact' OR NOT EXISTS (SELECT 1 FROM known_match g JOIN known_entry ge ON ge.id = g.entry_id \
              JOIN hash_set gs ON gs.id = ge.hash_set_id WHERE g.file_row_id = f.id AND gs.purpose = 'known_good')) \
         ON CONFLICT (report_id, series_id) DO NOTHING",
    )
    .bind(report.0)
    .execute(&mut *conn)
    .await?;
    Ok(verdict)
}
