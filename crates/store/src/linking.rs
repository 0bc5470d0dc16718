//! Linking storage: identifier -> report index, flat union-find clusters, link reasons,
//! exclusions, deconfliction alerts and viral bundles. The whole linking of one report runs in
//! one write transaction ([`Store::link_report`]), so a crash never leaves half a merge.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use safeguard_domain::account::OrgId;
use safeguard_domain::linking::{key_digest, KeyKind, LinkKey};
use safeguard_domain::report::ReportId;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

use crate::time_codec::{micros, now_micros};
use crate::{Store, StoreError};

/// The knobs of linking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkSettings {
    /// IP addresses link only when their event times are at most this far apart (microseconds).
    pub ip_window_micros: i64,
    /// An identifier carried by more than this many reports stops creating links ("too common").
    pub fan_out_cap: i64,
    /// Reports of one file (SHA-256) from this count on are bundled into one item.
    pub bundle_threshold: i64,
}

impl Default for LinkSettings {
    fn default() -> Self {
        Self {
            ip_window_micros: 6 * 3_600 * 1_000_000,
            fan_out_cap: 50,
            bundle_threshold: 20,
        }
    }
}

/// One link that joined two clusters, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkReason {
    pub report_a: ReportId,
    pub report_b: ReportId,
    pub kind: KeyKind,
    /// The shared value, redacted (see [`safeguard_domain::linking::redact`]).
    pub value: String,
    /// Hex of the identifier's index key, for correlating without the value.
    pub key_hash: String,
}

/// What linking one report did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkOutcome {
    pub cluster_id: i64,
    /// Links created (each one joined two clusters).
    pub links: Vec<LinkReason>,
    /// Identifiers that passed the fan-out cap with this report (kind, redacted value).
    pub too_common: Vec<(KeyKind, String)>,
    /// Identifiers skipped because they are on the exclusion list.
    pub excluded: usize,
    /// Bundles this report joined.
    pub bundles: Vec<i64>,
    /// Organisations alerted (deconfliction), with their alert ids.
    pub alerts: Vec<(OrgId, i64)>,
    /// True when the report was linked before (nothing done).
    pub already_linked: bool,
}

/// A report's cluster: its members and the links that joined them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterView {
    pub cluster_id: i64,
    pub size: i64,
    pub reports: Vec<ReportId>,
    pub links: Vec<LinkReason>,
}

/// A value on the exclusion list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exclusion {
    pub kind: KeyKind,
    pub value: String,
    pub reason: String,
}

/// A deconfliction alert as its organisation sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeconflictionAlert {
    pub id: i64,
    pub org_id: OrgId,
    pub cluster_id: i64,
    /// The identifier kind that joined the work (`referral` when a referral did).
    pub kind: String,
    pub value: String,
    /// The organisation's own reports in the cluster (never the other's).
    pub own_reports: Vec<ReportId>,
    /// How many other organisations work on the same cluster.
    pub other_org_count: i64,
    pub created_at: i64,
}

/// A viral bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bundle {
    pub id: i64,
    pub kind: KeyKind,
    pub value: String,
    pub report_count: i64,
}

/// Identifier statistics: a too-common identifier as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyStat {
    pub kind: KeyKind,
    pub value: String,
    pub report_count: i64,
    pub too_common: bool,
}

/// Reports linked in one write transaction (see [`Store::begin_link_batch`]). Holding a batch
/// holds the database's write lock on SQLite: keep batches short (hundreds of reports).
pub struct LinkBatch {
    tx: sqlx::Transaction<'static, sqlx::Any>,
}

impl std::fmt::Debug for LinkBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkBatch")
    }
}

impl LinkBatch {
    /// Links one report (see [`Store::link_report`]) inside the batch. After an error the batch
    /// must be dropped (rolled back), not committed.
    pub async fn link(
        &mut self,
        report: ReportId,
        keys: &[LinkKey],
        batched_viral: bool,
        settings: LinkSettings,
    ) -> Result<LinkOutcome, StoreError> {
        link_in(&mut self.tx, report, keys, batched_viral, settings).await
    }

    /// Makes every link of the batch durable.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

fn parse_kind(text: &str) -> Result<KeyKind, StoreError> {
    text.parse().map_err(StoreError::corrupt)
}

impl Store {
    /// Links `report` through `keys` (see [`safeguard_domain::linking::keys_of_report`]): indexes
    /// each key, joins the report's cluster with every earlier cluster sharing a key (IPs within
    /// the window), bundles viral files and raises deconfliction alerts. Idempotent per report.
    pub async fn link_report(
        &self,
        report: ReportId,
        keys: &[LinkKey],
        batched_viral: bool,
        settings: LinkSettings,
    ) -> Result<LinkOutcome, StoreError> {
        let mut tx = self.write.begin().await?;
        let outcome = link_in(&mut tx, report, keys, batched_viral, settings).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Links several reports in one write transaction, in order (each as
    /// [`Store::link_report`] would, later ones seeing the earlier ones): one commit for the
    /// batch instead of one per report. On error nothing of the batch is kept.
    pub async fn link_reports(
        &self,
        reports: &[(ReportId, Vec<LinkKey>, bool)],
        settings: LinkSettings,
    ) -> Result<Vec<LinkOutcome>, StoreError> {
        let mut batch = self.begin_link_batch().await?;
        let mut outcomes = Vec::with_capacity(reports.len());
        for (report, keys, batched_viral) in reports {
            outcomes.push(batch.link(*report, keys, *batched_viral, settings).await?);
        }
        batch.commit().await?;
        Ok(outcomes)
    }

    /// Opens a linking batch: reports linked through it share one write transaction, committed
    /// by [`LinkBatch::commit`] (dropping the batch rolls it back).
    pub async fn begin_link_batch(&self) -> Result<LinkBatch, StoreError> {
        Ok(LinkBatch {
            tx: self.write.begin().await?,
        })
    }

    /// Records that `org` works on `report` (a referral or a case opened after linking), and
    /// alerts when that makes the report's cluster shared between organisations.
    pub async fn note_case_org(
        &self,
        report: ReportId,
        org: OrgId,
    ) -> Result<Vec<(OrgId, i64)>, StoreError> {
        let mut tx = self.write.begin().await?;
        let Some(cluster) = cluster_of(&mut tx, report.0).await? else {
            tx.rollback().await?;
            return Ok(Vec::new());
        };
        let before = cluster_orgs(&mut tx, cluster).await?;
        add_cluster_org(&mut tx, cluster, org.0, 1).await?;
        let mut alerts = Vec::new();
        if !before.contains(&org.0) && !before.is_empty() {
            let after = cluster_orgs(&mut tx, cluster).await?;
            let sides = vec![before, BTreeSet::from([org.0])];
            alerts = alert_new_overlaps(&mut tx, cluster, &sides, &after, "referral", "").await?;
        }
        tx.commit().await?;
        Ok(alerts)
    }

    /// The cluster of a report, with its members (up to `limit`) and the links among them.
    pub async fn cluster_of_report(
        &self,
        report: ReportId,
        limit: i64,
    ) -> Result<Option<ClusterView>, StoreError> {
        let mut conn = self.read.acquire().await?;
        let Some(cluster) = cluster_of(&mut conn, report.0).await? else {
            return Ok(None);
        };
        let size: i64 = sqlx::query("SELECT size FROM link_cluster WHERE id = $1")
            .bind(cluster)
            .fetch_one(&mut *conn)
            .await?
            .try_get("size")?;
        let rows = sqlx::query(
            "SELECT report_id FROM report_cluster WHERE cluster_id = $1 ORDER BY report_id LIMIT $2",
        )
        .bind(cluster)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        let reports = rows
            .iter()
            .map(|r| r.try_get("report_id").map(ReportId))
            .collect::<Result<Vec<_>, _>>()?;
        let rows = sqlx::query(
            "SELECT l.report_a, l.report_b, l.kind, l.key_hash, l.redacted FROM report_link l \
             JOIN report_cluster c ON c.report_id = l.report_a WHERE c.cluster_id = $1 \
             ORDER BY l.id LIMIT $2",
        )
        .bind(cluster)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        let links = rows
            .iter()
            .map(link_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(ClusterView {
            cluster_id: cluster,
            size,
            reports,
            links,
        }))
    }

    /// The cluster id of a report, if it was linked.
    pub async fn cluster_id(&self, report: ReportId) -> Result<Option<i64>, StoreError> {
        let mut conn = self.read.acquire().await?;
        cluster_of(&mut conn, report.0).await
    }

    /// Puts a value on the exclusion list (`value` canonical, as produced by the normalisers).
    pub async fn add_exclusion(
        &self,
        kind: KeyKind,
        value: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO link_exclusion (key_hash, kind, value, reason, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(key_digest(kind, value).to_vec())
        .bind(kind.code())
        .bind(value)
        .bind(reason)
        .bind(now_micros())
        .execute(&self.write)
        .await;
        match result {
            Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::Duplicate {
                what: "exclusion",
                name: value.to_owned(),
            }),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    /// Removes a value from the exclusion list; false when it was not there.
    pub async fn remove_exclusion(&self, kind: KeyKind, value: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM link_exclusion WHERE key_hash = $1")
            .bind(key_digest(kind, value).to_vec())
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The exclusion list.
    pub async fn exclusions(&self) -> Result<Vec<Exclusion>, StoreError> {
        let rows =
            sqlx::query("SELECT kind, value, reason FROM link_exclusion ORDER BY kind, value")
                .fetch_all(&self.read)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(Exclusion {
                    kind: parse_kind(&r.try_get::<String, _>("kind")?)?,
                    value: r.try_get("value")?,
                    reason: r.try_get("reason")?,
                })
            })
            .collect()
    }

    /// Deconfliction alerts of one organisation, newest first.
    pub async fn alerts_for(
        &self,
        org: OrgId,
        limit: i64,
    ) -> Result<Vec<DeconflictionAlert>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, org_id, cluster_id, kind, redacted, own_reports, other_org_count, created_at \
             FROM deconfliction_alert WHERE org_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(org.0)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let own: String = r.try_get("own_reports")?;
                let own_reports = serde_json::from_str::<Vec<i64>>(&own)
                    .map_err(StoreError::corrupt)?
                    .into_iter()
                    .map(ReportId)
                    .collect();
                Ok(DeconflictionAlert {
                    id: r.try_get("id")?,
                    org_id: OrgId(r.try_get("org_id")?),
                    cluster_id: r.try_get("cluster_id")?,
                    kind: r.try_get("kind")?,
                    value: r.try_get("redacted")?,
                    own_reports,
                    other_org_count: r.try_get("other_org_count")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Viral bundles, largest first.
    pub async fn bundles(&self, limit: i64) -> Result<Vec<Bundle>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, value, report_count FROM bundle ORDER BY report_count DESC, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Bundle {
                    id: r.try_get("id")?,
                    kind: parse_kind(&r.try_get::<String, _>("kind")?)?,
                    value: r.try_get("value")?,
                    report_count: r.try_get("report_count")?,
                })
            })
            .collect()
    }

    /// The bundle ids a report belongs to.
    pub async fn bundles_of_report(&self, report: ReportId) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT bundle_id FROM bundle_member WHERE report_id = $1 ORDER BY bundle_id",
        )
        .bind(report.0)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| r.try_get("bundle_id").map_err(Into::into))
            .collect()
    }

    /// Identifiers that passed the fan-out cap.
    pub async fn too_common_keys(&self, limit: i64) -> Result<Vec<KeyStat>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, redacted, report_count, too_common FROM link_key_stat WHERE too_common = 1 \
             ORDER BY report_count DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(KeyStat {
                    kind: parse_kind(&r.try_get::<String, _>("kind")?)?,
                    value: r.try_get("redacted")?,
                    report_count: r.try_get("report_count")?,
                    too_common: r.try_get::<i64, _>("too_common")? != 0,
                })
            })
            .collect()
    }

    /// Reports not linked yet, oldest first (for `safeguard link run`).
    pub async fn unlinked_reports(&self, limit: i64) -> Result<Vec<ReportId>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id FROM report r WHERE NOT EXISTS \
             (SELECT 1 FROM report_cluster c WHERE c.report_id = r.id) ORDER BY r.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| r.try_get("id").map(ReportId).map_err(Into::into))
            .collect()
    }

    /// Reports referred to `org` (the content of its packages), oldest first.
    pub async fn reports_referred_to(&self, org: OrgId) -> Result<Vec<ReportId>, StoreError> {
        let rows =
            sqlx::query("SELECT report_id FROM referral WHERE to_org = $1 ORDER BY report_id")
                .bind(org.0)
                .fetch_all(&self.read)
                .await?;
        rows.iter()
            .map(|r| r.try_get("report_id").map(ReportId).map_err(Into::into))
            .collect()
    }

    /// Records a referral of `report` to `to` (used by tests and the package builder's callers;
    /// the routing engine has its own path).
    pub async fn insert_referral(
        &self,
        report: ReportId,
        from: OrgId,
        to: OrgId,
        reason: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO referral (report_id, from_org, to_org, status, reason, created_at) \
             VALUES ($1, $2, $3, 'sent', $4, $5)",
        )
        .bind(report.0)
        .bind(from.0)
        .bind(to.0)
        .bind(reason)
        .bind(now_micros())
        .execute(&self.write)
        .await?;
        Ok(())
    }
}

fn link_from_row(r: &sqlx::any::AnyRow) -> Result<LinkReason, StoreError> {
    Ok(LinkReason {
        report_a: ReportId(r.try_get("report_a")?),
        report_b: ReportId(r.try_get("report_b")?),
        kind: parse_kind(&r.try_get::<String, _>("kind")?)?,
        value: r.try_get("redacted")?,
        key_hash: hex::encode(r.try_get::<Vec<u8>, _>("key_hash")?),
    })
}

async fn cluster_of(conn: &mut AnyConnection, report: i64) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query("SELECT cluster_id FROM report_cluster WHERE report_id = $1")
        .bind(report)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("cluster_id")?),
        None => None,
    })
}

/// The organisations working on a cluster (from `cluster_org`).
async fn cluster_orgs(conn: &mut AnyConnection, cluster: i64) -> Result<BTreeSet<i64>, StoreError> {
    let rows = sqlx::query("SELECT org_id FROM cluster_org WHERE cluster_id = $1")
        .bind(cluster)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| r.try_get("org_id").map_err(Into::into))
        .collect()
}

async fn add_cluster_org(
    conn: &mut AnyConnection,
    cluster: i64,
    org: i64,
    n: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO cluster_org (cluster_id, org_id, report_count) VALUES ($1, $2, $3) \
         ON CONFLICT (cluster_id, org_id) DO UPDATE SET report_count = cluster_org.report_count + $3",
    )
    .bind(cluster)
    .bind(org)
    .bind(n)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The organisations working on a report: those it was referred to, or, if none, its holder
/// while the report is open.
async fn case_orgs_of(conn: &mut AnyConnection, report: i64) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query(
        "SELECT to_org AS org_id FROM referral WHERE report_id = $1 UNION ALL \
         SELECT holder_org AS org_id FROM report WHERE id = $1 AND state = 'open' \
         AND NOT EXISTS (SELECT 1 FROM referral WHERE report_id = $1)",
    )
    .bind(report)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| r.try_get("org_id").map_err(Into::into))
        .collect()
}

/// Alerts each organisation that, through this merge, now shares `cluster` with an
/// organisation it did not share it with before. `sides` are the org sets of the merged parts.
async fn alert_new_overlaps(
    conn: &mut AnyConnection,
    cluster: i64,
    sides: &[BTreeSet<i64>],
    after: &BTreeSet<i64>,
    kind: &str,
    redacted: &str,
) -> Result<Vec<(OrgId, i64)>, StoreError> {
    let mut alerted = Vec::new();
    if after.len() < 2 {
        return Ok(alerted);
    }
    // An organisation already sharing the cluster with everyone (it sat on both sides) learns
    // nothing new; the others are told.
    let concerned: Vec<i64> = after
        .iter()
        .copied()
        .filter(|org| {
            let known: BTreeSet<i64> = sides
                .iter()
                .filter(|side| side.contains(org))
                .flat_map(|side| side.iter().copied())
                .collect();
            known.len() < after.len()
        })
        .collect();
    for org in concerned {
        let rows = sqlx::query(
            "SELECT rc.report_id FROM report_cluster rc WHERE rc.cluster_id = $1 AND (\
             EXISTS (SELECT 1 FROM referral f WHERE f.report_id = rc.report_id AND f.to_org = $2) OR \
             (NOT EXISTS (SELECT 1 FROM referral f WHERE f.report_id = rc.report_id) AND EXISTS \
             (SELECT 1 FROM report r WHERE r.id = rc.report_id AND r.holder_org = $2 AND r.state = 'open'))) \
             ORDER BY rc.report_id LIMIT 100",
        )
        .bind(cluster)
        .bind(org)
        .fetch_all(&mut *conn)
        .await?;
        let own = rows
            .iter()
            .map(|r| r.try_get("report_id"))
            .collect::<Result<Vec<i64>, _>>()?;
        let row = sqlx::query(
            "INSERT INTO deconfliction_alert (org_id, cluster_id, kind, redacted, own_reports, \
             other_org_count, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(org)
        .bind(cluster)
        .bind(kind)
        .bind(redacted)
        .bind(serde_json::to_string(&own).map_err(StoreError::corrupt)?)
        .bind(after.len() as i64 - 1)
        .bind(now_micros())
        .fetch_one(&mut *conn)
        .await?;
        alerted.push((OrgId(org), row.try_get("id")?));
    }
    Ok(alerted)
}

/// `$first, $first+1, ...` (`n` placeholders) for an `IN (...)` list.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Links one report inside the caller's transaction. The identifier work of the report is done
/// in a fixed number of statements whatever the number of keys: one read of the statistics and
/// exclusions of all keys, one read of the candidates of all keys, one upsert of the statistics
/// and one insert into the index; only merges (one per other cluster joined) cost more.
async fn link_in(
    conn: &mut AnyConnection,
    report: ReportId,
    keys: &[LinkKey],
    batched_viral: bool,
    settings: LinkSettings,
) -> Result<LinkOutcome, StoreError> {
    let mut outcome = LinkOutcome::default();
    // Claiming the report's cluster row is also the "linked before?" check.
    let fresh = sqlx::query(
        "INSERT INTO report_cluster (report_id, cluster_id) VALUES ($1, $1) \
         ON CONFLICT (report_id) DO NOTHING",
    )
    .bind(report.0)
    .execute(&mut *conn)
    .await?;
    if fresh.rows_affected() == 0 {
        outcome.cluster_id = cluster_of(conn, report.0).await?.unwrap_or(report.0);
        outcome.already_linked = true;
        return Ok(outcome);
    }
    let now = now_micros();
    sqlx::query(
        "INSERT INTO link_cluster (id, size, created_at, updated_at) VALUES ($1, 1, $2, $2)",
    )
    .bind(report.0)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let mut cluster = report.0;
    let mut cluster_size: i64 = 1;
    // The organisations of the report's current cluster, with their report counts: kept here
    // so that a merge only reads the other side.
    let mut my_orgs: BTreeMap<i64, i64> = BTreeMap::new();
    for org in case_orgs_of(conn, report.0).await? {
        add_cluster_org(conn, cluster, org, 1).await?;
        *my_orgs.entry(org).or_insert(0) += 1;
    }

    let digests: Vec<[u8; 16]> = keys.iter().map(LinkKey::digest).collect();
    let mut distinct = digests.clone();
    distinct.sort_unstable();
    distinct.dedup();

    // Statistics and exclusions of every key, in one statement.
    let mut stats: HashMap<[u8; 16], (i64, bool)> = HashMap::new();
    let mut excluded: HashSet<[u8; 16]> = HashSet::new();
    if !distinct.is_empty() {
        let list = placeholders(1, distinct.len());
        let sql = format!(
            "SELECT key_hash, report_count, too_common, CAST(0 AS BIGINT) AS excluded \
             FROM link_key_stat WHERE key_hash IN ({list}) UNION ALL \
             SELECT key_hash, CAST(0 AS BIGINT) AS report_count, CAST(0 AS BIGINT) AS too_common, \
             CAST(1 AS BIGINT) AS excluded FROM link_exclusion WHERE key_hash IN ({list})"
        );
        let mut q = sqlx::query(&sql);
        for d in &distinct {
            q = q.bind(d.to_vec());
        }
        for r in q.fetch_all(&mut *conn).await? {
            let hash = digest_of(&r.try_get::<Vec<u8>, _>("key_hash")?)?;
            if r.try_get::<i64, _>("excluded")? != 0 {
                excluded.insert(hash);
            } else {
                stats.insert(
                    hash,
                    (
                        r.try_get("report_count")?,
                        r.try_get::<i64, _>("too_common")? != 0,
                    ),
                );
            }
        }
    }

    // Each key in order, as if the statistics were updated one key at a time.
    struct Planned {
        key: usize,
        new_count: i64,
        links: bool,
    }
    let mut planned = Vec::with_capacity(keys.len());
    let mut stat_writes: BTreeMap<[u8; 16], (usize, i64, bool)> = BTreeMap::new();
    for (i, key) in keys.iter().enumerate() {
        let digest = digests[i];
        if excluded.contains(&digest) {
            outcome.excluded += 1;
            continue;
        }
        let (count, too_common) = stats.get(&digest).copied().unwrap_or((0, false));
        let new_count = count + 1;
        let passes_cap = new_count > settings.fan_out_cap;
        stats.insert(digest, (new_count, passes_cap));
        stat_writes
            .entry(digest)
            .and_modify(|w| {
                w.1 = new_count;
                w.2 = passes_cap;
            })
            .or_insert((i, new_count, passes_cap));
        if passes_cap && !too_common {
            outcome.too_common.push((key.kind, key.redacted()));
        }
        planned.push(Planned {
            key: i,
            new_count,
            links: !passes_cap,
        });
    }
    if !stat_writes.is_empty() {
        let rows: Vec<String> = (0..stat_writes.len())
            .map(|j| format!("({})", placeholders(j * 6 + 1, 6)))
            .collect();
        let sql = format!(
            "INSERT INTO link_key_stat (key_hash, kind, report_count, too_common, redacted, first_seen) \
             VALUES {} ON CONFLICT (key_hash) DO UPDATE SET report_count = excluded.report_count, \
             too_common = excluded.too_common",
            rows.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (digest, (i, count, too_common)) in &stat_writes {
            let key = &keys[*i];
            q = q
                .bind(digest.to_vec())
                .bind(key.kind.code())
                .bind(*count)
                .bind(i64::from(*too_common))
                .bind(key.redacted())
                .bind(now);
        }
        q.execute(&mut *conn).await?;
    }

    // Earlier reports (and their clusters) sharing each key, in one statement: IPs only within
    // the window of the event time, and an IP without a time never links (it may have been
    // anyone's at another time).
    let mut candidates: Vec<Vec<(i64, i64)>> = vec![Vec::new(); keys.len()];
    {
        let mut branches = Vec::new();
        // (key hash, IP window) of each branch, in placeholder order.
        type Bind = (Vec<u8>, Option<(i64, i64)>);
        let mut binds: Vec<Bind> = Vec::new();
        let mut next = 1;
        for p in planned.iter().filter(|p| p.links) {
            let key = &keys[p.key];
            let window = if key.kind == KeyKind::Ip {
                match key.at.map(micros) {
                    Some(t) => Some((
                        t.saturating_sub(settings.ip_window_micros),
                        t.saturating_add(settings.ip_window_micros),
                    )),
                    None => continue,
                }
            } else {
                None
            };
            let base = format!(
                "SELECT CAST({} AS BIGINT) AS i, k.report_id, c.cluster_id FROM link_key k \
                 JOIN report_cluster c ON c.report_id = k.report_id WHERE k.key_hash = ${next}",
                p.key
            );
            next += 1;
            branches.push(match window {
                Some(_) => {
                    let b = format!(
                        "{base} AND k.event_at >= ${} AND k.event_at <= ${}",
                        next,
                        next + 1
                    );
                    next += 2;
                    b
                }
                None => base,
            });
            binds.push((digests[p.key].to_vec(), window));
        }
        if !branches.is_empty() {
            let sql = branches.join(" UNION ALL ");
            let mut q = sqlx::query(&sql);
            for (digest, window) in binds {
                q = q.bind(digest);
                if let Some((from, to)) = window {
                    q = q.bind(from).bind(to);
                }
            }
            for r in q.fetch_all(&mut *conn).await? {
                let i: i64 = r.try_get("i")?;
                let i = usize::try_from(i).map_err(StoreError::corrupt)?;
                let slot = candidates
                    .get_mut(i)
                    .ok_or_else(|| StoreError::corrupt("candidate of an unknown key"))?;
                slot.push((r.try_get("report_id")?, r.try_get("cluster_id")?));
            }
        }
    }

    // Clusters merged away during this report, to the cluster that absorbed them.
    let mut renamed: HashMap<i64, i64> = HashMap::new();
    let find = |renamed: &HashMap<i64, i64>, mut c: i64| {
        while let Some(&next) = renamed.get(&c) {
            c = next;
        }
        c
    };
    for p in planned.iter().filter(|p| p.links) {
        let key = &keys[p.key];
        let digest = digests[p.key];
        // One link per distinct other cluster: the one that joins it.
        let mut others: BTreeMap<i64, i64> = BTreeMap::new();
        for &(other_report, other_cluster) in &candidates[p.key] {
            if other_report != report.0 {
                others.entry(other_cluster).or_insert(other_report);
            }
        }
        for (other_cluster, other_report) in others {
            // An earlier merge of this report may already have absorbed it.
            let current_other = find(&renamed, other_cluster);
            if current_other == cluster {
                continue;
            }
            let rows = sqlx::query(
                "SELECT l.size, o.org_id, o.report_count FROM link_cluster l \
                 LEFT JOIN cluster_org o ON o.cluster_id = l.id WHERE l.id = $1",
            )
            .bind(current_other)
            .fetch_all(&mut *conn)
            .await?;
            let Some(first) = rows.first() else {
                return Err(StoreError::corrupt(format!(
                    "report {other_report} points at missing cluster {current_other}"
                )));
            };
            let other_size: i64 = first.try_get("size")?;
            let mut their_orgs: BTreeMap<i64, i64> = BTreeMap::new();
            for r in &rows {
                if let Some(org) = r.try_get::<Option<i64>, _>("org_id")? {
                    their_orgs.insert(org, r.try_get("report_count")?);
                }
            }
            let mine: BTreeSet<i64> = my_orgs.keys().copied().collect();
            let other_orgs: BTreeSet<i64> = their_orgs.keys().copied().collect();
            let (big, small, moved) = if cluster_size > other_size
                || (cluster_size == other_size && cluster < current_other)
            {
                (cluster, current_other, &their_orgs)
            } else {
                (current_other, cluster, &my_orgs)
            };
            merge_into(conn, big, small, cluster_size + other_size, moved, now).await?;
            renamed.insert(small, big);
            cluster = big;
            cluster_size += other_size;
            for (org, n) in their_orgs {
                *my_orgs.entry(org).or_insert(0) += n;
            }
            sqlx::query(
                "INSERT INTO report_link (report_a, report_b, kind, key_hash, redacted, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(report.0)
            .bind(other_report)
            .bind(key.kind.code())
            .bind(digest.to_vec())
            .bind(key.redacted())
            .bind(now)
            .execute(&mut *conn)
            .await?;
            outcome.links.push(LinkReason {
                report_a: report,
                report_b: ReportId(other_report),
                kind: key.kind,
                value: key.redacted(),
                key_hash: hex::encode(digest),
            });
            if !other_orgs.is_empty() && !mine.is_empty() && other_orgs != mine {
                let after: BTreeSet<i64> = mine.union(&other_orgs).copied().collect();
                let alerts = alert_new_overlaps(
                    conn,
                    cluster,
                    &[mine, other_orgs],
                    &after,
                    key.kind.code(),
                    &key.redacted(),
                )
                .await?;
                outcome.alerts.extend(alerts);
            }
        }
    }

    // The report joins the index under every key below the cap, in one statement.
    let indexed: Vec<&Planned> = planned.iter().filter(|p| p.links).collect();
    if !indexed.is_empty() {
        let rows: Vec<String> = (0..indexed.len())
            .map(|j| format!("({})", placeholders(j * 3 + 1, 3)))
            .collect();
        let sql = format!(
            "INSERT INTO link_key (key_hash, report_id, event_at) VALUES {}",
            rows.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for p in &indexed {
            q = q
                .bind(digests[p.key].to_vec())
                .bind(report.0)
                .bind(keys[p.key].at.map(micros));
        }
        q.execute(&mut *conn).await?;
    }

    for p in &planned {
        let key = &keys[p.key];
        if key.kind == KeyKind::Sha256
            && (batched_viral || p.new_count >= settings.bundle_threshold)
        {
            let digest = digests[p.key];
            outcome
                .bundles
                .push(bundle_in(conn, key, &digest, report.0, p.new_count, now).await?);
        }
    }
    outcome.cluster_id = cluster;
    Ok(outcome)
}

fn digest_of(bytes: &[u8]) -> Result<[u8; 16], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::corrupt("link key hash is not 16 bytes"))
}

/// Moves cluster `small` into `big` (whose new size is `size`); `moved` are the organisations
/// of `small` with their report counts.
async fn merge_into(
    conn: &mut AnyConnection,
    big: i64,
    small: i64,
    size: i64,
    moved: &BTreeMap<i64, i64>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE report_cluster SET cluster_id = $1 WHERE cluster_id = $2")
        .bind(big)
        .bind(small)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE link_cluster SET size = $1, updated_at = $2 WHERE id = $3")
        .bind(size)
        .bind(now)
        .bind(big)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM link_cluster WHERE id = $1")
        .bind(small)
        .execute(&mut *conn)
        .await?;
    for (&org, &n) in moved {
        add_cluster_org(conn, big, org, n).await?;
    }
    if !moved.is_empty() {
        sqlx::query("DELETE FROM cluster_org WHERE cluster_id = $1")
            .bind(small)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn bundle_in(
    conn: &mut AnyConnection,
    key: &LinkKey,
    digest: &[u8],
    report: i64,
    count: i64,
    now: i64,
) -> Result<i64, StoreError> {
    let existing = sqlx::query("SELECT id FROM bundle WHERE key_hash = $1")
        .bind(digest)
        .fetch_optional(&mut *conn)
        .await?;
    let id: i64 = match existing {
        Some(r) => {
            let id = r.try_get("id")?;
            sqlx::query("UPDATE bundle SET report_count = $1, updated_at = $2 WHERE id = $3")
                .bind(count)
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            id
        }
        None => {
            let r = sqlx::query(
                "INSERT INTO bundle (key_hash, kind, value, report_count, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            )
            .bind(digest)
            .bind(key.kind.code())
            .bind(&key.value)
            .bind(count)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
            let id: i64 = r.try_get("id")?;
            // Earlier reports of the file join the bundle as it is created.
            sqlx::query(
                "INSERT INTO bundle_member (bundle_id, report_id) SELECT DISTINCT $1, report_id \
                 FROM link_key WHERE key_hash = $2 AND report_id <> $3",
            )
            .bind(id)
            .bind(digest)
            .bind(report)
            .execute(&mut *conn)
            .await?;
            id
        }
    };
    sqlx::query(
        "INSERT INTO bundle_member (bundle_id, report_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(report)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}
