//! Federation: the outbox of deliveries to peers (each driven by a `federation.deliver` job),
//! deliveries received (recognised by their idempotency key), where reports and packages came
//! from, the chain of custody of reports across instances, outcomes reported back by peers, and
//! private deconfliction alerts. The protocol itself lives in the `safeguard-federation` crate.

use safeguard_domain::account::OrgId;
use safeguard_domain::audit::AuditEvent;
use safeguard_domain::report::{IntakeState, ReportId};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::routing::{enqueue_in, Referral};
use crate::time_codec::now_micros;
use crate::{audit, Store, StoreError, Submission};

/// Job kind: deliver one outbox item to its peer.
pub const JOB_FEDERATION_DELIVER: &str = "federation.deliver";

/// One delivery to a peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxItem {
    pub id: i64,
    pub peer: String,
    pub kind: String,
    pub delivery_key: String,
    /// The local object it carries (a referral id for `referral` and `package` deliveries).
    pub subject_id: Option<i64>,
    /// The signed envelope's JSON, once built.
    pub body: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// One hop in a report's chain of custody.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodyHop {
    /// The instance that recorded it.
    pub instance: String,
    /// Unique per report and instance (`received`, `sent:<delivery key>`...).
    pub hop_key: String,
    /// received, referred, sent, delivered, arrived, forwarded, packaged, acknowledged, outcome
    pub action: String,
    /// The organisation acting (on that instance).
    pub org: String,
    /// The other party: the organisation referred to, the peer sent to or received from.
    pub counterpart: Option<String>,
    /// Unix microseconds.
    pub at: i64,
    pub detail: String,
}

/// An outcome a peer reported for a report this instance passed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FederatedOutcome {
    pub report_id: ReportId,
    pub peer: String,
    pub outcome: String,
    pub note: Option<String>,
    pub reported_by: String,
    pub reported_at: i64,
}

/// A referral with the report's global uid, for deliveries.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerReferral {
    pub referral: Referral,
    pub report_uid: String,
}

/// One identifier a report holds, normalised, for private deconfliction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentifierKey {
    /// email, account, ip_hour, file_sha256
    pub kind: String,
    pub value: String,
    pub report_id: ReportId,
}

/// An identifier this instance shares with a peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FederationAlert {
    pub id: i64,
    pub peer: String,
    pub kind: String,
    /// The keyed hash both sides computed (hex).
    pub key_hash: String,
    /// This instance's own value (never sent).
    pub value: String,
    pub report_ids: Vec<i64>,
    pub created_at: i64,
}

fn outbox_from_row(r: &sqlx::any::AnyRow) -> Result<OutboxItem, StoreError> {
    Ok(OutboxItem {
        id: r.try_get("id")?,
        peer: r.try_get("peer")?,
        kind: r.try_get("kind")?,
        delivery_key: r.try_get("delivery_key")?,
        subject_id: r.try_get("subject_id")?,
        body: r.try_get("body")?,
        created_at: r.try_get("created_at")?,
        delivered_at: r.try_get("delivered_at")?,
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
    })
}

const OUTBOX_COLUMNS: &str =
    "id, peer, kind, delivery_key, subject_id, body, created_at, delivered_at, attempts, last_error";

impl Store {
    /// Adds a delivery to `peer` unless one with that key exists, with the job that sends it, in
    /// one transaction. Returns the new item's id (`None`: it existed already).
    pub async fn enqueue_delivery(
        &self,
        peer: &str,
        kind: &str,
        delivery_key: &str,
        subject_id: Option<i64>,
        body: Option<&str>,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(
            "INSERT INTO federation_outbox (peer, kind, delivery_key, subject_id, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (delivery_key) DO NOTHING RETURNING id",
        )
        .bind(peer)
        .bind(kind)
        .bind(delivery_key)
        .bind(subject_id)
        .bind(body)
        .bind(now_micros())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let id: i64 = row.try_get("id")?;
        enqueue_in(&mut tx, JOB_FEDERATION_DELIVER, id).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// One outbox item.
    pub async fn outbox_item(&self, id: i64) -> Result<OutboxItem, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM federation_outbox WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "outbox item",
            name: id.to_string(),
        })?;
        outbox_from_row(&row)
    }

    /// The outbox, newest first (`pending_only`: not delivered yet).
    pub async fn outbox(
        &self,
        pending_only: bool,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let filter = if pending_only {
            "WHERE delivered_at IS NULL"
        } else {
            ""
        };
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM federation_outbox {filter} ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(outbox_from_row).collect()
    }

    /// Keeps the envelope built for an item unless one was kept already; returns the kept one
    /// (so that every re-send carries the same bytes).
    pub async fn set_outbox_body(&self, id: i64, body: &str) -> Result<String, StoreError> {
        sqlx::query("UPDATE federation_outbox SET body = $1 WHERE id = $2 AND body IS NULL")
            .bind(body)
            .bind(id)
            .execute(&self.write)
            .await?;
        self.outbox_item(id)
            .await?
            .body
            .ok_or_else(|| StoreError::corrupt("outbox body vanished"))
    }

    /// Records one try: delivered (with the peer's answer) or failed (with the error).
    pub async fn record_delivery_attempt(
        &self,
        id: i64,
        result: Result<&str, &str>,
    ) -> Result<(), StoreError> {
        let now = now_micros();
        match result {
            Ok(answer) => {
                sqlx::query(
                    "UPDATE federation_outbox SET attempts = attempts + 1, delivered_at = COALESCE(delivered_at, $1), \
                     answer = $2, last_error = NULL WHERE id = $3",
                )
                .bind(now)
                .bind(answer)
                .bind(id)
                .execute(&self.write)
                .await?;
            }
            Err(error) => {
                let error: String = error.chars().take(2000).collect();
                sqlx::query(
                    "UPDATE federation_outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2",
                )
                .bind(error)
                .bind(id)
                .execute(&self.write)
                .await?;
            }
        }
        Ok(())
    }

    /// Referrals to `org` (an organisation reached through a peer) that have no delivery yet.
    pub async fn undelivered_referrals_to(
        &self,
        org: OrgId,
        limit: i64,
    ) -> Result<Vec<PeerReferral>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.id, f.report_id, f.from_org, f.to_org, f.via_org, f.status, f.reason, f.created_at, \
             f.due_at, f.route, r.uid FROM referral f JOIN report r ON r.id = f.report_id \
             WHERE f.to_org = $1 AND f.status = 'pending' AND NOT EXISTS \
             (SELECT 1 FROM federation_outbox o WHERE o.subject_id = f.id AND o.kind IN ('referral', 'package')) \
             ORDER BY f.id LIMIT $2",
        )
        .bind(org.0)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PeerReferral {
                    referral: crate::routing::referral_from_row(r)?,
                    report_uid: r.try_get("uid")?,
                })
            })
            .collect()
    }

    /// Pending referrals held by `org` for reports that came from a peer: what an intermediary
    /// forwards along the referral's route.
    pub async fn received_referrals_held_by(
        &self,
        org: OrgId,
        limit: i64,
    ) -> Result<Vec<PeerReferral>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.id, f.report_id, f.from_org, f.to_org, f.via_org, f.status, f.reason, f.created_at, \
             f.due_at, f.route, r.uid FROM referral f JOIN report r ON r.id = f.report_id \
             JOIN federation_origin o ON o.object_kind = 'report' AND o.object_id = f.report_id \
             WHERE f.to_org = $1 AND f.status = 'pending' ORDER BY f.id LIMIT $2",
        )
        .bind(org.0)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PeerReferral {
                    referral: crate::routing::referral_from_row(r)?,
                    report_uid: r.try_get("uid")?,
                })
            })
            .collect()
    }

    /// Sets a referral's status (`delivered` once a peer acknowledged it).
    pub async fn set_referral_status(&self, id: i64, status: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE referral SET status = $1 WHERE id = $2")
            .bind(status)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// A report by its global uid.
    pub async fn report_id_by_uid(&self, uid: &str) -> Result<Option<ReportId>, StoreError> {
        let row = sqlx::query("SELECT id FROM report WHERE uid = $1")
            .bind(uid)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| Ok(ReportId(r.try_get("id")?))).transpose()
    }

    /// Stores a report received from `peer` under its global `uid` (no routing job: it was
    /// routed where it came from), or finds the one stored before. Returns (id, created now).
    pub async fn insert_federated_report(
        &self,
        uid: &str,
        sub: &Submission<'_>,
        peer: &str,
    ) -> Result<(ReportId, bool), StoreError> {
        if let Some(id) = self.report_id_by_uid(uid).await? {
            return Ok((id, false));
        }
        let mut tx = self.write.begin().await?;
        let sub = Submission {
            state: IntakeState::Finished,
            idempotency: None,
            ..sub.clone()
        };
        let id = crate::reports::insert_report_rows(&mut tx, &sub).await?;
        sqlx::query("UPDATE report SET uid = $1 WHERE id = $2")
            .bind(uid)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO federation_origin (object_kind, object_id, peer, remote_ref) VALUES ('report', $1, $2, $3)",
        )
        .bind(id.0)
        .bind(peer)
        .bind(uid)
        .execute(&mut *tx)
        .await?;
        audit::append_in(
            &mut tx,
            &AuditEvent {
                actor_user: None,
                actor: format!("peer:{peer}"),
                action: "report.receive".into(),
                object_kind: "report".into(),
                object_id: id.0.to_string(),
                detail: format!("uid={uid}"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok((id, true))
    }

    /// The peer (and its reference) a report or package came from.
    pub async fn origin(
        &self,
        object_kind: &str,
        object_id: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT peer, remote_ref FROM federation_origin WHERE object_kind = $1 AND object_id = $2",
        )
        .bind(object_kind)
        .bind(object_id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| Ok((r.try_get("peer")?, r.try_get("remote_ref")?)))
            .transpose()
    }

    /// A package by uid.
    pub async fn package_id_by_uid(&self, uid: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT id FROM package WHERE uid = $1")
            .bind(uid)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| Ok(r.try_get("id")?)).transpose()
    }

    /// Stores a package received from `peer` in the recipient's inbox (state `sent`) under the
    /// sender's uid, or finds the one stored before. Returns (id, created now).
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_received_package(
        &self,
        uid: &str,
        from: OrgId,
        to: OrgId,
        manifest: &serde_json::Value,
        file_sha256: &[u8; 32],
        isp_cost_cents: i64,
        peer: &str,
    ) -> Result<(i64, bool), StoreError> {
        if let Some(id) = self.package_id_by_uid(uid).await? {
            return Ok((id, false));
        }
        let now = now_micros();
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(
            "INSERT INTO package (uid, from_org, to_org, state, manifest, file_sha256, isp_cost_cents, created_at, updated_at) \
             VALUES ($1, $2, $3, 'sent', $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(uid)
        .bind(from.0)
        .bind(to.0)
        .bind(manifest.to_string())
        .bind(file_sha256.to_vec())
        .bind(isp_cost_cents)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        sqlx::query(
            "INSERT INTO package_history (package_id, state, actor, at) VALUES ($1, 'sent', $2, $3)",
        )
        .bind(id)
        .bind(format!("peer:{peer}"))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO federation_origin (object_kind, object_id, peer, remote_ref) VALUES ('package', $1, $2, $3)",
        )
        .bind(id)
        .bind(peer)
        .bind(uid)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((id, true))
    }

    /// Records hops of a report's chain of custody; hops recorded before are left as they are.
    pub async fn add_custody_hops(
        &self,
        report_uid: &str,
        hops: &[CustodyHop],
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        for h in hops {
            sqlx::query(
                "INSERT INTO custody_hop (report_uid, instance, hop_key, action, org, counterpart, at, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (report_uid, instance, hop_key) DO NOTHING",
            )
            .bind(report_uid)
            .bind(&h.instance)
            .bind(&h.hop_key)
            .bind(&h.action)
            .bind(&h.org)
            .bind(h.counterpart.as_deref())
            .bind(h.at)
            .bind(&h.detail)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A report's chain of custody, in time order.
    pub async fn custody(&self, report_uid: &str) -> Result<Vec<CustodyHop>, StoreError> {
        let rows = sqlx::query(
            "SELECT instance, hop_key, action, org, counterpart, at, detail FROM custody_hop \
             WHERE report_uid = $1 ORDER BY at, id",
        )
        .bind(report_uid)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CustodyHop {
                    instance: r.try_get("instance")?,
                    hop_key: r.try_get("hop_key")?,
                    action: r.try_get("action")?,
                    org: r.try_get("org")?,
                    counterpart: r.try_get("counterpart")?,
                    at: r.try_get("at")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }

    /// The first answer given to a delivery, if it was received before.
    pub async fn inbound_answer(&self, delivery_key: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT answer FROM federation_inbound WHERE delivery_key = $1")
            .bind(delivery_key)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| Ok(r.try_get("answer")?)).transpose()
    }

    /// Remembers a delivery received and the answer given.
    pub async fn record_inbound(
        &self,
        delivery_key: &str,
        peer: &str,
        kind: &str,
        answer: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO federation_inbound (delivery_key, peer, kind, received_at, answer) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (delivery_key) DO NOTHING",
        )
        .bind(delivery_key)
        .bind(peer)
        .bind(kind)
        .bind(now_micros())
        .bind(answer)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Records an outcome a peer reported for a report (once per delivery, report and outcome).
    pub async fn add_federated_outcome(
        &self,
        report: ReportId,
        peer: &str,
        outcome: &str,
        note: Option<&str>,
        reported_by: &str,
        delivery_key: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO federated_outcome (report_id, peer, outcome, note, reported_by, reported_at, delivery_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (delivery_key, report_id, outcome) DO NOTHING",
        )
        .bind(report.0)
        .bind(peer)
        .bind(outcome)
        .bind(note)
        .bind(reported_by)
        .bind(now_micros())
        .bind(delivery_key)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Outcomes peers reported for a report, oldest first.
    pub async fn federated_outcomes(
        &self,
        report: ReportId,
    ) -> Result<Vec<FederatedOutcome>, StoreError> {
        let rows = sqlx::query(
            "SELECT report_id, peer, outcome, note, reported_by, reported_at FROM federated_outcome \
             WHERE report_id = $1 ORDER BY id",
        )
        .bind(report.0)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FederatedOutcome {
                    report_id: ReportId(r.try_get("report_id")?),
                    peer: r.try_get("peer")?,
                    outcome: r.try_get("outcome")?,
                    note: r.try_get("note")?,
                    reported_by: r.try_get("reported_by")?,
                    reported_at: r.try_get("reported_at")?,
                })
            })
            .collect()
    }

    /// Every identifier of every report, normalised for private deconfliction: e-mail addresses
    /// (lower case), accounts (user id or screen name, lower case), IP addresses with the hour of
    /// their event (`ip@hour`, hours since the epoch), and file SHA-256 digests (hex).
    pub async fn identifier_keys(&self) -> Result<Vec<IdentifierKey>, StoreError> {
        let mut out = Vec::new();
        let rows = sqlx::query(
            "SELECT report_id, kind, value, event_at FROM report_identifier WHERE kind IN ('email', 'ip')",
        )
        .fetch_all(&self.read)
        .await?;
        for r in &rows {
            let kind: String = r.try_get("kind")?;
            let value: String = r.try_get("value")?;
            let report_id = ReportId(r.try_get("report_id")?);
            match kind.as_str() {
                "email" => out.push(IdentifierKey {
                    kind: "email".into(),
                    value: value.trim().to_lowercase(),
                    report_id,
                }),
                _ => {
                    let Some(at) = r.try_get::<Option<i64>, _>("event_at")? else {
                        continue;
                    };
                    let hour = at.div_euclid(3_600_000_000);
                    let ip = value
                        .parse::<std::net::IpAddr>()
                        .map(safeguard_domain::linking::normalise_ip)
                        .unwrap_or(value);
                    out.push(IdentifierKey {
                        kind: "ip_hour".into(),
                        value: format!("{ip}@{hour}"),
                        report_id,
                    });
                }
            }
        }
        let rows = sqlx::query(
            "SELECT report_id, esp_identifier, screen_name FROM report_party \
             WHERE esp_identifier IS NOT NULL OR screen_name IS NOT NULL",
        )
        .fetch_all(&self.read)
        .await?;
        for r in &rows {
            let report_id = ReportId(r.try_get("report_id")?);
            for column in ["esp_identifier", "screen_name"] {
                if let Some(v) = r.try_get::<Option<String>, _>(column)? {
                    let v = v.trim().to_lowercase();
                    if !v.is_empty() {
                        out.push(IdentifierKey {
                            kind: "account".into(),
                            value: v,
                            report_id,
                        });
                    }
                }
            }
        }
        let rows = sqlx::query("SELECT report_id, sha256 FROM report_file")
            .fetch_all(&self.read)
            .await?;
        for r in &rows {
            let sha: Vec<u8> = r.try_get("sha256")?;
            out.push(IdentifierKey {
                kind: "file_sha256".into(),
                value: hex::encode(sha),
                report_id: ReportId(r.try_get("report_id")?),
            });
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Records (or refreshes) an identifier shared with `peer`.
    pub async fn save_federation_alert(
        &self,
        peer: &str,
        kind: &str,
        key_hash: &str,
        value: &str,
        report_ids: &[i64],
    ) -> Result<(), StoreError> {
        let ids = serde_json::to_string(report_ids).map_err(StoreError::corrupt)?;
        sqlx::query(
            "INSERT INTO federation_alert (peer, kind, key_hash, value, report_ids, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (peer, key_hash) DO UPDATE SET report_ids = $5",
        )
        .bind(peer)
        .bind(kind)
        .bind(key_hash)
        .bind(value)
        .bind(ids)
        .bind(now_micros())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Identifiers shared with peers, newest first.
    pub async fn federation_alerts(&self, limit: i64) -> Result<Vec<FederationAlert>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, peer, kind, key_hash, value, report_ids, created_at FROM federation_alert \
             ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let ids: String = r.try_get("report_ids")?;
                Ok(FederationAlert {
                    id: r.try_get("id")?,
                    peer: r.try_get("peer")?,
                    kind: r.try_get("kind")?,
                    key_hash: r.try_get("key_hash")?,
                    value: r.try_get("value")?,
                    report_ids: serde_json::from_str(&ids).map_err(StoreError::corrupt)?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}

/// An acknowledgement of a received package, not yet passed back to the peer it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsentAck {
    pub history_id: i64,
    pub package_id: i64,
    pub package_uid: String,
    pub peer: String,
    pub actor: String,
    pub at: i64,
}

/// An outcome recorded for a received package, not yet passed back to the peer it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsentOutcome {
    pub outcome_id: i64,
    pub package_uid: String,
    pub peer: String,
    pub report_uid: String,
    pub outcome: String,
    pub note: Option<String>,
    pub reported_at: i64,
}

impl Store {
    /// Stores a referral received from a peer (pending, held by `to`) unless the report was
    /// referred to `to` already.
    pub async fn insert_received_referral(
        &self,
        report: ReportId,
        referral: &crate::NewReferral,
    ) -> Result<(), StoreError> {
        let route = serde_json::to_string(&referral.route).map_err(StoreError::corrupt)?;
        sqlx::query(
            "INSERT INTO referral (report_id, from_org, to_org, via_org, status, reason, created_at, due_at, route) \
             VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8) ON CONFLICT (report_id, to_org) DO NOTHING",
        )
        .bind(report.0)
        .bind(referral.from_org.0)
        .bind(referral.to_org.0)
        .bind(referral.via_org.map(|o| o.0))
        .bind(&referral.reason)
        .bind(now_micros())
        .bind(referral.due_at.map(crate::time_codec::micros))
        .bind(route)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Acknowledgements of packages received from peers that have no delivery back yet.
    pub async fn unsent_package_acks(&self, limit: i64) -> Result<Vec<UnsentAck>, StoreError> {
        let rows = sqlx::query(
            "SELECT h.id, h.package_id, h.actor, h.at, p.uid, g.peer FROM package_history h \
             JOIN package p ON p.id = h.package_id \
             JOIN federation_origin g ON g.object_kind = 'package' AND g.object_id = p.id \
             WHERE h.state = 'acknowledged' AND NOT EXISTS \
             (SELECT 1 FROM federation_outbox o WHERE o.kind = 'ack' AND o.subject_id = h.id) \
             ORDER BY h.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UnsentAck {
                    history_id: r.try_get("id")?,
                    package_id: r.try_get("package_id")?,
                    package_uid: r.try_get("uid")?,
                    peer: r.try_get("peer")?,
                    actor: r.try_get("actor")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }

    /// Outcomes of packages received from peers that have no delivery back yet.
    pub async fn unsent_package_outcomes(
        &self,
        limit: i64,
    ) -> Result<Vec<UnsentOutcome>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.id, o.outcome, o.note, o.reported_at, p.uid AS package_uid, g.peer, r.uid AS report_uid \
             FROM package_outcome o JOIN package p ON p.id = o.package_id \
             JOIN federation_origin g ON g.object_kind = 'package' AND g.object_id = p.id \
             JOIN report r ON r.id = o.report_id \
             WHERE NOT EXISTS (SELECT 1 FROM federation_outbox x WHERE x.kind = 'outcome' AND x.subject_id = o.id) \
             ORDER BY o.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UnsentOutcome {
                    outcome_id: r.try_get("id")?,
                    package_uid: r.try_get("package_uid")?,
                    peer: r.try_get("peer")?,
                    report_uid: r.try_get("report_uid")?,
                    outcome: r.try_get("outcome")?,
                    note: r.try_get("note")?,
                    reported_at: r.try_get("reported_at")?,
                })
            })
            .collect()
    }
}
