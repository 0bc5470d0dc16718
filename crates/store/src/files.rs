//! Files attached to reports, and the reference counts of the evidence they point to.
//!
//! The vault stores each content once; this table counts how many report files use it. A blob
//! is released (and may be deleted from the vault) only when its count reaches zero, so removing
//! one report's file never removes another's.

use safeguard_domain::audit::AuditEvent;
use safeguard_domain::digest::{FileDigests, Md5, Sha1, Sha256};
use safeguard_domain::report::{
    CaptureEvent, FileAnnotation, FileRelevance, IndustryClassification, IpEvent, ReportFile,
    ReportId,
};
use sqlx::{AnyConnection, Row};

use crate::time_codec::{from_micros, now_micros, read_flag, with_offset};
use crate::{audit, Store, StoreError};

/// A file to attach to a report, already stored in the vault.
#[derive(Debug, Clone)]
pub struct NewFile<'a> {
    pub report: ReportId,
    /// The public 32-hex id handed back to the uploader.
    pub file_id: &'a str,
    pub digests: FileDigests,
    pub size: u64,
    pub original_name: Option<&'a str>,
    pub media_type: Option<&'a str>,
    pub relevance: FileRelevance,
    pub actor_user: Option<i64>,
    pub actor: &'a str,
}

/// Content no report refers to any more: the caller deletes it from the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasedBlob {
    pub sha256: Sha256,
}

fn digest<const N: usize>(bytes: Vec<u8>, what: &str) -> Result<[u8; N], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::corrupt(format!("{what} has the wrong length")))
}

impl Store {
    /// Attaches a stored file to a report and counts the reference, with its audit entry.
    pub async fn attach_file(&self, file: &NewFile<'_>) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        attach_file_in(&mut tx, file).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes one report file and releases its reference. Returns the blob when no other file
    /// refers to it any more.
    pub async fn remove_file(
        &self,
        file_id: &str,
        actor_user: Option<i64>,
        actor: &str,
    ) -> Result<Option<ReleasedBlob>, StoreError> {
        let mut tx = self.write.begin().await?;
        let released = remove_file_in(&mut tx, file_id).await?;
        audit::append_in(
            &mut tx,
            &AuditEvent {
                actor_user,
                actor: actor.to_owned(),
                action: "file.remove".into(),
                object_kind: "file".into(),
                object_id: file_id.to_owned(),
                detail: String::new(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(released)
    }

    /// How many report files refer to this content (0 when none).
    pub async fn blob_refcount(&self, sha256: &Sha256) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT refcount FROM evidence_blob WHERE sha256 = $1")
            .bind(sha256.as_bytes().to_vec())
            .fetch_optional(&self.read)
            .await?;
        Ok(match row {
            Some(r) => r.try_get("refcount")?,
            None => 0,
        })
    }

    /// The report a file id belongs to.
    pub async fn file_report(
        &self,
        file_id: &str,
    ) -> Result<Option<(ReportId, Sha256)>, StoreError> {
        let row = sqlx::query("SELECT report_id, sha256 FROM report_file WHERE file_id = $1")
            .bind(file_id)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok((
                ReportId(r.try_get("report_id")?),
                Sha256::from_bytes(digest(r.try_get("sha256")?, "sha256")?),
            ))
        })
        .transpose()
    }
}

/// [`Store::attach_file`] inside the caller's transaction.
pub(crate) async fn attach_file_in(
    tx: &mut AnyConnection,
    file: &NewFile<'_>,
) -> Result<(), StoreError> {
    let now = now_micros();
    let size = i64::try_from(file.size).map_err(StoreError::corrupt)?;
    sqlx::query(
            "INSERT INTO evidence_blob (sha256, md5, sha1, size, refcount, created_at) VALUES ($1, $2, $3, $4, 1, $5) \
             ON CONFLICT (sha256) DO UPDATE SET refcount = evidence_blob.refcount + 1",
        )
        .bind(file.digests.sha256.as_bytes().to_vec())
        .bind(file.digests.md5.as_bytes().to_vec())
        .bind(file.digests.sha1.as_bytes().to_vec())
        .bind(size)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
            "INSERT INTO report_file (report_id, file_id, sha256, size, original_name, media_type, relevance, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(file.report.0)
        .bind(file.file_id)
        .bind(file.digests.sha256.as_bytes().to_vec())
        .bind(size)
        .bind(file.original_name)
        .bind(file.media_type)
        .bind(file.relevance.code())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Duplicate { what: "file id", name: file.file_id.to_owned() }
            } else {
                e.into()
            }
        })?;
    sqlx::query("UPDATE report SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(file.report.0)
        .execute(&mut *tx)
        .await?;
    audit::append_in(
        tx,
        &AuditEvent {
            actor_user: file.actor_user,
            actor: file.actor.to_owned(),
            action: "file.attach".into(),
            object_kind: "file".into(),
            object_id: file.file_id.to_owned(),
            detail: format!("report={} sha256={}", file.report, file.digests.sha256),
        },
    )
    .await?;
    Ok(())
}

pub(crate) async fn remove_file_in(
    conn: &mut AnyConnection,
    file_id: &str,
) -> Result<Option<ReleasedBlob>, StoreError> {
    let row = sqlx::query("DELETE FROM report_file WHERE file_id = $1 RETURNING sha256")
        .bind(file_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "file",
            name: file_id.to_owned(),
        })?;
    let sha: Vec<u8> = row.try_get("sha256")?;
    let left = sqlx::query(
        "UPDATE evidence_blob SET refcount = refcount - 1 WHERE sha256 = $1 RETURNING refcount",
    )
    .bind(sha.clone())
    .fetch_one(&mut *conn)
    .await?;
    if left.try_get::<i64, _>("refcount")? > 0 {
        return Ok(None);
    }
    sqlx::query("DELETE FROM evidence_blob WHERE sha256 = $1")
        .bind(sha.clone())
        .execute(&mut *conn)
        .await?;
    Ok(Some(ReleasedBlob {
        sha256: Sha256::from_bytes(digest(sha, "sha256")?),
    }))
}

pub(crate) async fn load_files(
    conn: &mut AnyConnection,
    report: ReportId,
) -> Result<Vec<ReportFile>, StoreError> {
    let rows = sqlx::query(
        "SELECT f.id, f.file_id, f.sha256, b.md5, b.sha1, f.size, f.original_name, f.media_type, f.relevance, \
         f.viewed_by_reporter, f.exif_viewed_by_reporter, f.publicly_available, f.industry_classification, f.location \
         FROM report_file f JOIN evidence_blob b ON b.sha256 = f.sha256 WHERE f.report_id = $1 ORDER BY f.id",
    )
    .bind(report.0)
    .fetch_all(&mut *conn)
    .await?;
    // The files' own IP capture events (fileDetails ipCaptureEvent), one query for the report.
    let mut ip_rows = file_ip_events(conn, report).await?.into_iter().peekable();
    let mut files = Vec::with_capacity(rows.len());
    for r in rows {
        let row_id: i64 = r.try_get("id")?;
        let mut ip_events = Vec::new();
        while let Some((file_row, event)) = ip_rows.next_if(|(file_row, _)| *file_row <= row_id) {
            if file_row == row_id {
                ip_events.push(event);
            }
        }
        let annotations = sqlx::query(
            "SELECT annotation FROM file_annotation WHERE file_row_id = $1 ORDER BY annotation",
        )
        .bind(row_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|a| {
            let text: String = a.try_get("annotation")?;
            text.parse::<FileAnnotation>().map_err(StoreError::corrupt)
        })
        .collect::<Result<Vec<_>, _>>()?;
        let relevance: String = r.try_get("relevance")?;
        let classification: Option<String> = r.try_get("industry_classification")?;
        files.push(ReportFile {
            file_id: r.try_get("file_id")?,
            digests: FileDigests {
                md5: Md5::from_bytes(digest(r.try_get("md5")?, "md5")?),
                sha1: Sha1::from_bytes(digest(r.try_get("sha1")?, "sha1")?),
                sha256: Sha256::from_bytes(digest(r.try_get("sha256")?, "sha256")?),
            },
            size: u64::try_from(r.try_get::<i64, _>("size")?).map_err(StoreError::corrupt)?,
            original_name: r.try_get("original_name")?,
            media_type: r.try_get("media_type")?,
            relevance: relevance.parse().map_err(StoreError::corrupt)?,
            viewed_by_reporter: read_flag(r.try_get("viewed_by_reporter")?),
            exif_viewed_by_reporter: read_flag(r.try_get("exif_viewed_by_reporter")?),
            publicly_available: read_flag(r.try_get("publicly_available")?),
            industry_classification: classification
                .map(|c| {
                    c.parse::<IndustryClassification>()
                        .map_err(StoreError::corrupt)
                })
                .transpose()?,
            annotations,
            location: r.try_get("location")?,
            ip_events,
        });
    }
    Ok(files)
}

/// `(file row id, event)` of every IP event given in a report's file details, by file row and
/// position.
async fn file_ip_events(
    conn: &mut AnyConnection,
    report: ReportId,
) -> Result<Vec<(i64, IpEvent)>, StoreError> {
    let rows = sqlx::query(
        "SELECT file_row_id, value, event, event_at, event_offset, port, possible_proxy FROM report_identifier \
         WHERE report_id = $1 AND file_row_id IS NOT NULL AND kind = 'ip' ORDER BY file_row_id, position",
    )
    .bind(report.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let value: String = r.try_get("value")?;
            let event: Option<String> = r.try_get("event")?;
            let at = match (
                r.try_get::<Option<i64>, _>("event_at")?,
                r.try_get::<Option<i64>, _>("event_offset")?,
            ) {
                (Some(at), Some(offset)) => Some(with_offset(at, offset)?),
                (Some(at), None) => Some(from_micros(at)?),
                _ => None,
            };
            Ok((
                r.try_get("file_row_id")?,
                IpEvent {
                    ip: value
                        .parse()
                        .map_err(|e| StoreError::corrupt(format!("ip {value:?}: {e}")))?,
                    event: event
                        .map(|e| e.parse::<CaptureEvent>().map_err(StoreError::corrupt))
                        .transpose()?,
                    at,
                    port: r
                        .try_get::<Option<i64>, _>("port")?
                        .map(|p| u16::try_from(p).map_err(StoreError::corrupt))
                        .transpose()?,
                    possible_proxy: read_flag(r.try_get("possible_proxy")?),
                },
            ))
        })
        .collect()
}
