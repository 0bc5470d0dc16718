//! The analysts' triage queue: reports by priority then age, keyset paging, assignment and bulk
//! priority changes (one audit entry per report changed), and the figures of the dashboard.

use safeguard_domain::account::{OrgId, UserId};
use safeguard_domain::audit::AuditEvent;
use safeguard_domain::report::{IncidentType, IntakeState, Priority, ReportId};
use sqlx::Row;
use time::OffsetDateTime;

use crate::reports::VISIBLE_TO_ORG;
use crate::time_codec::{micros, now_micros};
use crate::{audit, ReportSummary, Store, StoreError};

/// Rank of a priority in the queue: P1, P2, P3, then not yet prioritised, then informational.
pub(crate) const PRIORITY_RANK: &str = "(CASE r.priority WHEN 'p1' THEN 1 WHEN 'p2' THEN 2 \
     WHEN 'p3' THEN 3 WHEN 'informational' THEN 5 ELSE 4 END)";

/// The rank [`PRIORITY_RANK`] gives a priority.
pub fn priority_rank(priority: Option<Priority>) -> i64 {
    match priority {
        Some(Priority::P1) => 1,
        Some(Priority::P2) => 2,
        Some(Priority::P3) => 3,
        None => 4,
        Some(Priority::Informational) => 5,
    }
}

/// Which priority the queue shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriorityFilter {
    Is(Priority),
    /// Reports nobody has prioritised yet.
    Unset,
}

/// The position after the last row of a queue page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueCursor {
    pub rank: i64,
    pub received_micros: i64,
    pub id: i64,
}

/// Which reports the queue lists. Visibility is not optional.
#[derive(Debug, Clone)]
pub struct QueueFilter {
    pub visible_to: OrgId,
    pub incident_type: Option<IncidentType>,
    pub state: Option<IntakeState>,
    pub priority: Option<PriorityFilter>,
    pub reporter_org: Option<OrgId>,
    pub received_from: Option<OffsetDateTime>,
    pub received_to: Option<OffsetDateTime>,
    pub after: Option<QueueCursor>,
    pub limit: u32,
}

impl QueueFilter {
    pub fn visible_to(org: OrgId) -> Self {
        Self {
            visible_to: org,
            incident_type: None,
            state: None,
            priority: None,
            reporter_org: None,
            received_from: None,
            received_to: None,
            after: None,
            limit: 50,
        }
    }
}

/// One line of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueItem {
    pub summary: ReportSummary,
    pub reporter_org_name: String,
    pub assigned_to: Option<String>,
    pub files: i64,
}

/// A page of the queue and the cursor of the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePage {
    pub items: Vec<QueueItem>,
    pub next: Option<QueueCursor>,
}

/// What a bulk action changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkChange {
    /// Assign to a user (`None`: unassign).
    Assign(Option<UserId>),
    SetPriority(Priority),
}

/// A count for one label of a chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub label: String,
    pub count: i64,
}

/// The dashboard's figures over a period, for one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statistics {
    /// (day as Unix days, reports received that day), oldest first, days without reports left out.
    pub per_day: Vec<(i64, i64)>,
    pub by_incident_type: Vec<Count>,
    /// Countries named in the reports' addresses (a report counts once per country).
    pub by_country: Vec<Count>,
    pub total: i64,
    /// Reports with at least one referral to another organisation.
    pub referred: i64,
    /// Microseconds from receipt to referral, one per referral, sorted.
    pub referral_latencies: Vec<i64>,
}

enum Bind {
    Int(i64),
    Text(String),
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Up to this many visible reports, the queue starts from the organisation's own reports
/// rather than walking every report in queue order.
const FEW_VISIBLE: i64 = 5_000;

impl Store {
    /// The triage queue: priority rank, then oldest first, then id; one page after `after`.
    pub async fn queue(&self, filter: &QueueFilter) -> Result<QueuePage, StoreError> {
        // Two plans. An organisation that sees many reports walks the `report_queue_rank` index
        // in queue order and stops at the page's end. One that sees few (an agency with a
        // handful of referrals among a million reports) would walk the whole index to find
        // them: it starts from its own reports instead (three indexed lookups) and sorts those.
        let few = self
            .visible_reports_at_most(filter.visible_to, FEW_VISIBLE)
            .await?;
        let source = if few {
            "FROM (SELECT id FROM report WHERE holder_org = $1 UNION SELECT id FROM report \
             WHERE reporter_org = $1 UNION SELECT report_id FROM referral WHERE to_org = $1) v \
             CROSS JOIN report r JOIN organisation o ON o.id = r.reporter_org \
             LEFT JOIN app_user u ON u.id = r.assigned_to WHERE r.id = v.id"
                .to_owned()
        } else {
            format!(
                "FROM report r JOIN organisation o ON o.id = r.reporter_org \
                 LEFT JOIN app_user u ON u.id = r.assigned_to WHERE {VISIBLE_TO_ORG}"
            )
        };
        let mut sql = format!(
            "SELECT r.id, r.uid, r.source, r.state, r.priority, r.incident_type, r.received_at, r.occurred_at, \
             r.occurred_offset, r.reporter_org, r.holder_org, r.demo, {PRIORITY_RANK} AS rank, \
             o.name AS reporter_org_name, u.username AS assignee, \
             (SELECT COUNT(*) FROM report_file rf WHERE rf.report_id = r.id) AS files {source}"
        );
        let mut binds = vec![Bind::Int(filter.visible_to.0)];
        let mut push = |sql: &mut String, condition: &str, value: Bind| {
            binds.push(value);
            sql.push_str(&format!(" AND {condition} ${}", binds.len()));
        };
        if let Some(t) = filter.incident_type {
            push(&mut sql, "r.incident_type =", Bind::Text(t.code().into()));
        }
        if let Some(s) = filter.state {
            push(&mut sql, "r.state =", Bind::Text(s.code().into()));
        }
        match filter.priority {
            Some(PriorityFilter::Is(p)) => {
                push(&mut sql, "r.priority =", Bind::Text(p.code().into()))
            }
            Some(PriorityFilter::Unset) => sql.push_str(" AND r.priority IS NULL"),
            None => {}
        }
        if let Some(o) = filter.reporter_org {
            push(&mut sql, "r.reporter_org =", Bind::Int(o.0));
        }
        if let Some(t) = filter.received_from {
            push(&mut sql, "r.received_at >=", Bind::Int(micros(t)));
        }
        if let Some(t) = filter.received_to {
            push(&mut sql, "r.received_at <", Bind::Int(micros(t)));
        }
        if let Some(c) = filter.after {
            let n = binds.len();
            binds.push(Bind::Int(c.rank));
            binds.push(Bind::Int(c.received_micros));
            binds.push(Bind::Int(c.id));
            let (a, b, i) = (n + 1, n + 2, n + 3);
            // One row-value comparison over the columns of `report_queue_rank` (migration 0009).
            sql.push_str(&format!(
                " AND ({PRIORITY_RANK}, r.received_at, r.id) > (${a}, ${b}, ${i})"
            ));
        }
        let limit = filter.limit.clamp(1, 500);
        sql.push_str(&format!(
            " ORDER BY {PRIORITY_RANK}, r.received_at, r.id LIMIT {}",
            limit + 1
        ));
        let mut query = sqlx::query(&sql);
        for b in binds {
            query = match b {
                Bind::Int(v) => query.bind(v),
                Bind::Text(v) => query.bind(v),
            };
        }
        let rows = query.fetch_all(&self.read).await?;
        let mut items = Vec::with_capacity(rows.len());
        let mut ranks = Vec::with_capacity(rows.len());
        for row in &rows {
            items.push(QueueItem {
                summary: crate::reports::summary_from_row(row)?,
                reporter_org_name: row.try_get("reporter_org_name")?,
                assigned_to: row.try_get("assignee")?,
                files: row.try_get("files")?,
            });
            ranks.push(row.try_get::<i64, _>("rank")?);
        }
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|item| QueueCursor {
                rank: ranks[limit as usize - 1],
                received_micros: micros(item.summary.received_at),
                id: item.summary.id.0,
            })
        } else {
            None
        };
        Ok(QueuePage { items, next })
    }

    /// Whether `org` may see at most `limit` reports (held, reported or referred to it),
    /// counted through three indexes and never past `limit` each.
    async fn visible_reports_at_most(&self, org: OrgId, limit: i64) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM (SELECT 1 AS x FROM report WHERE holder_org = $1 LIMIT $2) a) \
             + (SELECT COUNT(*) FROM (SELECT 1 AS x FROM report WHERE reporter_org = $1 LIMIT $2) b) \
             + (SELECT COUNT(*) FROM (SELECT 1 AS x FROM referral WHERE to_org = $1 LIMIT $2) c) AS n",
        )
        .bind(org.0)
        .bind(limit + 1)
        .fetch_one(&self.read)
        .await?;
        let n: i64 = row.try_get("n")?;
        Ok(n <= limit)
    }

    /// The user a report is assigned to: (id, username).
    pub async fn report_assignee(
        &self,
        id: ReportId,
    ) -> Result<Option<(UserId, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.username FROM report r JOIN app_user u ON u.id = r.assigned_to WHERE r.id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| Ok((UserId(r.try_get("id")?), r.try_get("username")?)))
            .transpose()
    }

    /// The enabled users of an organisation: (id, username), by name.
    pub async fn org_users(&self, org: OrgId) -> Result<Vec<(UserId, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, username FROM app_user WHERE org_id = $1 AND disabled = 0 ORDER BY username",
        )
        .bind(org.0)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| Ok((UserId(r.try_get("id")?), r.try_get("username")?)))
            .collect()
    }

    /// Applies `change` to each report of `ids` that `org` may see and that it changes, in one
    /// transaction, writing one audit entry per report changed. Returns the ids changed; ids the
    /// organisation may not see, or already in that state, are left alone.
    pub async fn bulk_change(
        &self,
        org: OrgId,
        ids: &[ReportId],
        change: BulkChange,
        actor_user: UserId,
        actor: &str,
    ) -> Result<Vec<ReportId>, StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_micros();
        let mut changed = Vec::new();
        // The audit entries name the assignee, as the history is read by people.
        let assignee = match change {
            BulkChange::Assign(Some(user)) => {
                let row = sqlx::query("SELECT username FROM app_user WHERE id = $1")
                    .bind(user.0)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| StoreError::NotFound {
                        what: "user",
                        name: user.0.to_string(),
                    })?;
                row.try_get::<String, _>("username")?
            }
            _ => "nobody".to_owned(),
        };
        for &id in ids {
            let row = sqlx::query(&format!(
                "SELECT r.priority, r.assigned_to FROM report r WHERE {VISIBLE_TO_ORG} AND r.id = $2"
            ))
            .bind(org.0)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { continue };
            let priority: Option<String> = row.try_get("priority")?;
            let assigned: Option<i64> = row.try_get("assigned_to")?;
            let (action, detail) = match change {
                BulkChange::Assign(user) => {
                    if assigned == user.map(|u| u.0) {
                        continue;
                    }
                    sqlx::query(
                        "UPDATE report SET assigned_to = $1, updated_at = $2 WHERE id = $3",
                    )
                    .bind(user.map(|u| u.0))
                    .bind(now)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                    ("report.assign", format!("assigned to {assignee}"))
                }
                BulkChange::SetPriority(p) => {
                    if priority.as_deref() == Some(p.code()) {
                        continue;
                    }
                    sqlx::query("UPDATE report SET priority = $1, updated_at = $2 WHERE id = $3")
                        .bind(p.code())
                        .bind(now)
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await?;
                    let from = priority.unwrap_or_else(|| "none".to_owned());
                    (
                        "report.priority",
                        format!("priority {from} -> {}", p.code()),
                    )
                }
            };
            audit::append_in(
                &mut tx,
                &AuditEvent {
                    actor_user: Some(actor_user.0),
                    actor: actor.to_owned(),
                    action: action.into(),
                    object_kind: "report".into(),
                    object_id: id.0.to_string(),
                    detail,
                },
            )
            .await?;
            changed.push(id);
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// The dashboard's figures for the reports `org` may see, received in `[from, to)`.
    pub async fn statistics(
        &self,
        org: OrgId,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Statistics, StoreError> {
        let (from, to) = (micros(from), micros(to));
        let period = format!("{VISIBLE_TO_ORG} AND r.received_at >= $2 AND r.received_at < $3");
        let per_day_rows = sqlx::query(&format!(
            "SELECT r.received_at / {MICROS_PER_DAY} AS day, COUNT(*) AS n FROM report r \
             WHERE {period} GROUP BY r.received_at / {MICROS_PER_DAY} ORDER BY day"
        ))
        .bind(org.0)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        let per_day = per_day_rows
            .iter()
            .map(|r| Ok((r.try_get("day")?, r.try_get("n")?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let counts = |rows: Vec<sqlx::any::AnyRow>| -> Result<Vec<Count>, StoreError> {
            rows.iter()
                .map(|r| {
                    Ok(Count {
                        label: r.try_get("label")?,
                        count: r.try_get("n")?,
                    })
                })
                .collect()
        };
        let by_incident_type = counts(
            sqlx::query(&format!(
                "SELECT r.incident_type AS label, COUNT(*) AS n FROM report r WHERE {period} \
                 GROUP BY r.incident_type ORDER BY n DESC, label"
            ))
            .bind(org.0)
            .bind(from)
            .bind(to)
            .fetch_all(&self.read)
            .await?,
        )?;
        let by_country = counts(
            sqlx::query(&format!(
                "SELECT UPPER(a.country) AS label, COUNT(DISTINCT r.id) AS n FROM report r \
                 JOIN report_address a ON a.report_id = r.id WHERE {period} AND a.country IS NOT NULL \
                 GROUP BY UPPER(a.country) ORDER BY n DESC, label"
            ))
            .bind(org.0)
            .bind(from)
            .bind(to)
            .fetch_all(&self.read)
            .await?,
        )?;
        let total: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM report r WHERE {period}"
        ))
        .bind(org.0)
        .bind(from)
        .bind(to)
        .fetch_one(&self.read)
        .await?
        .try_get("n")?;
        let referred: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM report r WHERE {period} AND EXISTS \
             (SELECT 1 FROM referral f WHERE f.report_id = r.id AND f.from_org = $1)"
        ))
        .bind(org.0)
        .bind(from)
        .bind(to)
        .fetch_one(&self.read)
        .await?
        .try_get("n")?;
        let latency_rows = sqlx::query(&format!(
            "SELECT f.created_at - r.received_at AS latency FROM referral f JOIN report r ON r.id = f.report_id \
             WHERE {period} AND f.from_org = $1 ORDER BY latency"
        ))
        .bind(org.0)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        let referral_latencies = latency_rows
            .iter()
            .map(|r| r.try_get("latency"))
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(Statistics {
            per_day,
            by_incident_type,
            by_country,
            total,
            referred,
            referral_latencies,
        })
    }
}
