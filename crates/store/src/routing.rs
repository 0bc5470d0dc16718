//! Routing results (candidate jurisdictions, the priority and its fired rules, referrals) and the
//! job queue that drives routing of finished reports.

use safeguard_domain::account::OrgId;
use safeguard_domain::audit::AuditEvent;
use safeguard_domain::jurisdiction::{Assessment, Candidate, Evidence, Unplaced};
use safeguard_domain::priority::{FiredRule, PriorityAssessment};
use safeguard_domain::report::{Priority, ReportId};
use safeguard_domain::routing::{RoutedCountry, Skipped};
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::time_codec::{from_micros, micros, now_micros};
use crate::{audit, Store, StoreError, Submission};

/// Job kind enqueued when a report is complete and ready to be routed.
pub const JOB_REPORT_FINISHED: &str = "report.finished";

/// [`Store::earlier_reports_sharing_identifier`] counts up to this many reports and stops.
pub const SHARED_IDENTIFIER_COUNT_CAP: i64 = 1_000;

/// A referral to create.
#[derive(Debug, Clone)]
pub struct NewReferral {
    pub from_org: OrgId,
    pub to_org: OrgId,
    /// The organisation it came through, for a forwarded referral.
    pub via_org: Option<OrgId>,
    pub reason: String,
    pub due_at: Option<OffsetDateTime>,
    /// The routes it carries (onward path for intermediaries).
    pub route: Vec<RoutedCountry>,
}

/// A stored referral.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Referral {
    pub id: i64,
    pub report_id: ReportId,
    pub from_org: OrgId,
    pub to_org: OrgId,
    pub via_org: Option<OrgId>,
    pub status: String,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_at: Option<OffsetDateTime>,
    pub route: Vec<RoutedCountry>,
}

/// Everything one routing run decided about a report.
#[derive(Debug, Clone)]
pub struct RoutingRecord<'a> {
    pub report_id: ReportId,
    pub actor: &'a str,
    pub assessment: &'a Assessment,
    pub priority: &'a PriorityAssessment,
    pub skipped: &'a [Skipped],
    pub referrals: &'a [NewReferral],
}

/// The stored outcome of the last routing run of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredRouting {
    #[serde(with = "time::serde::rfc3339")]
    pub routed_at: OffsetDateTime,
    pub priority: Option<Priority>,
    pub score: u32,
    pub fired: Vec<FiredRule>,
    pub candidates: Vec<Candidate>,
    pub unplaced: Vec<Unplaced>,
    pub skipped: Vec<Skipped>,
    pub referrals: Vec<Referral>,
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub subject_id: i64,
    pub attempts: i64,
}

/// How a failed job is retried: after `base * 2^(attempts-1)`, at most `max_delay`, and parked
/// after `max_attempts` tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: time::Duration,
    pub max_delay: time::Duration,
    pub max_attempts: u32,
}

impl RetryPolicy {
    /// The delay before the next try of a job tried `attempts` times so far.
    pub fn delay(&self, attempts: i64) -> time::Duration {
        let exponent = attempts.saturating_sub(1).clamp(0, 30) as u32;
        let delay = self.base.saturating_mul(2_i32.saturating_pow(exponent));
        delay.min(self.max_delay)
    }
}

impl Default for RetryPolicy {
    /// 5 s, 10 s, 20 s... at most 10 minutes apart, parked after 10 tries.
    fn default() -> Self {
        Self {
            base: time::Duration::seconds(5),
            max_delay: time::Duration::minutes(10),
            max_attempts: 10,
        }
    }
}

/// The job queue by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobCount {
    pub kind: String,
    pub waiting: i64,
    pub running: i64,
    pub done: i64,
    pub parked: i64,
}

fn json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::corrupt(format!("JSON: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(format!("{what}: {e}")))
}

/// Adds a job unless one of that kind for that subject exists (done or not).
pub(crate) async fn enqueue_in(
    conn: &mut AnyConnection,
    kind: &str,
    subject_id: i64,
) -> Result<(), StoreError> {
    let now = now_micros();
    sqlx::query(
        "INSERT INTO job (kind, subject_id, run_at, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (kind, subject_id) DO NOTHING",
    )
    .bind(kind)
    .bind(subject_id)
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Stores a routing run in one transaction: the report's priority, the fired rules and the
    /// candidates replace those of any earlier run; referrals are added unless the report was
    /// already referred to that organisation (re-running never duplicates them). Returns every
    /// referral of the report.
    pub async fn save_routing(
        &self,
        record: &RoutingRecord<'_>,
    ) -> Result<Vec<Referral>, StoreError> {
        let mut tx = self.write.begin().await?;
        save_routing_in(&mut tx, record, now_micros()).await?;
        tx.commit().await?;
        self.referrals(record.report_id).await
    }

    /// Stores several routing runs in one transaction (one commit for all, as a worker catching
    /// up on many reports wants); each as [`Store::save_routing`] would. On error nothing of
    /// the batch is kept. Returns every referral of each report, in the order of `records`.
    pub async fn save_routings(
        &self,
        records: &[RoutingRecord<'_>],
    ) -> Result<Vec<Vec<Referral>>, StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        for record in records {
            save_routing_in(&mut tx, record, now).await?;
        }
        tx.commit().await?;
        let ids: Vec<ReportId> = records.iter().map(|r| r.report_id).collect();
        self.referrals_of_reports(&ids).await
    }

    /// The referrals of each report (oldest first), in the order of `reports`, in one query.
    pub async fn referrals_of_reports(
        &self,
        reports: &[ReportId],
    ) -> Result<Vec<Vec<Referral>>, StoreError> {
        let mut out: Vec<Vec<Referral>> = vec![Vec::new(); reports.len()];
        if reports.is_empty() {
            return Ok(out);
        }
        let position: std::collections::HashMap<i64, Vec<usize>> =
            reports
                .iter()
                .enumerate()
                .fold(Default::default(), |mut m, (i, r)| {
                    m.entry(r.0).or_insert_with(Vec::new).push(i);
                    m
                });
        for chunk in reports.chunks(500) {
            let list = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT id, report_id, from_org, to_org, via_org, status, reason, created_at, due_at, route \
                 FROM referral WHERE report_id IN ({list}) ORDER BY report_id, id"
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q.bind(r.0);
            }
            for row in q.fetch_all(&self.read).await? {
                let referral = referral_from_row(&row)?;
                for &i in position.get(&referral.report_id.0).into_iter().flatten() {
                    out[i].push(referral.clone());
                }
            }
        }
        Ok(out)
    }

    /// The referrals of a report, oldest first.
    pub async fn referrals(&self, report: ReportId) -> Result<Vec<Referral>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, report_id, from_org, to_org, via_org, status, reason, created_at, due_at, route \
             FROM referral WHERE report_id = $1 ORDER BY id",
        )
        .bind(report.0)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(referral_from_row).collect()
    }

    /// The last routing run of a report, `None` if it was never routed.
    pub async fn routing(&self, report: ReportId) -> Result<Option<StoredRouting>, StoreError> {
        let id = report.0;
        let Some(head) = sqlx::query(
            "SELECT g.routed_at, g.score, g.unplaced, g.skipped, r.priority FROM report_routing g \
             JOIN report r ON r.id = g.report_id WHERE g.report_id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        else {
            return Ok(None);
        };
        let priority: Option<String> = head.try_get("priority")?;
        let priority = priority
            .map(|p| p.parse::<Priority>().map_err(StoreError::corrupt))
            .transpose()?;
        let score: i64 = head.try_get("score")?;
        let rules = sqlx::query(
            "SELECT rule, weight, facts FROM report_priority_rule WHERE report_id = $1 ORDER BY weight DESC, rule",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        let fired = rules
            .iter()
            .map(|row| {
                Ok(FiredRule {
                    rule: row.try_get("rule")?,
                    weight: u32::try_from(row.try_get::<i64, _>("weight")?)
                        .map_err(StoreError::corrupt)?,
                    facts: from_json(&row.try_get::<String, _>("facts")?, "facts")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let candidates = sqlx::query(
            "SELECT country, confidence_milli, evidence FROM report_jurisdiction WHERE report_id = $1 ORDER BY rank",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|row| {
            Ok(Candidate {
                country: row.try_get("country")?,
                confidence: row.try_get::<i64, _>("confidence_milli")? as f64 / 1000.0,
                evidence: from_json::<Vec<Evidence>>(
                    &row.try_get::<String, _>("evidence")?,
                    "evidence",
                )?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(StoredRouting {
            routed_at: from_micros(head.try_get("routed_at")?)?,
            priority,
            score: u32::try_from(score).map_err(StoreError::corrupt)?,
            fired,
            candidates,
            unplaced: from_json(&head.try_get::<String, _>("unplaced")?, "unplaced")?,
            skipped: from_json(&head.try_get::<String, _>("skipped")?, "skipped")?,
            referrals: self.referrals(report).await?,
        }))
    }

    /// Forwards a referral held by an intermediary to the next organisation on its path: a new
    /// referral from the intermediary (recorded as `via`) to `next`, and the held one marked
    /// `forwarded`. Idempotent like routing: forwarding twice adds nothing.
    pub async fn forward_referral(
        &self,
        referral_id: i64,
        next: OrgId,
        route: &[RoutedCountry],
        reason: &str,
    ) -> Result<Vec<Referral>, StoreError> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query("SELECT report_id, to_org, due_at FROM referral WHERE id = $1")
            .bind(referral_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "referral",
                name: referral_id.to_string(),
            })?;
        let report_id: i64 = row.try_get("report_id")?;
        let holder: i64 = row.try_get("to_org")?;
        let due_at: Option<i64> = row.try_get("due_at")?;
        sqlx::query(
            "INSERT INTO referral (report_id, from_org, to_org, via_org, status, reason, created_at, due_at, route) \
             VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8) ON CONFLICT (report_id, to_org) DO NOTHING",
        )
        .bind(report_id)
        .bind(holder)
        .bind(next.0)
        .bind(holder)
        .bind(reason)
        .bind(now_micros())
        .bind(due_at)
        .bind(json(&route)?)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE referral SET status = 'forwarded' WHERE id = $1")
            .bind(referral_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.referrals(ReportId(report_id)).await
    }

    /// How many earlier reports (lower ids) share an e-mail address, phone number, profile URL
    /// or device id with this one, up to [`SHARED_IDENTIFIER_COUNT_CAP`].
    pub async fn earlier_reports_sharing_identifier(
        &self,
        report: ReportId,
    ) -> Result<u64, StoreError> {
        // The count saturates at SHARED_IDENTIFIER_COUNT_CAP: past that the rule has long fired
        // and counting further would visit every report of a very common value.
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM (SELECT DISTINCT o.report_id FROM report_identifier i \
             JOIN report_identifier o ON o.kind = i.kind AND o.value = i.value AND o.report_id < i.report_id \
             WHERE i.report_id = $1 AND i.kind IN ('email', 'phone', 'profile_url', 'device') LIMIT $2) AS t",
        )
        .bind(report.0)
        .bind(SHARED_IDENTIFIER_COUNT_CAP)
        .fetch_one(&self.read)
        .await?;
        let n: i64 = row.try_get("n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Report ids above `after`, ascending, at most `limit` (for routing everything in pages).
    pub async fn report_ids_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ReportId>, StoreError> {
        let rows = sqlx::query("SELECT id FROM report WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok(ReportId(r.try_get("id")?)))
            .collect()
    }

    /// Adds a job unless one of that kind for that subject exists.
    pub async fn enqueue_job(&self, kind: &str, subject_id: i64) -> Result<(), StoreError> {
        let mut conn = self.write.acquire().await?;
        enqueue_in(&mut conn, kind, subject_id).await
    }

    /// Claims up to `limit` due jobs of `kind` for `lease` on behalf of `worker` (a name unique
    /// per node and process): jobs not done, not parked, whose lease is absent or expired (a
    /// node that died leaves its leases to expire, then another node claims its jobs).
    ///
    /// On PostgreSQL the inner select takes row locks with `FOR UPDATE SKIP LOCKED`, so that
    /// nodes claiming at the same time each get different jobs without waiting for each other;
    /// the lease condition is repeated in the outer statement so that a row another worker
    /// claimed meanwhile is re-checked and skipped. SQLite has one writer, which serialises
    /// claims by itself.
    pub async fn claim_jobs(
        &self,
        kind: &str,
        worker: &str,
        limit: u32,
        lease: time::Duration,
    ) -> Result<Vec<Job>, StoreError> {
        let now = now_micros();
        let until = micros(OffsetDateTime::now_utc() + lease);
        let lock = match self.backend() {
            crate::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            crate::Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE job SET locked_until = $1, locked_by = $2, attempts = attempts + 1 \
             WHERE done_at IS NULL AND failed_at IS NULL AND (locked_until IS NULL OR locked_until < $3) AND id IN \
             (SELECT id FROM job WHERE kind = $4 AND done_at IS NULL AND failed_at IS NULL AND run_at <= $3 \
              AND (locked_until IS NULL OR locked_until < $3) ORDER BY id LIMIT $5{lock}) \
             RETURNING id, kind, subject_id, attempts"
        );
        let rows = sqlx::query(&sql)
            .bind(until)
            .bind(worker)
            .bind(now)
            .bind(kind)
            .bind(i64::from(limit))
            .fetch_all(&self.write)
            .await?;
        let mut jobs = rows
            .iter()
            .map(|r| {
                Ok(Job {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    subject_id: r.try_get("subject_id")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    /// Marks a job done. Completing a job twice (a worker whose lease expired finishing after
    /// another node did) keeps the first completion time.
    pub async fn complete_job(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE job SET done_at = COALESCE(done_at, $1), locked_until = NULL, last_error = NULL WHERE id = $2",
        )
        .bind(now_micros())
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Records a failure and releases the job to be retried at `retry_at`.
    pub async fn fail_job(
        &self,
        id: i64,
        error: &str,
        retry_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let error: String = error.chars().take(2000).collect();
        sqlx::query(
            "UPDATE job SET last_error = $1, locked_until = NULL, run_at = $2 WHERE id = $3",
        )
        .bind(error)
        .bind(micros(retry_at))
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Records a failure of `job` and either schedules its retry after the policy's
    /// exponential delay or, once it has been tried `max_attempts` times, parks it (`failed_at`;
    /// never claimed again until [`Store::retry_parked_jobs`]). Returns whether it was parked.
    pub async fn retry_job(
        &self,
        job: &Job,
        error: &str,
        policy: &RetryPolicy,
    ) -> Result<bool, StoreError> {
        if job.attempts >= i64::from(policy.max_attempts) {
            let error: String = error.chars().take(2000).collect();
            sqlx::query(
                "UPDATE job SET last_error = $1, locked_until = NULL, failed_at = $2 WHERE id = $3",
            )
            .bind(error)
            .bind(now_micros())
            .bind(job.id)
            .execute(&self.write)
            .await?;
            return Ok(true);
        }
        let retry_at = OffsetDateTime::now_utc() + policy.delay(job.attempts);
        self.fail_job(job.id, error, retry_at).await?;
        Ok(false)
    }

    /// Puts parked jobs of `kind` back in the queue (after the cause was fixed). Returns how many.
    pub async fn retry_parked_jobs(&self, kind: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE job SET failed_at = NULL, attempts = 0, run_at = $1 WHERE kind = $2 AND failed_at IS NOT NULL AND done_at IS NULL",
        )
        .bind(now_micros())
        .bind(kind)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    /// Counts of the queue by kind: (kind, waiting, running, done, parked).
    pub async fn job_counts(&self) -> Result<Vec<JobCount>, StoreError> {
        let now = now_micros();
        let rows = sqlx::query(
            "SELECT kind, \
             SUM(CASE WHEN done_at IS NULL AND failed_at IS NULL AND (locked_until IS NULL OR locked_until < $1) THEN 1 ELSE 0 END) AS waiting, \
             SUM(CASE WHEN done_at IS NULL AND failed_at IS NULL AND locked_until >= $1 THEN 1 ELSE 0 END) AS running, \
             SUM(CASE WHEN done_at IS NOT NULL THEN 1 ELSE 0 END) AS done, \
             SUM(CASE WHEN failed_at IS NOT NULL AND done_at IS NULL THEN 1 ELSE 0 END) AS parked \
             FROM job GROUP BY kind ORDER BY kind",
        )
        .bind(now)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(JobCount {
                    kind: r.try_get("kind")?,
                    waiting: r.try_get("waiting")?,
                    running: r.try_get("running")?,
                    done: r.try_get("done")?,
                    parked: r.try_get("parked")?,
                })
            })
            .collect()
    }

    /// Stores many reports in one transaction, each with its audit entry and (when finished)
    /// its routing job. For bulk loads and benchmarks; no idempotency keys.
    pub async fn insert_reports_batch(
        &self,
        subs: &[Submission<'_>],
    ) -> Result<Vec<ReportId>, StoreError> {
        let mut tx = self.write.begin().await?;
        let mut ids = Vec::with_capacity(subs.len());
        for sub in subs {
            let id = crate::reports::insert_report_rows(&mut tx, sub).await?;
            audit::append_in(
                &mut tx,
                &AuditEvent {
                    actor_user: sub.submitted_by.map(|u| u.0),
                    actor: sub.actor.to_owned(),
                    action: "report.create".into(),
                    object_kind: "report".into(),
                    object_id: id.0.to_string(),
                    detail: format!("source={} batch", sub.source),
                },
            )
            .await?;
            if sub.state == safeguard_domain::report::IntakeState::Finished {
                enqueue_in(&mut tx, JOB_REPORT_FINISHED, id.0).await?;
            }
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }
}

pub(crate) fn referral_from_row(row: &sqlx::any::AnyRow) -> Result<Referral, StoreError> {
    let due: Option<i64> = row.try_get("due_at")?;
    let route: Option<String> = row.try_get("route")?;
    Ok(Referral {
        id: row.try_get("id")?,
        report_id: ReportId(row.try_get("report_id")?),
        from_org: OrgId(row.try_get("from_org")?),
        to_org: OrgId(row.try_get("to_org")?),
        via_org: row.try_get::<Option<i64>, _>("via_org")?.map(OrgId),
        status: row.try_get("status")?,
        reason: row.try_get("reason")?,
        created_at: from_micros(row.try_get("created_at")?)?,
        due_at: due.map(from_micros).transpose()?,
        route: match route {
            Some(text) => from_json(&text, "route")?,
            None => Vec::new(),
        },
    })
}

/// Stores one routing run inside the caller's transaction (see [`Store::save_routing`]).
async fn save_routing_in(
    conn: &mut AnyConnection,
    record: &RoutingRecord<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let id = record.report_id.0;
    let updated = sqlx::query("UPDATE report SET priority = $1, updated_at = $2 WHERE id = $3")
        .bind(record.priority.priority.code())
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            what: "report",
            name: id.to_string(),
        });
    }
    for table in [
        "report_priority_rule",
        "report_jurisdiction",
        "report_routing",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE report_id = $1"))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    for rule in &record.priority.fired {
        sqlx::query(
            "INSERT INTO report_priority_rule (report_id, rule, weight, facts) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(&rule.rule)
        .bind(i64::from(rule.weight))
        .bind(json(&rule.facts)?)
        .execute(&mut *conn)
        .await?;
    }
    for (rank, c) in record.assessment.candidates.iter().enumerate() {
        sqlx::query(
            "INSERT INTO report_jurisdiction (report_id, rank, country, confidence_milli, evidence) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(rank as i64)
        .bind(&c.country)
        .bind((c.confidence * 1000.0).round() as i64)
        .bind(json(&c.evidence)?)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "INSERT INTO report_routing (report_id, routed_at, score, unplaced, skipped) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(now)
    .bind(i64::from(record.priority.score))
    .bind(json(&record.assessment.unplaced)?)
    .bind(json(&record.skipped)?)
    .execute(&mut *conn)
    .await?;
    let mut created = 0;
    for r in record.referrals {
        let done = sqlx::query(
            "INSERT INTO referral (report_id, from_org, to_org, via_org, status, reason, created_at, due_at, route) \
             VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8) ON CONFLICT (report_id, to_org) DO NOTHING",
        )
        .bind(id)
        .bind(r.from_org.0)
        .bind(r.to_org.0)
        .bind(r.via_org.map(|o| o.0))
        .bind(&r.reason)
        .bind(now)
        .bind(r.due_at.map(micros))
        .bind(json(&r.route)?)
        .execute(&mut *conn)
        .await?;
        created += done.rows_affected();
    }
    audit::append_in(
        &mut *conn,
        &AuditEvent {
            actor_user: None,
            actor: record.actor.to_owned(),
            action: "report.route".into(),
            object_kind: "report".into(),
            object_id: id.to_string(),
            detail: format!(
                "priority={} candidates={} new_referrals={created}",
                record.priority.priority,
                record.assessment.candidates.len()
            ),
        },
    )
    .await?;
    Ok(())
}
