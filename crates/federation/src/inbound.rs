//! What this instance receives: envelopes checked (peer known, signature valid against its
//! configured key, credentials of the organisation standing for it, addressed to this
//! instance), recognised when re-sent, then applied.

use std::io::Read as _;

use safeguard_domain::account::{OrgId, Principal};
use safeguard_domain::report::{IntakeState, ReportId, ReportSource};
use safeguard_engine::packages::{verify_file, PackageDocument};
use safeguard_store::{NewReferral, Outcome, PackageState, Store, Submission};
use sha2::Digest as _;

use crate::{
    now_micros, unb64, AckPayload, Answer, Envelope, Federation, FederationError, OutcomeItem,
    OutcomePayload, PackagePayload, PeerConfig, ReferralPayload, ReportCustody, SCHEMA,
};

/// The result of receiving an envelope.
#[derive(Debug, Clone)]
pub struct Received {
    pub answer: Answer,
    /// False for a re-send recognised by its delivery key.
    pub first_time: bool,
}

impl Federation {
    /// Checks and applies an envelope POSTed by a peer. `caller` is the principal of the token
    /// used, `peer_header` and `signature` the request's headers, `body` its exact bytes.
    pub async fn receive(
        &self,
        store: &Store,
        caller: &Principal,
        peer_header: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<Received, FederationError> {
        let peer = self
            .config
            .peer(peer_header.trim())
            .ok_or_else(|| FederationError::UnknownPeer(peer_header.trim().to_owned()))?;
        let key = self.config.peer_key(peer)?;
        verify_file(body, signature, &key)
            .map_err(|_| FederationError::BadSignature(peer.name.clone()))?;
        let peer_org = store.org_by_name(&peer.org).await?.id;
        if caller.org != peer_org {
            return Err(FederationError::WrongCredentials(peer.name.clone()));
        }
        let envelope: Envelope = serde_json::from_slice(body)
            .map_err(|e| FederationError::Invalid(format!("envelope: {e}")))?;
        if envelope.schema != SCHEMA {
            return Err(FederationError::Invalid(format!(
                "schema {:?}, expected {SCHEMA}",
                envelope.schema
            )));
        }
        if envelope.from != peer.name {
            return Err(FederationError::Invalid(format!(
                "envelope from {:?} sent as peer {:?}",
                envelope.from, peer.name
            )));
        }
        if envelope.to != self.config.instance {
            return Err(FederationError::Invalid(format!(
                "envelope addressed to {:?}, this is {:?}",
                envelope.to, self.config.instance
            )));
        }
        let prefix = format!("{}/", peer.name);
        if !envelope.delivery_key.starts_with(&prefix) || envelope.delivery_key.len() > 300 {
            return Err(FederationError::Invalid(format!(
                "delivery key {:?} must start with {prefix:?}",
                envelope.delivery_key
            )));
        }
        if envelope.kind != "deconflict" {
            if let Some(first) = store.inbound_answer(&envelope.delivery_key).await? {
                let detail = serde_json::from_str(&first).unwrap_or(serde_json::Value::Null);
                return Ok(Received {
                    answer: Answer {
                        status: "duplicate".into(),
                        delivery_key: envelope.delivery_key,
                        detail,
                    },
                    first_time: false,
                });
            }
        }
        let detail = match envelope.kind.as_str() {
            "referral" => {
                self.receive_referral(store, peer, peer_org, &envelope)
                    .await?
            }
            "package" => {
                self.receive_package(store, peer, peer_org, &envelope)
                    .await?
            }
            "ack" => self.receive_ack(store, peer, peer_org, &envelope).await?,
            "outcome" => self.receive_outcome(store, peer, &envelope).await?,
            "deconflict" => self.receive_deconflict(store, peer, &envelope).await?,
            "hash_set" => {
                self.receive_hash_set(store, peer, peer_org, &envelope)
                    .await?
            }
            other => return Err(FederationError::Invalid(format!("unknown kind {other:?}"))),
        };
        if envelope.kind != "deconflict" {
            store
                .record_inbound(
                    &envelope.delivery_key,
                    &peer.name,
                    &envelope.kind,
                    &detail.to_string(),
                )
                .await?;
        }
        Ok(Received {
            answer: Answer {
                status: "accepted".into(),
                delivery_key: envelope.delivery_key,
                detail,
            },
            first_time: true,
        })
    }

    pub(crate) fn payload<T: serde::de::DeserializeOwned>(
        envelope: &Envelope,
    ) -> Result<T, FederationError> {
        serde_json::from_value(envelope.payload.clone())
            .map_err(|e| FederationError::Invalid(format!("{} payload: {e}", envelope.kind)))
    }

    async fn add_received_custody(
        &self,
        store: &Store,
        custody: &[ReportCustody],
        own_uids: &[String],
    ) -> Result<(), FederationError> {
        for c in custody {
            if !own_uids.contains(&c.report_uid) {
                continue;
            }
            // A peer may only speak for itself and the hops it relays; hops claiming to be this
            // instance's own are dropped.
            let hops: Vec<_> = c
                .hops
                .iter()
                .filter(|h| h.instance != self.config.instance)
                .take(1_000)
                .cloned()
                .collect();
            store.add_custody_hops(&c.report_uid, &hops).await?;
        }
        Ok(())
    }

    async fn store_report(
        &self,
        store: &Store,
        peer: &PeerConfig,
        peer_org: OrgId,
        own: OrgId,
        uid: &str,
        report: &safeguard_domain::report::NewReport,
    ) -> Result<(ReportId, bool), FederationError> {
        uuid::Uuid::parse_str(uid)
            .map_err(|_| FederationError::Invalid(format!("report uid {uid:?}")))?;
        let actor = format!("peer:{}", peer.name);
        let sub = Submission {
            source: ReportSource::Federation,
            reporter_org: peer_org,
            holder_org: own,
            submitted_by: None,
            actor: &actor,
            state: IntakeState::Finished,
            report,
            original: None,
            idempotency: None,
        };
        Ok(store.insert_federated_report(uid, &sub, &peer.name).await?)
    }

    async fn receive_referral(
        &self,
        store: &Store,
        peer: &PeerConfig,
        peer_org: OrgId,
        envelope: &Envelope,
    ) -> Result<serde_json::Value, FederationError> {
        let p: ReferralPayload = Self::payload(envelope)?;
        let own = self.own_org(store).await?;
        let (id, _) = self
            .store_report(store, peer, peer_org, own, &p.report_uid, &p.report)
            .await?;
        store
            .insert_received_referral(
                id,
                &NewReferral {
                    from_org: peer_org,
                    to_org: own,
                    via_org: None,
                    reason: p.reason.chars().take(500).collect(),
                    due_at: p.due_at,
                    route: p.route.clone(),
                },
            )
            .await?;
        self.add_received_custody(
            store,
            &[ReportCustody {
                report_uid: p.report_uid.clone(),
                hops: p.custody.clone(),
            }],
            std::slice::from_ref(&p.report_uid),
        )
        .await?;
        let hop = self.hop(
            format!("arrived:{}", envelope.delivery_key),
            "arrived",
            &self.config.org,
            Some(&peer.name),
            now_micros(),
            "referral".into(),
        );
        store.add_custody_hops(&p.report_uid, &[hop]).await?;
        Ok(serde_json::json!({ "report_id": id.0 }))
    }

    async fn receive_package(
        &self,
        store: &Store,
        peer: &PeerConfig,
        peer_org: OrgId,
        envelope: &Envelope,
    ) -> Result<serde_json::Value, FederationError> {
        let p: PackagePayload = Self::payload(envelope)?;
        let zip = unb64(&p.zip)?;
        let key = self.config.peer_key(peer)?;
        verify_file(&zip, &p.signature, &key)?;
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&zip))
            .map_err(|e| FederationError::Invalid(format!("package zip: {e}")))?;
        let mut text = String::new();
        archive
            .by_name("package.json")
            .map_err(|e| FederationError::Invalid(format!("package.json: {e}")))?
            .take(64 * 1024 * 1024)
            .read_to_string(&mut text)
            .map_err(|e| FederationError::Invalid(format!("package.json: {e}")))?;
        let mut document: PackageDocument = serde_json::from_str(&text)
            .map_err(|e| FederationError::Invalid(format!("package.json: {e}")))?;
        if document.package_uid != p.package_uid {
            return Err(FederationError::Invalid(
                "the package uid differs from the signed document's".into(),
            ));
        }
        let own = self.own_org(store).await?;
        let mut uids = Vec::new();
        // The recipient stores each report under its global uid; the document's ids become the
        // recipient's own so that its outcomes refer to them.
        let mut ids = std::collections::HashMap::new();
        for r in &mut document.reports {
            let (id, _) = self
                .store_report(store, peer, peer_org, own, &r.uid, &r.content)
                .await?;
            ids.insert(r.id, id.0);
            r.id = id.0;
            uids.push(r.uid.clone());
        }
        for r in &mut document.reports {
            r.cluster.reports_in_package = r
                .cluster
                .reports_in_package
                .iter()
                .filter_map(|old| ids.get(old).copied())
                .collect();
            for l in &mut r.cluster.links {
                l.report_a = ids.get(&l.report_a).copied().unwrap_or(0);
                l.report_b = ids.get(&l.report_b).copied().unwrap_or(0);
            }
        }
        let manifest = serde_json::to_value(&document)
            .map_err(|e| FederationError::Invalid(format!("package document: {e}")))?;
        let sha: [u8; 32] = sha2::Sha256::digest(&zip).into();
        let (package_id, _) = store
            .insert_received_package(
                &document.package_uid,
                peer_org,
                own,
                &manifest,
                &sha,
                document.isp_cost_total_cents,
                &peer.name,
            )
            .await?;
        self.add_received_custody(store, &p.custody, &uids).await?;
        for uid in &uids {
            let hop = self.hop(
                format!("arrived:{}", envelope.delivery_key),
                "arrived",
                &self.config.org,
                Some(&peer.name),
                now_micros(),
                format!("package {} in the inbox", document.package_uid),
            );
            store.add_custody_hops(uid, &[hop]).await?;
        }
        Ok(serde_json::json!({ "package_id": package_id, "reports": uids.len() }))
    }

    /// A package this instance sent to `peer_org`, by uid.
    async fn sent_package(
        &self,
        store: &Store,
        peer_org: OrgId,
        uid: &str,
    ) -> Result<Option<safeguard_store::StoredPackage>, FederationError> {
        let Some(id) = store.package_id_by_uid(uid).await? else {
            return Ok(None);
        };
        let package = store.package(id).await?;
        Ok((package.to_org == peer_org).then_some(package))
    }

    async fn receive_ack(
        &self,
        store: &Store,
        peer: &PeerConfig,
        peer_org: OrgId,
        envelope: &Envelope,
    ) -> Result<serde_json::Value, FederationError> {
        let p: AckPayload = Self::payload(envelope)?;
        let package = self
            .sent_package(store, peer_org, &p.package_uid)
            .await?
            .ok_or_else(|| {
                FederationError::Invalid(format!(
                    "no package {} was sent to {}",
                    p.package_uid, peer.name
                ))
            })?;
        if package.state.may_become(PackageState::Acknowledged) {
            store
                .set_package_state(
                    package.id,
                    PackageState::Acknowledged,
                    &format!("peer:{}", peer.name),
                )
                .await?;
        }
        let uids = crate::outbound::report_uids(&package.manifest);
        self.add_received_custody(store, &p.custody, &uids).await?;
        Ok(serde_json::json!({ "package_id": package.id }))
    }

    async fn receive_outcome(
        &self,
        store: &Store,
        peer: &PeerConfig,
        envelope: &Envelope,
    ) -> Result<serde_json::Value, FederationError> {
        let p: OutcomePayload = Self::payload(envelope)?;
        let peer_org = store.org_by_name(&peer.org).await?.id;
        let package = match &p.package_uid {
            Some(uid) => self.sent_package(store, peer_org, uid).await?,
            None => None,
        };
        let carried = package
            .as_ref()
            .map(|pk| crate::outbound::report_uids(&pk.manifest));
        let mut recorded = 0;
        let mut for_package = Vec::new();
        let mut uids = Vec::new();
        for OutcomeItem {
            report_uid,
            outcome,
            note,
        } in &p.outcomes
        {
            let Some(report) = store.report_id_by_uid(report_uid).await? else {
                continue;
            };
            let parsed: Outcome =
                serde_json::from_value(serde_json::Value::String(outcome.clone()))
                    .map_err(|_| FederationError::Invalid(format!("outcome {outcome:?}")))?;
            let note = note
                .as_ref()
                .map(|n| n.chars().take(2_000).collect::<String>());
            match &carried {
                Some(c) if c.contains(report_uid) => {
                    for_package.push((report, parsed, note.clone()));
                }
                _ => {
                    if !store.can_see_report(peer_org, report).await? {
                        continue;
                    }
                    store
                        .add_federated_outcome(
                            report,
                            &peer.name,
                            parsed.code(),
                            note.as_deref(),
                            &p.reported_by,
                            &envelope.delivery_key,
                        )
                        .await?;
                }
            }
            uids.push(report_uid.clone());
            recorded += 1;
        }
        if let Some(package) = &package {
            if !for_package.is_empty() {
                store.add_outcomes(package.id, &for_package).await?;
                if package.state.may_become(PackageState::OutcomeReported) {
                    store
                        .set_package_state(
                            package.id,
                            PackageState::OutcomeReported,
                            &format!("peer:{}", peer.name),
                        )
                        .await?;
                }
            }
        }
        self.add_received_custody(store, &p.custody, &uids).await?;
        // Pass the outcomes back towards where each report came from.
        for item in &p.outcomes {
            let Some(report) = store.report_id_by_uid(&item.report_uid).await? else {
                continue;
            };
            let Some((origin, _)) = store.origin("report", report.0).await? else {
                continue;
            };
            if origin == peer.name || self.config.peer(&origin).is_none() {
                continue;
            }
            let key = format!(
                "{}/outcome-relay/{}/{}",
                self.instance(),
                envelope.delivery_key,
                item.report_uid
            );
            let payload = OutcomePayload {
                package_uid: None,
                outcomes: vec![item.clone()],
                reported_by: p.reported_by.clone(),
                custody: vec![ReportCustody {
                    hops: store.custody(&item.report_uid).await?,
                    report_uid: item.report_uid.clone(),
                }],
            };
            let body = self.body(&origin, "outcome", &key, &payload)?;
            store
                .enqueue_delivery(&origin, "outcome", &key, None, Some(&body))
                .await?;
        }
        Ok(serde_json::json!({ "recorded": recorded }))
    }
}
