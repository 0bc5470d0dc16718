//! Private deconfliction across instances: each side turns its identifiers (e-mail addresses,
//! accounts, IP addresses at an hour, file SHA-256 digests) into keyed hashes, HMAC-SHA256 under
//! the key the federation agreed on, and only those hashes travel. The receiver answers with the
//! hashes it holds too; both sides then record an alert naming their own value and reports.
//!
//! What it protects: an outsider without the key learns nothing; a peer learns which of its own
//! identifiers the other holds, and for the others only their number. What it does not: a peer
//! holding the key can test guesses (hash a candidate value and look it up), which matters for
//! small spaces such as IPv4 addresses at an hour; a private set intersection protocol would close
//! that (see docs/deployment.md).

use std::collections::{BTreeMap, BTreeSet};

use hmac::{Hmac, Mac};
use safeguard_store::Store;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{Answer, Federation, FederationError};

/// One keyed identifier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyedIdentifier {
    pub kind: String,
    /// HMAC-SHA256(federation key, kind NUL value), hex.
    pub key: String,
}

/// The request and the answer's detail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeconflictPayload {
    pub keys: Vec<KeyedIdentifier>,
}

/// What one exchange found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedIdentifier {
    pub kind: String,
    pub key: String,
    /// This instance's own value.
    pub value: String,
    pub reports: Vec<i64>,
}

/// The keyed hash of one normalised identifier.
pub fn keyed_hash(key: &[u8; 32], kind: &str, value: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(kind.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// This instance's identifiers by keyed hash: (kind, value, reports).
pub async fn local_keys(
    store: &Store,
    key: &[u8; 32],
) -> Result<BTreeMap<String, (String, String, BTreeSet<i64>)>, FederationError> {
    let mut out: BTreeMap<String, (String, String, BTreeSet<i64>)> = BTreeMap::new();
    for id in store.identifier_keys().await? {
        let hash = keyed_hash(key, &id.kind, &id.value);
        out.entry(hash)
            .or_insert_with(|| (id.kind.clone(), id.value.clone(), BTreeSet::new()))
            .2
            .insert(id.report_id.0);
    }
    Ok(out)
}

async fn record(
    store: &Store,
    peer: &str,
    local: &BTreeMap<String, (String, String, BTreeSet<i64>)>,
    keys: impl Iterator<Item = String>,
) -> Result<Vec<SharedIdentifier>, FederationError> {
    let mut shared = Vec::new();
    for key in keys {
        if let Some((kind, value, reports)) = local.get(&key) {
            let reports: Vec<i64> = reports.iter().copied().collect();
            store
                .save_federation_alert(peer, kind, &key, value, &reports)
                .await?;
            shared.push(SharedIdentifier {
                kind: kind.clone(),
                key,
                value: value.clone(),
                reports,
            });
        }
    }
    Ok(shared)
}

impl Federation {
    fn deconfliction_key(&self) -> Result<[u8; 32], FederationError> {
        self.config.federation_key().ok_or_else(|| {
            FederationError::Config("no federation_key in the federation file".into())
        })
    }

    /// Exchanges keyed identifiers with `peer` and records an alert for each shared one, on
    /// both sides. Returns this instance's view of what is shared.
    pub async fn deconflict_with(
        &self,
        store: &Store,
        peer: &str,
    ) -> Result<Vec<SharedIdentifier>, FederationError> {
        let key = self.deconfliction_key()?;
        let peer_config = self
            .config
            .peer(peer)
            .ok_or_else(|| FederationError::UnknownPeer(peer.to_owned()))?;
        let local = local_keys(store, &key).await?;
        let payload = DeconflictPayload {
            keys: local
                .iter()
                .map(|(hash, (kind, _, _))| KeyedIdentifier {
                    kind: kind.clone(),
                    key: hash.clone(),
                })
                .collect(),
        };
        let delivery = format!("{}/deconflict/{}", self.instance(), uuid::Uuid::now_v7());
        let body = self.body(peer, "deconflict", &delivery, &payload)?;
        let text = self.post(peer_config, &body).await?;
        let answer: Answer = serde_json::from_str(&text)
            .map_err(|e| FederationError::Invalid(format!("answer: {e}")))?;
        let matches: DeconflictPayload = serde_json::from_value(answer.detail)
            .map_err(|e| FederationError::Invalid(format!("answer: {e}")))?;
        record(store, peer, &local, matches.keys.into_iter().map(|k| k.key)).await
    }

    /// The receiving side of [`Federation::deconflict_with`]: the keys both hold.
    pub(crate) async fn receive_deconflict(
        &self,
        store: &Store,
        peer: &crate::PeerConfig,
        envelope: &crate::Envelope,
    ) -> Result<serde_json::Value, FederationError> {
        let key = self.deconfliction_key()?;
        let p: DeconflictPayload = serde_json::from_value(envelope.payload.clone())
            .map_err(|e| FederationError::Invalid(format!("deconflict payload: {e}")))?;
        if p.keys.len() > 5_000_000 {
            return Err(FederationError::Invalid("too many keys".into()));
        }
        let local = local_keys(store, &key).await?;
        let shared = record(
            store,
            &peer.name,
            &local,
            p.keys
                .iter()
                .filter(|k| k.key.len() == 64)
                .map(|k| k.key.clone()),
        )
        .await?;
        let answer = DeconflictPayload {
            keys: shared
                .into_iter()
                .map(|s| KeyedIdentifier {
                    kind: s.kind,
                    key: s.key,
                })
                .collect(),
        };
        serde_json::to_value(answer).map_err(|e| FederationError::Invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_hashes_depend_on_key_kind_and_value() {
        let k1 = [1u8; 32];
        let k2 = [2u8; 32];
        let a = keyed_hash(&k1, "email", "a@example.org");
        assert_eq!(a.len(), 64);
        assert_eq!(a, keyed_hash(&k1, "email", "a@example.org"));
        assert_ne!(a, keyed_hash(&k2, "email", "a@example.org"));
        assert_ne!(a, keyed_hash(&k1, "account", "a@example.org"));
        assert_ne!(a, keyed_hash(&k1, "email", "b@example.org"));
        // The kind and value are separated: ("ab", "c") is not ("a", "bc").
        assert_ne!(keyed_hash(&k1, "ab", "c"), keyed_hash(&k1, "a", "bc"));
    }
}
