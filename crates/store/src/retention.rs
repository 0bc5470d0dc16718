//! Retention: which rows each data class's period makes due for deletion, and the purge of one of
//! them in a transaction that deletes the rows (files' blobs released to the caller for deletion
//! from the vault), keeps a tombstone with hashes and writes the purge to the audit log.
//!
//! A new data class (e.g. public tips) is one variant of [`DataClass`], one selection in
//! [`DataClass::candidates_sql`] and one purge arm in [`Store::purge`].

use std::fmt;
use std::str::FromStr;

use safeguard_domain::audit::AuditEvent;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256 as Sha256Hasher};
use sqlx::{AnyConnection, Connection, Row};
use time::OffsetDateTime;

use crate::files::remove_file_in;
use crate::time_codec::{micros, now_micros};
use crate::{audit, ReleasedBlob, Store, StoreError};

/// A kind of data with its own retention period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataClass {
    /// Reports never finished (open or retracted), whatever their source.
    UnfinishedIntake,
    /// Finished reports marked informational and referred nowhere.
    Informational,
    /// Finished reports referred to another organisation.
    Referred,
    /// Files of reports (the reports stay, without their media).
    Media,
    /// Tips the public sent about Trace-an-Object pictures (they may hold a contact).
    PublicTips,
}

impl DataClass {
    pub const ALL: [DataClass; 5] = [
        Self::UnfinishedIntake,
        Self::Informational,
        Self::Referred,
        Self::Media,
        Self::PublicTips,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnfinishedIntake => "unfinished_intake",
            Self::Informational => "informational",
            Self::Referred => "referred",
            Self::Media => "media",
            Self::PublicTips => "public_tips",
        }
    }

    /// What the class deletes.
    fn object_kind(self) -> &'static str {
        match self {
            Self::Media => "file",
            Self::PublicTips => "public_tip",
            _ => "report",
        }
    }

    /// Rows due: `$1` is the cut-off (received before it), `$2` the id of one row (re-checked
    /// under the write transaction) or NULL for all, `$3` the limit. Selects `object_id`.
    fn candidates_sql(self) -> &'static str {
        match self {
            Self::UnfinishedIntake => {
                "SELECT CAST(r.id AS TEXT) AS object_id FROM report r \
                 WHERE r.state IN ('open', 'retracted') AND r.received_at < $1 \
                 AND ($2 IS NULL OR CAST(r.id AS TEXT) = $2) ORDER BY r.id LIMIT $3"
            }
            Self::Informational => {
                "SELECT CAST(r.id AS TEXT) AS object_id FROM report r \
                 WHERE r.state = 'finished' AND r.priority = 'informational' AND r.received_at < $1 \
                 AND NOT EXISTS (SELECT 1 FROM referral x WHERE x.report_id = r.id) \
                 AND ($2 IS NULL OR CAST(r.id AS TEXT) = $2) ORDER BY r.id LIMIT $3"
            }
            Self::Referred => {
                "SELECT CAST(r.id AS TEXT) AS object_id FROM report r \
                 WHERE r.state = 'finished' AND r.received_at < $1 \
                 AND EXISTS (SELECT 1 FROM referral x WHERE x.report_id = r.id) \
                 AND ($2 IS NULL OR CAST(r.id AS TEXT) = $2) ORDER BY r.id LIMIT $3"
            }
            Self::Media => {
                "SELECT f.file_id AS object_id FROM report_file f JOIN report r ON r.id = f.report_id \
                 WHERE r.received_at < $1 AND ($2 IS NULL OR f.file_id = $2) \
                 ORDER BY f.id LIMIT $3"
            }
            Self::PublicTips => {
                "SELECT CAST(t.id AS TEXT) AS object_id FROM public_tip t \
                 WHERE t.received_at < $1 AND ($2 IS NULL OR CAST(t.id AS TEXT) = $2) \
                 ORDER BY t.id LIMIT $3"
            }
        }
    }
}

/// A data class name that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown data class {0:?} (expected unfinished_intake, informational, referred, media or public_tips)"
)]
pub struct UnknownDataClass(pub String);

impl FromStr for DataClass {
    type Err = UnknownDataClass;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| UnknownDataClass(s.to_owned()))
    }
}

impl fmt::Display for DataClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row due for deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeCandidate {
    pub class: DataClass,
    pub object_kind: &'static str,
    pub object_id: String,
}

/// What one purge deleted.
#[derive(Debug, Clone, Default)]
pub struct Purged {
    /// Content no report refers to any more: the caller deletes it from the vault.
    pub released: Vec<ReleasedBlob>,
    /// Files removed with it.
    pub files: usize,
}

/// What is kept of a deleted row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub data_class: String,
    pub object_kind: String,
    pub object_id: String,
    pub sha256: Option<[u8; 32]>,
    pub detail: serde_json::Value,
    pub purged_at: i64,
}

async fn candidates_in(
    conn: &mut AnyConnection,
    class: DataClass,
    cutoff: i64,
    one: Option<&str>,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(class.candidates_sql())
        .bind(cutoff)
        .bind(one.map(str::to_owned))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            r.try_get::<String, _>("object_id")
                .map_err(StoreError::from)
        })
        .collect()
}

impl Store {
    /// Rows of `class` received before `cutoff`, at most `limit`.
    pub async fn retention_candidates(
        &self,
        class: DataClass,
        cutoff: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<PurgeCandidate>, StoreError> {
        let mut conn = self.read.acquire().await?;
        let ids = candidates_in(&mut conn, class, micros(cutoff), None, i64::from(limit)).await?;
        Ok(ids
            .into_iter()
            .map(|object_id| PurgeCandidate {
                class,
                object_kind: class.object_kind(),
                object_id,
            })
            .collect())
    }

    /// Deletes one candidate if it is still due at `cutoff` (re-checked in the transaction), with
    /// its tombstone and audit entry. `None` when it is no longer due (finished, referred or
    /// deleted meanwhile).
    pub async fn purge(
        &self,
        candidate: &PurgeCandidate,
        cutoff: OffsetDateTime,
        actor: &str,
    ) -> Result<Option<Purged>, StoreError> {
        let class = candidate.class;
        let mut conn = self.write.acquire().await?;
        let mut tx = conn.begin().await?;
        let due = candidates_in(
            &mut tx,
            class,
            micros(cutoff),
            Some(&candidate.object_id),
            1,
        )
        .await?;
        if due.is_empty() {
            return Ok(None);
        }
        let mut out = Purged::default();
        let (sha256, detail) = match class {
            DataClass::Media => {
                let row = sqlx::query(
                    "SELECT report_id, sha256, size FROM report_file WHERE file_id = $1",
                )
                .bind(&candidate.object_id)
                .fetch_one(&mut *tx)
                .await?;
                let sha: Vec<u8> = row.try_get("sha256")?;
                let report: i64 = row.try_get("report_id")?;
                let size: i64 = row.try_get("size")?;
                if let Some(blob) = remove_file_in(&mut tx, &candidate.object_id).await? {
                    out.released.push(blob);
                }
                out.files = 1;
                let detail = serde_json::json!({
                    "report_id": report,
                    "size": size,
                    "sha256": hex::encode(&sha),
                });
                (Some(sha), detail)
            }
            DataClass::PublicTips => {
                let id: i64 = candidate.object_id.parse().map_err(|_| {
                    StoreError::corrupt(format!("tip id {:?}", candidate.object_id))
                })?;
                let row = sqlx::query(
                    "SELECT object_id, body_digest, status, received_at FROM public_tip WHERE id = $1",
                )
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                let object: i64 = row.try_get("object_id")?;
                let digest: Vec<u8> = row.try_get("body_digest")?;
                let status: String = row.try_get("status")?;
                let received_at: i64 = row.try_get("received_at")?;
                sqlx::query("DELETE FROM public_tip WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                // The text and the sender's contact go; the digest of the (normalised) text
                // stays, so a question about a tip can still be answered by its hash.
                let detail = serde_json::json!({
                    "object_id": object,
                    "status": status,
                    "received_at": received_at,
                });
                (Some(digest), detail)
            }
            DataClass::UnfinishedIntake | DataClass::Informational | DataClass::Referred => {
                let id: i64 = candidate.object_id.parse().map_err(|_| {
                    StoreError::corrupt(format!("report id {:?}", candidate.object_id))
                })?;
                let row = sqlx::query(
                    "SELECT uid, state, received_at, original_document FROM report WHERE id = $1",
                )
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                let uid: String = row.try_get("uid")?;
                let state: String = row.try_get("state")?;
                let received_at: i64 = row.try_get("received_at")?;
                let original: Option<Vec<u8>> = row.try_get("original_document")?;
                let files = sqlx::query(
                    "SELECT file_id, sha256 FROM report_file WHERE report_id = $1 ORDER BY id",
                )
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
                let mut file_hashes = Vec::new();
                for f in files {
                    let file_id: String = f.try_get("file_id")?;
                    let sha: Vec<u8> = f.try_get("sha256")?;
                    file_hashes.push(hex::encode(sha));
                    if let Some(blob) = remove_file_in(&mut tx, &file_id).await? {
                        out.released.push(blob);
                    }
                    out.files += 1;
                }
                sqlx::query("DELETE FROM report_identifier WHERE report_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM job WHERE subject_id = $1 AND kind LIKE 'report.%'")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM report WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let detail = serde_json::json!({
                    "uid": uid,
                    "state": state,
                    "received_at": received_at,
                    "files_sha256": file_hashes,
                });
                (original.map(|o| Sha256Hasher::digest(&o).to_vec()), detail)
            }
        };
        let detail_text = detail.to_string();
        sqlx::query(
            "INSERT INTO retention_tombstone (data_class, object_kind, object_id, sha256, detail, purged_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(class.as_str())
        .bind(candidate.object_kind)
        .bind(&candidate.object_id)
        .bind(sha256)
        .bind(&detail_text)
        .bind(now_micros())
        .execute(&mut *tx)
        .await?;
        audit::append_in(
            &mut tx,
            &AuditEvent {
                actor_user: None,
                actor: actor.to_owned(),
                action: "retention.purge".into(),
                object_kind: candidate.object_kind.into(),
                object_id: candidate.object_id.clone(),
                detail: format!("{}: {detail_text}", class.as_str()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(out))
    }

    /// The tombstones kept for an object.
    pub async fn tombstones(
        &self,
        object_kind: &str,
        object_id: &str,
    ) -> Result<Vec<Tombstone>, StoreError> {
        let rows = sqlx::query(
            "SELECT data_class, object_kind, object_id, sha256, detail, purged_at FROM retention_tombstone \
             WHERE object_kind = $1 AND object_id = $2 ORDER BY id",
        )
        .bind(object_kind)
        .bind(object_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let sha: Option<Vec<u8>> = r.try_get("sha256")?;
                let detail: String = r.try_get("detail")?;
                Ok(Tombstone {
                    data_class: r.try_get("data_class")?,
                    object_kind: r.try_get("object_kind")?,
                    object_id: r.try_get("object_id")?,
                    sha256: sha.and_then(|s| s.try_into().ok()),
                    detail: serde_json::from_str(&detail)
                        .map_err(|e| StoreError::corrupt(format!("tombstone detail: {e}")))?,
                    purged_at: r.try_get("purged_at")?,
                })
            })
            .collect()
    }
}
