//! What the web application's package pages read and write: a sender's referrals grouped by
//! recipient, the referrals an intermediary holds, packages that claim their referrals (each
//! referral goes into one package only), package lists per organisation, outcomes per package,
//! and the package figures of the statistics dashboard.

use safeguard_domain::account::OrgId;
use safeguard_domain::report::ReportId;
use serde::Serialize;
use sqlx::Row;

use crate::routing::referral_from_row;
use crate::time_codec::{micros, now_micros};
use crate::{Outcome, PackageState, Referral, Store, StoreError};

/// A sender's referrals to one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReferralGroup {
    pub to_org: OrgId,
    pub to_name: String,
    /// Referrals not yet in a package.
    pub waiting: i64,
    /// Referrals already carried by a package.
    pub packaged: i64,
}

/// A package in a list (without its document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageListItem {
    pub id: i64,
    pub uid: String,
    pub from_org: OrgId,
    pub from_name: String,
    pub to_org: OrgId,
    pub to_name: String,
    pub state: PackageState,
    /// Referrals it carries.
    pub referrals: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One outcome as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedOutcome {
    pub report_id: ReportId,
    pub outcome: Outcome,
    pub note: Option<String>,
    pub reported_at: i64,
}

/// Package figures of one organisation (as sender or recipient) over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PackageStatistics {
    /// Packages sent in the period.
    pub sent: i64,
    /// Of those, acknowledged.
    pub acknowledged: i64,
    /// Microseconds from a report's receipt to the sending of the package carrying it, sorted.
    pub received_to_sent: Vec<i64>,
    /// Microseconds from sending to acknowledgement, one per acknowledged package, sorted.
    pub sent_to_acknowledged: Vec<i64>,
    /// Reports per outcome (a report counts once per outcome), outcomes reported in the period.
    pub outcomes: Vec<(Outcome, i64)>,
}

const PACKAGE_LIST: &str = "SELECT p.id, p.uid, p.from_org, fo.name AS from_name, p.to_org, \
     tor.name AS to_name, p.state, p.created_at, p.updated_at, \
     (SELECT COUNT(*) FROM referral f WHERE f.package_id = p.id) AS referrals \
     FROM package p JOIN organisation fo ON fo.id = p.from_org JOIN organisation tor ON tor.id = p.to_org";

impl Store {
    /// The referrals `from` made to other organisations, grouped by recipient, by name.
    pub async fn outgoing_referrals(&self, from: OrgId) -> Result<Vec<ReferralGroup>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.to_org, o.name, COUNT(*) AS total, COUNT(f.package_id) AS packaged \
             FROM referral f JOIN organisation o ON o.id = f.to_org \
             WHERE f.from_org = $1 AND f.to_org <> $1 GROUP BY f.to_org, o.name ORDER BY o.name",
        )
        .bind(from.0)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let total: i64 = r.try_get("total")?;
                let packaged: i64 = r.try_get("packaged")?;
                Ok(ReferralGroup {
                    to_org: OrgId(r.try_get("to_org")?),
                    to_name: r.try_get("name")?,
                    waiting: total - packaged,
                    packaged,
                })
            })
            .collect()
    }

    /// Referrals from `from` to `to` not yet in a package: (referral id, report), oldest first.
    pub async fn waiting_referrals(
        &self,
        from: OrgId,
        to: OrgId,
        limit: i64,
    ) -> Result<Vec<(i64, ReportId)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, report_id FROM referral WHERE from_org = $1 AND to_org = $2 \
             AND package_id IS NULL ORDER BY report_id LIMIT $3",
        )
        .bind(from.0)
        .bind(to.0)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, ReportId(r.try_get("report_id")?))))
            .collect()
    }

    /// Referrals made to `org` that it has not passed on yet (`pending`), newest first.
    pub async fn held_referrals(
        &self,
        org: OrgId,
        limit: i64,
    ) -> Result<Vec<Referral>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, report_id, from_org, to_org, via_org, status, reason, created_at, due_at, route \
             FROM referral WHERE to_org = $1 AND from_org <> $1 AND status = 'pending' \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(org.0)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(referral_from_row).collect()
    }

    /// One referral.
    pub async fn referral(&self, id: i64) -> Result<Referral, StoreError> {
        let row = sqlx::query(
            "SELECT id, report_id, from_org, to_org, via_org, status, reason, created_at, due_at, route \
             FROM referral WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "referral",
            name: id.to_string(),
        })?;
        referral_from_row(&row)
    }

    /// Stores a new draft package carrying `referrals`, with the SHA-256 of its file, in one
    /// transaction (a crash never leaves a package without the hash of the file it was built
    /// as). Fails (writing nothing) when one of the referrals is already in another package.
    #[expect(clippy::too_many_arguments, reason = "one row and its relations")]
    pub async fn insert_package_for_referrals(
        &self,
        uid: &str,
        from: OrgId,
        to: OrgId,
        manifest: &serde_json::Value,
        isp_cost_cents: i64,
        file_sha256: Option<&[u8; 32]>,
        actor: &str,
        referrals: &[i64],
    ) -> Result<i64, StoreError> {
        let now = now_micros();
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(
            "INSERT INTO package (uid, from_org, to_org, state, manifest, isp_cost_cents, created_at, updated_at, file_sha256) \
             VALUES ($1, $2, $3, 'draft', $4, $5, $6, $6, $7) RETURNING id",
        )
        .bind(uid)
        .bind(from.0)
        .bind(to.0)
        .bind(manifest.to_string())
        .bind(isp_cost_cents)
        .bind(now)
        .bind(file_sha256.map(|s| s.to_vec()))
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        sqlx::query(
            "INSERT INTO package_history (package_id, state, actor, at) VALUES ($1, 'draft', $2, $3)",
        )
        .bind(id)
        .bind(actor)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for referral in referrals {
            let done = sqlx::query(
                "UPDATE referral SET package_id = $1 WHERE id = $2 AND package_id IS NULL",
            )
            .bind(id)
            .bind(referral)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                tx.rollback().await?;
                return Err(StoreError::Duplicate {
                    what: "referral in a package",
                    name: referral.to_string(),
                });
            }
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Packages `org` sent (any state) or received (once sent), newest first.
    pub async fn packages_of_org(
        &self,
        org: OrgId,
        limit: i64,
    ) -> Result<Vec<PackageListItem>, StoreError> {
        let rows = sqlx::query(&format!(
            "{PACKAGE_LIST} WHERE p.from_org = $1 OR (p.to_org = $1 AND p.state IN \
             ('sent', 'acknowledged', 'outcome_reported')) ORDER BY p.id DESC LIMIT $2"
        ))
        .bind(org.0)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PackageListItem {
                    id: r.try_get("id")?,
                    uid: r.try_get("uid")?,
                    from_org: OrgId(r.try_get("from_org")?),
                    from_name: r.try_get("from_name")?,
                    to_org: OrgId(r.try_get("to_org")?),
                    to_name: r.try_get("to_name")?,
                    state: PackageState::parse(&r.try_get::<String, _>("state")?)?,
                    referrals: r.try_get("referrals")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// The outcomes recorded for a package, oldest first.
    pub async fn package_outcomes(&self, id: i64) -> Result<Vec<RecordedOutcome>, StoreError> {
        let rows = sqlx::query(
            "SELECT report_id, outcome, note, reported_at FROM package_outcome \
             WHERE package_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RecordedOutcome {
                    report_id: ReportId(r.try_get("report_id")?),
                    outcome: Outcome::parse(&r.try_get::<String, _>("outcome")?)?,
                    note: r.try_get("note")?,
                    reported_at: r.try_get("reported_at")?,
                })
            })
            .collect()
    }

    /// Package figures for `org` (sender or recipient): packages sent in `[from, to)`, their
    /// latencies, and outcomes reported in the period.
    pub async fn package_statistics(
        &self,
        org: OrgId,
        from: time::OffsetDateTime,
        to: time::OffsetDateTime,
    ) -> Result<PackageStatistics, StoreError> {
        let (from, to) = (micros(from), micros(to));
        let rows = sqlx::query(
            "SELECT p.id, s.at AS sent_at, (SELECT MIN(a.at) FROM package_history a \
             WHERE a.package_id = p.id AND a.state = 'acknowledged') AS ack_at \
             FROM package p JOIN package_history s ON s.package_id = p.id AND s.state = 'sent' \
             WHERE (p.from_org = $1 OR p.to_org = $1) AND s.at >= $2 AND s.at < $3",
        )
        .bind(org.0)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        let mut stats = PackageStatistics::default();
        for r in &rows {
            stats.sent += 1;
            let sent: i64 = r.try_get("sent_at")?;
            if let Some(ack) = r.try_get::<Option<i64>, _>("ack_at")? {
                stats.acknowledged += 1;
                stats.sent_to_acknowledged.push(ack - sent);
            }
        }
        stats.sent_to_acknowledged.sort_unstable();
        let rows = sqlx::query(
            "SELECT s.at - r.received_at AS latency FROM package p \
             JOIN package_history s ON s.package_id = p.id AND s.state = 'sent' \
             JOIN referral f ON f.package_id = p.id JOIN report r ON r.id = f.report_id \
             WHERE (p.from_org = $1 OR p.to_org = $1) AND s.at >= $2 AND s.at < $3 ORDER BY latency",
        )
        .bind(org.0)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        stats.received_to_sent = rows
            .iter()
            .map(|r| r.try_get("latency"))
            .collect::<Result<_, _>>()?;
        let rows = sqlx::query(
            "SELECT o.outcome, COUNT(DISTINCT o.report_id) AS n FROM package_outcome o \
             JOIN package p ON p.id = o.package_id WHERE (p.from_org = $1 OR p.to_org = $1) \
             AND o.reported_at >= $2 AND o.reported_at < $3 GROUP BY o.outcome ORDER BY o.outcome",
        )
        .bind(org.0)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        stats.outcomes = rows
            .iter()
            .map(|r| {
                Ok((
                    Outcome::parse(&r.try_get::<String, _>("outcome")?)?,
                    r.try_get("n")?,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(stats)
    }
}

impl Store {
    /// Sets the status of every referral a package carries (`sent` once the package is sent).
    pub async fn set_package_referral_status(
        &self,
        package: i64,
        status: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE referral SET status = $1 WHERE package_id = $2")
            .bind(status)
            .bind(package)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
