//! Hash sets shared with a peer: the owner exports its set as VICS JSON into a signed `hash_set`
//! envelope (through the outbox, so a peer that is down only delays it); the peer imports it as
//! a set owned by the organisation standing for the sender, shared with its own organisations
//! and used by matching from then on (the match index follows new entries by itself).
//!
//! The delivery key carries the digest of the exported entries, so sharing an unchanged set again
//! sends nothing, and sharing it after entries were added sends the whole set again, which the
//! receiver's import adds as updates of the entries it already has (nothing twice).

use safeguard_domain::known::{HashSetId, HashSetPurpose};
use safeguard_engine::known::{
    export_known, import_known, ExportFormat, ExportSelection, ImportRequest, Operator,
};
use safeguard_formats::vics::VicsVersion;
use safeguard_store::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::PeerConfig;
use crate::{b64, unb64, Envelope, Federation, FederationError, MAX_ENVELOPE};

/// A hash set on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashSetPayload {
    /// The set's name at the sender.
    pub name: String,
    pub purpose: HashSetPurpose,
    pub source: Option<String>,
    pub licence: Option<String>,
    /// Entries in the VICS document.
    pub entries: u64,
    /// The set as VICS 2.0 JSON, base64.
    pub vics: String,
}

/// What sharing a set did.
#[derive(Debug, Clone, Serialize)]
pub struct SharedHashSet {
    pub peer: String,
    pub hash_set: String,
    pub entries: u64,
    pub delivery_key: String,
    /// False when this very content was already queued for that peer.
    pub queued: bool,
}

/// The name a received set gets: the sender's name, marked with the sender.
pub fn received_set_name(peer: &str, name: &str) -> String {
    let mut out = format!("{name} (from {peer})");
    if out.chars().count() > 200 {
        out = out.chars().take(200).collect();
    }
    out
}

impl Federation {
    /// Queues this instance's hash set `set` for `peer`. Only a set owned by the instance's
    /// organisation and marked shared (its owner agreed that others may match against it) can
    /// go; a set whose envelope would exceed [`MAX_ENVELOPE`] is refused.
    pub async fn share_hash_set(
        &self,
        store: &Store,
        peer: &str,
        set: HashSetId,
    ) -> Result<SharedHashSet, FederationError> {
        let peer = self
            .config
            .peer(peer)
            .ok_or_else(|| FederationError::UnknownPeer(peer.to_owned()))?;
        let own = self.own_org(store).await?;
        let stored = store.hash_set(set).await?;
        if stored.owner_org != own {
            return Err(FederationError::Invalid(format!(
                "hash set {:?} belongs to another organisation: only {:?}'s own sets can be shared",
                stored.name, self.config.org
            )));
        }
        if !stored.shared {
            return Err(FederationError::Invalid(format!(
                "hash set {:?} is not marked shared: its owner has not agreed that others match against it",
                stored.name
            )));
        }
        let (vics, report) = export_known(
            store,
            ExportSelection {
                hash_set: Some(set),
                series: None,
            },
            ExportFormat::Vics(VicsVersion::V2_0),
            Vec::new(),
        )
        .await?;
        let digest = hex::encode(&Sha256::digest(&vics)[..12]);
        let key = format!("{}/hash_set/{}-{digest}", self.instance(), set.0);
        let payload = HashSetPayload {
            name: stored.name.clone(),
            purpose: stored.purpose,
            source: stored.source.clone(),
            licence: stored.licence.clone(),
            entries: report.written,
            vics: b64(&vics),
        };
        let body = self.body(&peer.name, "hash_set", &key, &payload)?;
        if body.len() > MAX_ENVELOPE {
            return Err(FederationError::Invalid(format!(
                "hash set {:?} is {} bytes as an envelope, over the {MAX_ENVELOPE}-byte limit: share it by series",
                stored.name,
                body.len()
            )));
        }
        let queued = store
            .enqueue_delivery(&peer.name, "hash_set", &key, Some(set.0), Some(&body))
            .await?
            .is_some();
        Ok(SharedHashSet {
            peer: peer.name.clone(),
            hash_set: stored.name,
            entries: report.written,
            delivery_key: key,
            queued,
        })
    }

    /// Imports a received hash set as a shared set owned by the organisation standing for the
    /// peer.
    pub(crate) async fn receive_hash_set(
        &self,
        store: &Store,
        peer: &PeerConfig,
        peer_org: safeguard_domain::account::OrgId,
        envelope: &Envelope,
    ) -> Result<serde_json::Value, FederationError> {
        let payload: HashSetPayload = Self::payload(envelope)?;
        let vics = unb64(&payload.vics)?;
        let set_name = received_set_name(&peer.name, &payload.name);
        let request = ImportRequest {
            set_name: set_name.clone(),
            format: Some(safeguard_formats::known_stream::KnownFormat::Vics),
            file_name: Some(format!("federation:{}", envelope.delivery_key)),
            purpose: payload.purpose,
            shared: true,
            source: Some(match &payload.source {
                Some(s) => format!("federation peer {}: {s}", peer.name),
                None => format!("federation peer {}", peer.name),
            }),
            licence: payload.licence.clone(),
            ..ImportRequest::new(set_name.clone())
        };
        let operator = Operator {
            user: None,
            name: format!("federation:{}", peer.name),
            org: peer_org,
        };
        let report = import_known(
            store,
            None,
            &operator,
            &request,
            std::io::Cursor::new(vics),
            |_| {},
        )
        .await?;
        Ok(serde_json::json!({
            "hash_set": set_name,
            "records": report.counts.records,
            "inserted": report.counts.inserted,
            "updated": report.counts.updated,
            "errors": report.counts.errors,
        }))
    }
}
