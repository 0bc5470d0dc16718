//! Intelligence packages: their state with history, the recipient's inbox, outcomes per report,
//! and what ISPs charge per subscriber lookup.

use safeguard_domain::account::OrgId;
use safeguard_domain::report::ReportId;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::time_codec::now_micros;
use crate::{Store, StoreError};

/// Where a package is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageState {
    Draft,
    Approved,
    Sent,
    Acknowledged,
    OutcomeReported,
}

impl PackageState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Approved => "approved",
            Self::Sent => "sent",
            Self::Acknowledged => "acknowledged",
            Self::OutcomeReported => "outcome_reported",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "draft" => Self::Draft,
            "approved" => Self::Approved,
            "sent" => Self::Sent,
            "acknowledged" => Self::Acknowledged,
            "outcome_reported" => Self::OutcomeReported,
            other => return Err(StoreError::corrupt(format!("package state {other:?}"))),
        })
    }

    /// Whether a package may move from `self` to `next`: forward only, one step at a time, except
    /// that outcomes may be reported again (more outcomes arrive as investigations progress).
    pub fn may_become(self, next: Self) -> bool {
        use PackageState::*;
        matches!(
            (self, next),
            (Draft, Approved)
                | (Approved, Sent)
                | (Sent, Acknowledged)
                | (Sent, OutcomeReported)
                | (Acknowledged, OutcomeReported)
                | (OutcomeReported, OutcomeReported)
        )
    }
}

/// What investigators found, per report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    NoCrime,
    InvestigationOpened,
    VictimIdentified,
    VictimSafeguarded,
    Arrest,
    Prosecution,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Self::NoCrime => "no_crime",
            Self::InvestigationOpened => "investigation_opened",
            Self::VictimIdentified => "victim_identified",
            Self::VictimSafeguarded => "victim_safeguarded",
            Self::Arrest => "arrest",
            Self::Prosecution => "prosecution",
        }
    }

    /// Every outcome, in the order an investigation goes.
    pub const ALL: [Self; 6] = [
        Self::NoCrime,
        Self::InvestigationOpened,
        Self::VictimIdentified,
        Self::VictimSafeguarded,
        Self::Arrest,
        Self::Prosecution,
    ];

    /// The outcome of a code (`Outcome::code`), if any.
    pub fn from_code(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.code() == text)
    }

    pub(crate) fn parse(text: &str) -> Result<Self, StoreError> {
        Self::from_code(text).ok_or_else(|| StoreError::corrupt(format!("outcome {text:?}")))
    }
}

/// A stored package (without its file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredPackage {
    pub id: i64,
    pub uid: String,
    pub from_org: OrgId,
    pub to_org: OrgId,
    pub state: PackageState,
    /// The package's JSON document (`safeguard.package.v1`).
    pub manifest: serde_json::Value,
    pub file_sha256: Option<String>,
    pub isp_cost_cents: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Outcome counts for statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutcomeCount {
    pub outcome: String,
    pub count: i64,
}

impl Store {
    /// Stores a new draft package.
    pub async fn insert_package(
        &self,
        uid: &str,
        from: OrgId,
        to: OrgId,
        manifest: &serde_json::Value,
        isp_cost_cents: i64,
        actor: &str,
    ) -> Result<i64, StoreError> {
        self.insert_package_with_file(uid, from, to, manifest, isp_cost_cents, None, actor)
            .await
    }

    /// Stores a new draft package together with the SHA-256 of its file, in one transaction:
    /// a crash never leaves a package without the hash of the file it was built as.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_package_with_file(
        &self,
        uid: &str,
        from: OrgId,
        to: OrgId,
        manifest: &serde_json::Value,
        isp_cost_cents: i64,
        file_sha256: Option<&[u8; 32]>,
        actor: &str,
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
        tx.commit().await?;
        Ok(id)
    }

    /// Records the SHA-256 of the package's file once written.
    pub async fn set_package_file(&self, id: i64, sha256: &[u8; 32]) -> Result<(), StoreError> {
        sqlx::query("UPDATE package SET file_sha256 = $1 WHERE id = $2")
            .bind(sha256.to_vec())
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// A package by id.
    pub async fn package(&self, id: i64) -> Result<StoredPackage, StoreError> {
        let row = sqlx::query(
            "SELECT id, uid, from_org, to_org, state, manifest, file_sha256, isp_cost_cents, created_at, \
             updated_at FROM package WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "package",
            name: id.to_string(),
        })?;
        package_from_row(&row)
    }

    /// Packages sent to `org` (its inbox), newest first; drafts and unapproved ones are not shown.
    pub async fn inbox(&self, org: OrgId, limit: i64) -> Result<Vec<StoredPackage>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, uid, from_org, to_org, state, manifest, file_sha256, isp_cost_cents, created_at, \
             updated_at FROM package WHERE to_org = $1 AND state IN ('sent', 'acknowledged', 'outcome_reported') \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(org.0)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(package_from_row).collect()
    }

    /// Moves a package to `next`, recording who did it; refuses moves backwards or skipping.
    pub async fn set_package_state(
        &self,
        id: i64,
        next: PackageState,
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query("SELECT state FROM package WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "package",
                name: id.to_string(),
            })?;
        let current = PackageState::parse(&row.try_get::<String, _>("state")?)?;
        if !current.may_become(next) {
            tx.rollback().await?;
            return Err(StoreError::Duplicate {
                what: "package state change",
                name: format!("{} -> {}", current.code(), next.code()),
            });
        }
        let now = now_micros();
        sqlx::query("UPDATE package SET state = $1, updated_at = $2 WHERE id = $3")
            .bind(next.code())
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO package_history (package_id, state, actor, at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(next.code())
        .bind(actor)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The states a package went through: (state, actor, at micros), oldest first.
    pub async fn package_history(
        &self,
        id: i64,
    ) -> Result<Vec<(PackageState, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT state, actor, at FROM package_history WHERE package_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    PackageState::parse(&r.try_get::<String, _>("state")?)?,
                    r.try_get("actor")?,
                    r.try_get("at")?,
                ))
            })
            .collect()
    }

    /// Records outcomes for reports of a package (only reports the package carries).
    pub async fn add_outcomes(
        &self,
        id: i64,
        outcomes: &[(ReportId, Outcome, Option<String>)],
    ) -> Result<(), StoreError> {
        let now = now_micros();
        let mut tx = self.write.begin().await?;
        for (report, outcome, note) in outcomes {
            sqlx::query(
                "INSERT INTO package_outcome (package_id, report_id, outcome, note, reported_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(report.0)
            .bind(outcome.code())
            .bind(note.as_deref())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Outcome counts over all packages (statistics).
    pub async fn outcome_counts(&self) -> Result<Vec<OutcomeCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT outcome, COUNT(*) AS n FROM package_outcome GROUP BY outcome ORDER BY outcome",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutcomeCount {
                    outcome: r.try_get("outcome")?,
                    count: r.try_get("n")?,
                })
            })
            .collect()
    }

    /// Sets what an operator charges per IP lookup.
    pub async fn set_isp_cost(
        &self,
        operator: &str,
        cents: i64,
        currency: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO isp_cost (operator, cost_per_ip_cents, currency) VALUES ($1, $2, $3) \
             ON CONFLICT (operator) DO UPDATE SET cost_per_ip_cents = $2, currency = $3",
        )
        .bind(operator)
        .bind(cents)
        .bind(currency)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// All configured operator costs: (operator, cents per IP, currency).
    pub async fn isp_costs(&self) -> Result<Vec<(String, i64, String)>, StoreError> {
        let rows = sqlx::query("SELECT operator, cost_per_ip_cents, currency FROM isp_cost")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("operator")?,
                    r.try_get("cost_per_ip_cents")?,
                    r.try_get("currency")?,
                ))
            })
            .collect()
    }
}

fn package_from_row(row: &sqlx::any::AnyRow) -> Result<StoredPackage, StoreError> {
    let manifest: String = row.try_get("manifest")?;
    let sha: Option<Vec<u8>> = row.try_get("file_sha256")?;
    Ok(StoredPackage {
        id: row.try_get("id")?,
        uid: row.try_get("uid")?,
        from_org: OrgId(row.try_get("from_org")?),
        to_org: OrgId(row.try_get("to_org")?),
        state: PackageState::parse(&row.try_get::<String, _>("state")?)?,
        manifest: serde_json::from_str(&manifest).map_err(StoreError::corrupt)?,
        file_sha256: sha.map(hex::encode),
        isp_cost_cents: row.try_get("isp_cost_cents")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
