//! What this instance sends: the scans that fill the outbox (referrals to organisations reached
//! through a peer, acknowledgements and outcomes of packages received from a peer, forwarding
//! of received referrals) and the delivery jobs that empty it.

use safeguard_domain::report::ReportId;
use safeguard_engine::packages::{build_package_of, NoOperators};
use safeguard_store::{
    Job, OutboxItem, PackageState, PeerReferral, RetryPolicy, Store, JOB_FEDERATION_DELIVER,
};
use serde::Serialize;

use crate::config::Deliver;
use crate::{
    b64, now_micros, AckPayload, Federation, FederationError, OutcomeItem, OutcomePayload,
    PackagePayload, ReferralPayload, ReportCustody,
};

/// Retries of deliveries: 1 s, 2 s, 4 s... at most 30 s apart, for about a week before a
/// delivery is parked (`safeguard federation retry` puts parked ones back).
pub const DELIVERY_RETRY: RetryPolicy = RetryPolicy {
    base: time::Duration::seconds(1),
    max_delay: time::Duration::seconds(30),
    max_attempts: 20_000,
};

/// How long a delivery job stays leased to the node sending it.
pub const DELIVERY_LEASE: time::Duration = time::Duration::seconds(60);

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryPass {
    pub queued: u64,
    pub forwarded: u64,
    pub delivered: u64,
    pub failed: u64,
}

impl Federation {
    /// Looks for new work and fills the outbox: referrals to organisations reached through a
    /// peer, acknowledgements and outcomes of packages received from a peer, and (with
    /// `auto_forward`) received referrals to pass on along their route. Safe to run on several
    /// nodes at once: every delivery key is unique and forwarding is idempotent.
    pub async fn scan(&self, store: &Store) -> Result<DeliveryPass, FederationError> {
        let mut pass = DeliveryPass::default();
        if self.config.auto_forward {
            pass.forwarded += self.forward_received(store).await?;
        }
        for peer in &self.config.peers {
            let org = store.org_by_name(&peer.org).await?.id;
            for r in store.undelivered_referrals_to(org, 200).await? {
                let kind = match peer.deliver {
                    Deliver::Referral => "referral",
                    Deliver::Package => "package",
                };
                let key = format!("{}/{kind}/{}", self.instance(), r.referral.id);
                if store
                    .enqueue_delivery(&peer.name, kind, &key, Some(r.referral.id), None)
                    .await?
                    .is_some()
                {
                    pass.queued += 1;
                }
            }
        }
        let own = self.config.org.clone();
        for ack in store.unsent_package_acks(200).await? {
            let package = store.package(ack.package_id).await?;
            let mut custody = Vec::new();
            for uid in report_uids(&package.manifest) {
                let hop = self.hop(
                    format!("acknowledged:{}", ack.history_id),
                    "acknowledged",
                    &own,
                    Some(&ack.peer),
                    ack.at,
                    format!("package {} acknowledged by {}", ack.package_uid, ack.actor),
                );
                store.add_custody_hops(&uid, &[hop]).await?;
                custody.push(ReportCustody {
                    hops: store.custody(&uid).await?,
                    report_uid: uid,
                });
            }
            let key = format!("{}/ack/{}", self.instance(), ack.history_id);
            let payload = AckPayload {
                package_uid: ack.package_uid.clone(),
                acknowledged_by: own.clone(),
                custody,
            };
            let body = self.body(&ack.peer, "ack", &key, &payload)?;
            if store
                .enqueue_delivery(&ack.peer, "ack", &key, Some(ack.history_id), Some(&body))
                .await?
                .is_some()
            {
                pass.queued += 1;
            }
        }
        for o in store.unsent_package_outcomes(200).await? {
            let hop = self.hop(
                format!("outcome:{}", o.outcome_id),
                "outcome",
                &own,
                Some(&o.peer),
                o.reported_at,
                format!("{} (package {})", o.outcome, o.package_uid),
            );
            store.add_custody_hops(&o.report_uid, &[hop]).await?;
            let key = format!("{}/outcome/{}", self.instance(), o.outcome_id);
            let payload = OutcomePayload {
                package_uid: Some(o.package_uid.clone()),
                outcomes: vec![OutcomeItem {
                    report_uid: o.report_uid.clone(),
                    outcome: o.outcome.clone(),
                    note: o.note.clone(),
                }],
                reported_by: own.clone(),
                custody: vec![ReportCustody {
                    hops: store.custody(&o.report_uid).await?,
                    report_uid: o.report_uid.clone(),
                }],
            };
            let body = self.body(&o.peer, "outcome", &key, &payload)?;
            if store
                .enqueue_delivery(&o.peer, "outcome", &key, Some(o.outcome_id), Some(&body))
                .await?
                .is_some()
            {
                pass.queued += 1;
            }
        }
        Ok(pass)
    }

    /// The envelope JSON of a payload.
    pub(crate) fn body<T: Serialize>(
        &self,
        to: &str,
        kind: &str,
        key: &str,
        payload: &T,
    ) -> Result<String, FederationError> {
        let payload = serde_json::to_value(payload)
            .map_err(|e| FederationError::Invalid(format!("payload: {e}")))?;
        serde_json::to_string(&self.envelope(to, kind, key, payload))
            .map_err(|e| FederationError::Invalid(format!("envelope: {e}")))
    }

    /// Passes received referrals held by this instance's organisation to the next organisation
    /// on their route (the referral to it is then delivered by [`Federation::scan`]).
    async fn forward_received(&self, store: &Store) -> Result<u64, FederationError> {
        let own = self.own_org(store).await?;
        let mut forwarded = 0;
        for PeerReferral {
            referral,
            report_uid,
        } in store.received_referrals_held_by(own, 200).await?
        {
            let mut onward: Vec<(String, Vec<safeguard_domain::routing::RoutedCountry>)> =
                Vec::new();
            for route in &referral.route {
                if route.path.first() != Some(&self.config.org) || route.path.len() < 2 {
                    continue;
                }
                let rest = safeguard_domain::routing::RoutedCountry {
                    path: route.path[1..].to_vec(),
                    ..route.clone()
                };
                let next = rest.path[0].clone();
                match onward.iter_mut().find(|(n, _)| *n == next) {
                    Some((_, routes)) => routes.push(rest),
                    None => onward.push((next, vec![rest])),
                }
            }
            if onward.is_empty() {
                continue;
            }
            for (next, routes) in onward {
                let next_org = match store.org_by_name(&next).await {
                    Ok(o) => o.id,
                    Err(e) => {
                        tracing::warn!(referral = referral.id, next = %next, error = %e, "cannot forward: unknown organisation");
                        continue;
                    }
                };
                let reason = format!("forwarded by {}", self.config.org);
                let all = store
                    .forward_referral(referral.id, next_org, &routes, &reason)
                    .await?;
                let new_id = all
                    .iter()
                    .find(|r| r.to_org == next_org)
                    .map(|r| r.id)
                    .unwrap_or(referral.id);
                let hop = self.hop(
                    format!("forwarded:{new_id}"),
                    "forwarded",
                    &self.config.org,
                    Some(&next),
                    now_micros(),
                    reason,
                );
                store.add_custody_hops(&report_uid, &[hop]).await?;
                forwarded += 1;
            }
        }
        Ok(forwarded)
    }

    /// Claims due delivery jobs and sends them, until none is left.
    pub async fn deliver_due(
        &self,
        store: &Store,
        worker: &str,
    ) -> Result<DeliveryPass, FederationError> {
        let mut pass = DeliveryPass::default();
        loop {
            let jobs = store
                .claim_jobs(JOB_FEDERATION_DELIVER, worker, 20, DELIVERY_LEASE)
                .await?;
            if jobs.is_empty() {
                return Ok(pass);
            }
            for job in jobs {
                match self.deliver(store, &job).await {
                    Ok(()) => {
                        store.complete_job(job.id).await?;
                        pass.delivered += 1;
                    }
                    Err(e) => {
                        let message = e.to_string();
                        let _ = store
                            .record_delivery_attempt(job.subject_id, Err(&message))
                            .await;
                        let parked = store.retry_job(&job, &message, &DELIVERY_RETRY).await?;
                        tracing::info!(job = job.id, outbox = job.subject_id, parked, error = %message, "delivery failed; will retry");
                        pass.failed += 1;
                    }
                }
            }
        }
    }

    /// Sends one outbox item (building its envelope on the first try).
    async fn deliver(&self, store: &Store, job: &Job) -> Result<(), FederationError> {
        let item = store.outbox_item(job.subject_id).await?;
        if item.delivered_at.is_some() {
            return Ok(());
        }
        let peer = self
            .config
            .peer(&item.peer)
            .ok_or_else(|| FederationError::UnknownPeer(item.peer.clone()))?;
        let body = match &item.body {
            Some(body) => body.clone(),
            None => {
                let body = self.build(store, &item).await?;
                store.set_outbox_body(item.id, &body).await?
            }
        };
        let answer = self.post(peer, &body).await?;
        store.record_delivery_attempt(item.id, Ok(&answer)).await?;
        if matches!(item.kind.as_str(), "referral" | "package") {
            if let Some(referral_id) = item.subject_id {
                store.set_referral_status(referral_id, "delivered").await?;
                let referral = store.referral(referral_id).await?;
                let report = store.report(referral.report_id).await?;
                let hop = self.hop(
                    format!("delivered:{}", item.delivery_key),
                    "delivered",
                    &self.config.org,
                    Some(&peer.name),
                    now_micros(),
                    format!("{} acknowledged by {}", item.kind, peer.name),
                );
                store
                    .add_custody_hops(&report.report.uid.to_string(), &[hop])
                    .await?;
            }
        }
        Ok(())
    }

    /// Builds the envelope of a referral or package delivery.
    async fn build(&self, store: &Store, item: &OutboxItem) -> Result<String, FederationError> {
        let referral_id = item
            .subject_id
            .ok_or_else(|| FederationError::Invalid(format!("{} without a subject", item.kind)))?;
        let referral = store.referral(referral_id).await?;
        let stored = store.report(referral.report_id).await?;
        let uid = stored.report.uid.to_string();
        let holder = store.org(stored.holder_org).await?.name.to_string();
        let from = store.org(referral.from_org).await?.name.to_string();
        let to = store.org(referral.to_org).await?.name.to_string();
        let mut hops = vec![
            self.hop(
                "received".into(),
                "received",
                &holder,
                None,
                micros(stored.report.received_at),
                format!("source={}", stored.report.source),
            ),
            self.hop(
                format!("referred:{}", referral.id),
                "referred",
                &from,
                Some(&to),
                micros(referral.created_at),
                referral.reason.clone(),
            ),
        ];
        if store
            .origin("report", referral.report_id.0)
            .await?
            .is_some()
        {
            // Received from a peer: its "received" is the peer's, this instance's is "arrived".
            hops.remove(0);
        }
        match item.kind.as_str() {
            "referral" => {
                hops.push(self.hop(
                    format!("sent:{}", item.delivery_key),
                    "sent",
                    &from,
                    Some(&item.peer),
                    now_micros(),
                    "referral".into(),
                ));
                store.add_custody_hops(&uid, &hops).await?;
                let payload = ReferralPayload {
                    report_uid: uid.clone(),
                    report: stored.report.content.clone(),
                    reason: referral.reason.clone(),
                    due_at: referral.due_at,
                    route: referral.route.clone(),
                    custody: store.custody(&uid).await?,
                };
                self.body(&item.peer, "referral", &item.delivery_key, &payload)
            }
            "package" => {
                let own = self.own_org(store).await?;
                let built = build_package_of(
                    store,
                    own,
                    referral.to_org,
                    &[ReportId(referral.report_id.0)],
                    &NoOperators,
                    &self.key,
                    "federation",
                )
                .await?;
                for next in [PackageState::Approved, PackageState::Sent] {
                    store
                        .set_package_state(built.id, next, "federation")
                        .await?;
                }
                let uid_pkg = built.document.package_uid.clone();
                hops.push(self.hop(
                    format!("packaged:{uid_pkg}"),
                    "packaged",
                    &self.config.org,
                    Some(&to),
                    now_micros(),
                    format!("package {uid_pkg}"),
                ));
                hops.push(self.hop(
                    format!("sent:{}", item.delivery_key),
                    "sent",
                    &self.config.org,
                    Some(&item.peer),
                    now_micros(),
                    format!("package {uid_pkg}"),
                ));
                store.add_custody_hops(&uid, &hops).await?;
                let payload = PackagePayload {
                    package_uid: uid_pkg,
                    zip: b64(&built.zip),
                    signature: built.signature.trim().to_owned(),
                    custody: vec![ReportCustody {
                        hops: store.custody(&uid).await?,
                        report_uid: uid,
                    }],
                };
                self.body(&item.peer, "package", &item.delivery_key, &payload)
            }
            other => Err(FederationError::Invalid(format!(
                "outbox item {} of kind {other} has no envelope",
                item.id
            ))),
        }
    }
}

fn micros(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

/// The uids of the reports a package document carries.
pub(crate) fn report_uids(manifest: &serde_json::Value) -> Vec<String> {
    manifest
        .get("reports")
        .and_then(|r| r.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("uid")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The federation's background work until `shutdown`: scan, then deliver, every `poll_ms`.
pub async fn run_worker(
    federation: Federation,
    store: Store,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let worker = safeguard_engine::routing::node_worker_id("federation");
    tracing::info!(worker = %worker, instance = %federation.instance(), "federation worker started");
    let interval = std::time::Duration::from_millis(federation.config.poll_ms.max(50));
    tokio::pin!(shutdown);
    loop {
        if let Err(e) = federation.scan(&store).await {
            tracing::warn!(error = %e, "federation scan failed");
        }
        if let Err(e) = federation.deliver_due(&store, &worker).await {
            tracing::warn!(error = %e, "federation delivery pass failed");
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(interval) => {},
        }
    }
}
