//! The CyberTipline intake lifecycle: a report is OPEN after /submit, collects files and file
//! details, and ends FINISHED (immutable) or RETRACTED; unfinished reports expire.
//!
//! Every change is one [`IntakeOp`]. [`Store::intake_batch`] runs many of them in ONE
//! transaction (group commit: one durable commit acknowledges all), each inside its own
//! savepoint so that one refused or failing operation never undoes another. State transitions
//! are conditional `UPDATE`s (`… WHERE state = 'open'`), so of a concurrent finish and retract
//! exactly one wins, on either database.

use safeguard_domain::account::{OrgId, UserId};
use safeguard_domain::audit::AuditEvent;
use safeguard_domain::digest::{FileDigests, Sha256};
use safeguard_domain::report::{
    FileAnnotation, FileRelevance, IndustryClassification, IntakeState, IpEvent, ReportId,
};
use sqlx::{AnyConnection, Connection, Row};
use time::OffsetDateTime;

use crate::files::remove_file_in;
use crate::reports::insert_report_rows;
use crate::time_codec::{micros, offset_seconds, opt_flag};
use crate::{audit, ReleasedBlob, Store, StoreError, Submission};

/// An unfinished report expires this long after it was opened…
pub const OPEN_LIFETIME_MICROS: i64 = 24 * 3600 * 1_000_000;
/// …or this long after its last change, whichever is later.
pub const IDLE_LIFETIME_MICROS: i64 = 3600 * 1_000_000;

/// Who performs an intake operation: the reporter account and its organisation.
#[derive(Debug, Clone)]
pub struct IntakeActor {
    pub org: OrgId,
    pub user: UserId,
    pub username: String,
}

/// What /fileinfo says about a file (the report file's metadata).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileMetadata {
    pub original_name: Option<String>,
    pub relevance: Option<FileRelevance>,
    pub viewed_by_reporter: Option<bool>,
    pub exif_viewed_by_reporter: Option<bool>,
    pub publicly_available: Option<bool>,
    pub industry_classification: Option<IndustryClassification>,
    pub annotations: Vec<FileAnnotation>,
    pub location: Option<String>,
    pub ip_events: Vec<IpEvent>,
}

/// One intake change.
#[derive(Debug, Clone)]
pub enum IntakeOp {
    /// /submit: store a validated report as OPEN (the submission's state is ignored).
    Open(Box<OwnedSubmission>),
    /// /upload: attach content already in the vault to an OPEN report.
    Attach {
        actor: IntakeActor,
        report: ReportId,
        file_id: String,
        digests: FileDigests,
        size: u64,
        at: OffsetDateTime,
    },
    /// /fileinfo: the file's metadata and the original `<fileDetails>` bytes, at most once.
    Details {
        actor: IntakeActor,
        report: ReportId,
        file_id: String,
        metadata: Box<FileMetadata>,
        document: Vec<u8>,
        at: OffsetDateTime,
    },
    /// /finish. `batched_single_file`: the report is batched and must hold exactly one file.
    Finish {
        actor: IntakeActor,
        report: ReportId,
        at: OffsetDateTime,
    },
    /// /retract.
    Retract {
        actor: IntakeActor,
        report: ReportId,
        at: OffsetDateTime,
    },
}

/// A [`Submission`] that owns its parts (it crosses a channel to the group-commit writer).
#[derive(Debug, Clone)]
pub struct OwnedSubmission {
    pub actor: IntakeActor,
    pub holder_org: OrgId,
    pub report: safeguard_domain::report::NewReport,
    pub media_type: String,
    pub original: Vec<u8>,
    pub at: OffsetDateTime,
}

/// Why an intake operation was refused (nothing was changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeRefusal {
    ReportNotFound,
    /// The report belongs to another organisation.
    NotOwner,
    AlreadyFinished,
    AlreadyRetracted,
    /// The file id is unknown or belongs to another report.
    FileNotFound,
    /// File details were already given for this file.
    DetailsAlreadyGiven,
    /// A batched report must hold exactly one file at /finish; it holds this many.
    BatchedFileCount(usize),
}

/// The outcome of one intake operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeOutcome {
    Opened(ReportId),
    Attached,
    DetailsStored,
    /// The report is FINISHED; its files' ids, in upload order.
    Finished(Vec<String>),
    Retracted,
    Refused(IntakeRefusal),
}

/// A report's intake facts, for the checks made before streaming an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeStatus {
    pub reporter_org: OrgId,
    pub state: IntakeState,
    pub batched: bool,
}

/// What one expiry run removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpiredReports {
    pub reports: Vec<ReportId>,
    /// Content no report refers to any more: delete it from the vault.
    pub released: Vec<ReleasedBlob>,
}

impl Store {
    /// Runs every operation in one transaction, each in its own savepoint, and commits once.
    /// The result of each operation is returned in order; a database failure of the commit
    /// itself fails them all (none was acknowledged).
    pub async fn intake_batch(
        &self,
        ops: &[IntakeOp],
    ) -> Result<Vec<Result<IntakeOutcome, StoreError>>, StoreError> {
        let mut tx = self.write.begin().await?;
        // The audit chain's head is read once and written once per batch; each operation's
        // entry is one INSERT. A rolled-back operation gives its place in the chain back.
        let mut cursor = audit::AuditCursor::lock(&mut tx).await?;
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            let before = cursor;
            let mut sp = tx.begin().await?;
            match apply(&mut sp, op, &mut cursor).await {
                Ok(IntakeOutcome::Refused(why)) => {
                    sp.rollback().await?;
                    cursor = before;
                    results.push(Ok(IntakeOutcome::Refused(why)));
                }
                Ok(outcome) => {
                    sp.commit().await?;
                    results.push(Ok(outcome));
                }
                Err(e) => {
                    sp.rollback().await?;
                    cursor = before;
                    results.push(Err(e));
                }
            }
        }
        cursor.store(&mut tx).await?;
        tx.commit().await?;
        Ok(results)
    }

    /// One operation in its own transaction.
    pub async fn intake(&self, op: &IntakeOp) -> Result<IntakeOutcome, StoreError> {
        let mut results = self.intake_batch(std::slice::from_ref(op)).await?;
        results
            .pop()
            .unwrap_or_else(|| Err(StoreError::corrupt("intake batch lost its result")))
    }

    /// Owner, state and mode of a report (`None`: no such report).
    pub async fn intake_status(&self, id: ReportId) -> Result<Option<IntakeStatus>, StoreError> {
        let row =
            sqlx::query("SELECT reporter_org, state, batched_viral FROM report WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.read)
                .await?;
        row.map(|r| {
            let state: String = r.try_get("state")?;
            Ok(IntakeStatus {
                reporter_org: OrgId(r.try_get("reporter_org")?),
                state: state.parse().map_err(StoreError::corrupt)?,
                batched: r.try_get::<i64, _>("batched_viral")? != 0,
            })
        })
        .transpose()
    }

    /// The original `<fileDetails>` bytes of a file, if given.
    pub async fn file_details_document(
        &self,
        file_id: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT details_document FROM report_file WHERE file_id = $1")
            .bind(file_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(match row {
            Some(r) => r.try_get("details_document")?,
            None => None,
        })
    }

    /// Counts of reports, report files and evidence blobs (for checks that a refused call
    /// stored nothing).
    pub async fn intake_counts(&self) -> Result<(i64, i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM report) AS r, (SELECT COUNT(*) FROM report_file) AS f, \
             (SELECT COUNT(*) FROM evidence_blob) AS b",
        )
        .fetch_one(&self.read)
        .await?;
        Ok((row.try_get("r")?, row.try_get("f")?, row.try_get("b")?))
    }

    /// Deletes (with their files) at most `limit` OPEN or RETRACTED reports whose time is up at
    /// `now`: the later of 24 h after opening and 1 h after the last change.
    pub async fn expire_unfinished(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<ExpiredReports, StoreError> {
        let now = micros(now);
        let rows = sqlx::query(
            "SELECT id FROM report WHERE state IN ('open', 'retracted') AND source = 'cybertipline' \
             AND received_at <= $1 AND COALESCE(last_change_at, received_at) <= $2 ORDER BY id LIMIT $3",
        )
        .bind(now - OPEN_LIFETIME_MICROS)
        .bind(now - IDLE_LIFETIME_MICROS)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        let mut out = ExpiredReports::default();
        if rows.is_empty() {
            return Ok(out);
        }
        let mut tx = self.write.begin().await?;
        for row in rows {
            let id = ReportId(row.try_get("id")?);
            // Re-checked under the write lock: a report finished meanwhile is kept.
            let gone = sqlx::query(
                "SELECT id FROM report WHERE id = $1 AND state IN ('open', 'retracted') \
                 AND received_at <= $2 AND COALESCE(last_change_at, received_at) <= $3",
            )
            .bind(id.0)
            .bind(now - OPEN_LIFETIME_MICROS)
            .bind(now - IDLE_LIFETIME_MICROS)
            .fetch_optional(&mut *tx)
            .await?;
            if gone.is_none() {
                continue;
            }
            let files = sqlx::query("SELECT file_id FROM report_file WHERE report_id = $1")
                .bind(id.0)
                .fetch_all(&mut *tx)
                .await?;
            for f in files {
                let file_id: String = f.try_get("file_id")?;
                if let Some(blob) = remove_file_in(&mut tx, &file_id).await? {
                    out.released.push(blob);
                }
            }
            sqlx::query("DELETE FROM report_identifier WHERE report_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM job WHERE subject_id = $1 AND kind LIKE 'report.%'")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM report WHERE id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            audit::append_in(
                &mut tx,
                &AuditEvent {
                    actor_user: None,
                    actor: "system:intake-expiry".into(),
                    action: "report.expire".into(),
                    object_kind: "report".into(),
                    object_id: id.0.to_string(),
                    detail: "unfinished CyberTipline report expired".into(),
                },
            )
            .await?;
            out.reports.push(id);
        }
        tx.commit().await?;
        Ok(out)
    }
}

fn event(actor: &IntakeActor, action: &str, kind: &str, id: String, detail: String) -> AuditEvent {
    AuditEvent {
        actor_user: Some(actor.user.0),
        actor: actor.username.clone(),
        action: action.to_owned(),
        object_kind: kind.to_owned(),
        object_id: id,
        detail,
    }
}

/// Marks an OPEN report of `actor`'s organisation as changed at `at`; `Some(refusal)` when it is
/// not there, not theirs or not open. The conditional UPDATE also takes the row's write lock.
async fn touch_open(
    conn: &mut AnyConnection,
    actor: &IntakeActor,
    report: ReportId,
    at: i64,
) -> Result<Option<IntakeRefusal>, StoreError> {
    let done = sqlx::query(
        "UPDATE report SET updated_at = $1, last_change_at = $1 \
         WHERE id = $2 AND reporter_org = $3 AND state = 'open'",
    )
    .bind(at)
    .bind(report.0)
    .bind(actor.org.0)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(None);
    }
    diagnose(conn, actor, report).await.map(Some)
}

/// Why a report is not an OPEN report of `actor`'s organisation.
async fn diagnose(
    conn: &mut AnyConnection,
    actor: &IntakeActor,
    report: ReportId,
) -> Result<IntakeRefusal, StoreError> {
    let row = sqlx::query("SELECT reporter_org, state, source FROM report WHERE id = $1")
        .bind(report.0)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(IntakeRefusal::ReportNotFound);
    };
    if row.try_get::<i64, _>("reporter_org")? != actor.org.0 {
        return Ok(IntakeRefusal::NotOwner);
    }
    let state: String = row.try_get("state")?;
    Ok(match state.parse::<IntakeState>() {
        Ok(IntakeState::Retracted) => IntakeRefusal::AlreadyRetracted,
        Ok(IntakeState::Finished) => IntakeRefusal::AlreadyFinished,
        // Open but the update matched nothing: cannot happen inside one transaction.
        Ok(IntakeState::Open) => IntakeRefusal::ReportNotFound,
        Err(e) => return Err(StoreError::corrupt(e)),
    })
}

async fn apply(
    conn: &mut AnyConnection,
    op: &IntakeOp,
    audit: &mut audit::AuditCursor,
) -> Result<IntakeOutcome, StoreError> {
    match op {
        IntakeOp::Open(sub) => {
            let at = micros(sub.at);
            let submission = Submission {
                source: safeguard_domain::report::ReportSource::CyberTipline,
                reporter_org: sub.actor.org,
                holder_org: sub.holder_org,
                submitted_by: Some(sub.actor.user),
                actor: &sub.actor.username,
                state: IntakeState::Open,
                report: &sub.report,
                original: Some((sub.media_type.as_str(), sub.original.as_slice())),
                idempotency: None,
            };
            let id = insert_report_rows(conn, &submission).await?;
            sqlx::query("UPDATE report SET last_change_at = $1 WHERE id = $2")
                .bind(at)
                .bind(id.0)
                .execute(&mut *conn)
                .await?;
            audit
                .append(
                    conn,
                    &event(
                        &sub.actor,
                        "report.open",
                        "report",
                        id.0.to_string(),
                        "source=cybertipline".into(),
                    ),
                )
                .await?;
            Ok(IntakeOutcome::Opened(id))
        }
        IntakeOp::Attach {
            actor,
            report,
            file_id,
            digests,
            size,
            at,
        } => {
            let at = micros(*at);
            if let Some(why) = touch_open(conn, actor, *report, at).await? {
                return Ok(IntakeOutcome::Refused(why));
            }
            let size = i64::try_from(*size).map_err(StoreError::corrupt)?;
            sqlx::query(
                "INSERT INTO evidence_blob (sha256, md5, sha1, size, refcount, created_at) VALUES ($1, $2, $3, $4, 1, $5) \
                 ON CONFLICT (sha256) DO UPDATE SET refcount = evidence_blob.refcount + 1",
            )
            .bind(digests.sha256.as_bytes().to_vec())
            .bind(digests.md5.as_bytes().to_vec())
            .bind(digests.sha1.as_bytes().to_vec())
            .bind(size)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO report_file (report_id, file_id, sha256, size, relevance, uploaded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(report.0)
            .bind(file_id.as_str())
            .bind(digests.sha256.as_bytes().to_vec())
            .bind(size)
            .bind(FileRelevance::Reported.code())
            .bind(at)
            .execute(&mut *conn)
            .await?;
            audit
                .append(
                    conn,
                    &event(
                        actor,
                        "file.attach",
                        "file",
                        file_id.clone(),
                        format!("report={report} sha256={}", digests.sha256),
                    ),
                )
                .await?;
            Ok(IntakeOutcome::Attached)
        }
        IntakeOp::Details {
            actor,
            report,
            file_id,
            metadata,
            document,
            at,
        } => {
            let at = micros(*at);
            if let Some(why) = touch_open(conn, actor, *report, at).await? {
                return Ok(IntakeOutcome::Refused(why));
            }
            let m = metadata.as_ref();
            let row = sqlx::query(
                "UPDATE report_file SET original_name = $1, relevance = $2, viewed_by_reporter = $3, \
                 exif_viewed_by_reporter = $4, publicly_available = $5, industry_classification = $6, \
                 location = $7, details_at = $8, details_document = $9 \
                 WHERE file_id = $10 AND report_id = $11 AND details_at IS NULL RETURNING id",
            )
            .bind(m.original_name.as_deref())
            .bind(m.relevance.unwrap_or(FileRelevance::Reported).code())
            .bind(opt_flag(m.viewed_by_reporter))
            .bind(opt_flag(m.exif_viewed_by_reporter))
            .bind(opt_flag(m.publicly_available))
            .bind(m.industry_classification.map(|c| c.code()))
            .bind(m.location.as_deref())
            .bind(at)
            .bind(document.clone())
            .bind(file_id.as_str())
            .bind(report.0)
            .fetch_optional(&mut *conn)
            .await?;
            let Some(row) = row else {
                let exists = sqlx::query(
                    "SELECT details_at FROM report_file WHERE file_id = $1 AND report_id = $2",
                )
                .bind(file_id.as_str())
                .bind(report.0)
                .fetch_optional(&mut *conn)
                .await?;
                return Ok(IntakeOutcome::Refused(match exists {
                    Some(_) => IntakeRefusal::DetailsAlreadyGiven,
                    None => IntakeRefusal::FileNotFound,
                }));
            };
            let file_row: i64 = row.try_get("id")?;
            let mut seen = Vec::new();
            for a in &m.annotations {
                if seen.contains(a) {
                    continue;
                }
                seen.push(*a);
                sqlx::query(
                    "INSERT INTO file_annotation (file_row_id, annotation) VALUES ($1, $2)",
                )
                .bind(file_row)
                .bind(a.code())
                .execute(&mut *conn)
                .await?;
            }
            for (position, ip) in m.ip_events.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO report_identifier (report_id, file_row_id, position, kind, value, event, \
                     event_at, event_offset, port, possible_proxy) VALUES ($1, $2, $3, 'ip', $4, $5, $6, $7, $8, $9)",
                )
                .bind(report.0)
                .bind(file_row)
                .bind(position as i64)
                .bind(ip.ip.to_string())
                .bind(ip.event.map(|e| e.code()))
                .bind(ip.at.map(micros))
                .bind(ip.at.map(offset_seconds))
                .bind(ip.port.map(i64::from))
                .bind(opt_flag(ip.possible_proxy))
                .execute(&mut *conn)
                .await?;
            }
            audit
                .append(
                    conn,
                    &event(
                        actor,
                        "file.details",
                        "file",
                        file_id.clone(),
                        format!("report={report}"),
                    ),
                )
                .await?;
            Ok(IntakeOutcome::DetailsStored)
        }
        IntakeOp::Finish { actor, report, at } => {
            let at = micros(*at);
            let Some(head) = sqlx::query(
                "SELECT batched_viral FROM report WHERE id = $1 AND reporter_org = $2 AND state = 'open'",
            )
            .bind(report.0)
            .bind(actor.org.0)
            .fetch_optional(&mut *conn)
            .await?
            else {
                return Ok(IntakeOutcome::Refused(diagnose(conn, actor, *report).await?));
            };
            let files: Vec<String> =
                sqlx::query("SELECT file_id FROM report_file WHERE report_id = $1 ORDER BY id")
                    .bind(report.0)
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|r| r.try_get("file_id"))
                    .collect::<Result<_, _>>()?;
            if head.try_get::<i64, _>("batched_viral")? != 0 && files.len() != 1 {
                return Ok(IntakeOutcome::Refused(IntakeRefusal::BatchedFileCount(
                    files.len(),
                )));
            }
            let done = sqlx::query(
                "UPDATE report SET state = 'finished', finished_at = $1, updated_at = $1 \
                 WHERE id = $2 AND reporter_org = $3 AND state = 'open'",
            )
            .bind(at)
            .bind(report.0)
            .bind(actor.org.0)
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(IntakeOutcome::Refused(
                    diagnose(conn, actor, *report).await?,
                ));
            }
            // Matching and routing run after the acknowledgement, from this durable job.
            sqlx::query(
                "INSERT INTO job (kind, subject_id, run_at, created_at) VALUES ('report.finished', $1, $2, $2) \
                 ON CONFLICT (kind, subject_id) DO NOTHING",
            )
            .bind(report.0)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            audit
                .append(
                    conn,
                    &event(
                        actor,
                        "report.finish",
                        "report",
                        report.0.to_string(),
                        format!("files={}", files.len()),
                    ),
                )
                .await?;
            Ok(IntakeOutcome::Finished(files))
        }
        IntakeOp::Retract { actor, report, at } => {
            let at = micros(*at);
            let done = sqlx::query(
                "UPDATE report SET state = 'retracted', retracted_at = $1, updated_at = $1, last_change_at = $1 \
                 WHERE id = $2 AND reporter_org = $3 AND state = 'open'",
            )
            .bind(at)
            .bind(report.0)
            .bind(actor.org.0)
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(IntakeOutcome::Refused(
                    diagnose(conn, actor, *report).await?,
                ));
            }
            audit
                .append(
                    conn,
                    &event(
                        actor,
                        "report.retract",
                        "report",
                        report.0.to_string(),
                        String::new(),
                    ),
                )
                .await?;
            Ok(IntakeOutcome::Retracted)
        }
    }
}

/// The SHA-256 of content referred to by no report file (a failed upload's blob may be deleted).
impl Store {
    pub async fn blob_unreferenced(&self, sha256: &Sha256) -> Result<bool, StoreError> {
        Ok(self.blob_refcount(sha256).await? == 0)
    }
}
