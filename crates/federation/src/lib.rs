//! Federation between Safeguard instances: a hotline refers reports to a coordinator, which
//! forwards them to national agencies as intelligence packages; acknowledgements and outcomes
//! flow back, and every hop is recorded in the report's chain of custody. See
//! `docs/deployment.md`.
//!
//! Everything an instance sends goes through its outbox (`federation_outbox`), one row per
//! delivery with an idempotency key unique across the federation, driven by a
//! `federation.deliver` job on the durable job queue: a peer that is down only delays delivery
//! (retried with exponential backoff until acknowledged), and a re-send is recognised by the
//! receiver, which answers it with its first answer.
//!
//! On the wire a delivery is an [`Envelope`] (JSON) POSTed to the peer's
//! `/api/v1/federation/envelopes` with the sender's API token at the peer, its instance name in
//! `Safeguard-Peer` and an Ed25519 signature over the exact body bytes in `Safeguard-Signature`,
//! checked against the sender's public key in the receiver's federation file.

pub mod config;
pub mod deconflict;
mod inbound;
mod outbound;
pub mod sharing;

use std::sync::Arc;

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use safeguard_domain::account::OrgId;
use safeguard_store::{CustodyHop, Store, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use config::{Deliver, FederationConfig, PeerConfig};
pub use inbound::Received;
pub use outbound::{run_worker, DeliveryPass};

/// The schema every envelope carries.
pub const SCHEMA: &str = "safeguard.federation.v1";
/// Header naming the sending instance.
pub const PEER_HEADER: &str = "safeguard-peer";
/// Header carrying `ed25519 <base64 signature over the body>`.
pub const SIGNATURE_HEADER: &str = "safeguard-signature";
/// Largest envelope accepted (packages travel inside as base64).
pub const MAX_ENVELOPE: usize = 32 * 1024 * 1024;

/// What can go wrong in federation.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("federation configuration: {0}")]
    Config(String),
    /// The envelope names a peer this instance does not know.
    #[error("unknown peer {0:?}")]
    UnknownPeer(String),
    /// The signature does not verify against the peer's configured key.
    #[error("the envelope's signature does not verify against peer {0:?}'s key")]
    BadSignature(String),
    /// The caller's token does not belong to the organisation standing for the peer.
    #[error("the credentials used do not belong to peer {0:?}")]
    WrongCredentials(String),
    /// The envelope is malformed or breaks a rule.
    #[error("invalid envelope: {0}")]
    Invalid(String),
    /// The peer could not be reached or refused the delivery.
    #[error("delivery to {peer} failed: {message}")]
    Delivery { peer: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engine(#[from] safeguard_engine::EngineError),
    #[error(transparent)]
    Package(#[from] safeguard_engine::packages::PackageError),
}

/// One delivery on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub schema: String,
    /// Unique across the federation: `<sender instance>/<kind>/<local id>`.
    pub delivery_key: String,
    /// The sending instance.
    pub from: String,
    /// The receiving instance.
    pub to: String,
    /// referral, package, ack, outcome, deconflict, hash_set
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub payload: serde_json::Value,
}

/// A report's chain of custody as it travels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportCustody {
    pub report_uid: String,
    pub hops: Vec<CustodyHop>,
}

/// A referral and its report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReferralPayload {
    pub report_uid: String,
    pub report: safeguard_domain::report::NewReport,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_at: Option<OffsetDateTime>,
    pub route: Vec<safeguard_domain::routing::RoutedCountry>,
    pub custody: Vec<CustodyHop>,
}

/// A signed intelligence package.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackagePayload {
    pub package_uid: String,
    /// The package zip, base64.
    pub zip: String,
    /// Its detached signature (`ed25519 <base64>`), by the sender's key.
    pub signature: String,
    pub custody: Vec<ReportCustody>,
}

/// A recipient acknowledged a package.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AckPayload {
    pub package_uid: String,
    pub acknowledged_by: String,
    pub custody: Vec<ReportCustody>,
}

/// What came of a report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutcomeItem {
    pub report_uid: String,
    pub outcome: String,
    pub note: Option<String>,
}

/// Outcomes flowing back along the chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutcomePayload {
    /// The package the outcomes are for, when the receiver sent one.
    pub package_uid: Option<String>,
    pub outcomes: Vec<OutcomeItem>,
    pub reported_by: String,
    pub custody: Vec<ReportCustody>,
}

/// The receiver's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    /// `accepted`, or `duplicate` for a re-send (with the first answer's detail).
    pub status: String,
    pub delivery_key: String,
    pub detail: serde_json::Value,
}

/// A running federation: its file, this instance's signing key and an HTTP client.
#[derive(Debug, Clone)]
pub struct Federation {
    pub config: Arc<FederationConfig>,
    key: Arc<SigningKey>,
    http: reqwest::Client,
}

impl Federation {
    pub fn new(config: FederationConfig, key: SigningKey) -> Result<Self, FederationError> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| FederationError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            config: Arc::new(config),
            key: Arc::new(key),
            http,
        })
    }

    /// This instance's name.
    pub fn instance(&self) -> &str {
        &self.config.instance
    }

    /// Checks that every organisation the file names exists (at start-up).
    pub async fn check_organisations(&self, store: &Store) -> Result<(), FederationError> {
        self.own_org(store).await?;
        for p in &self.config.peers {
            store.org_by_name(&p.org).await.map_err(|_| {
                FederationError::Config(format!(
                    "peer {}: organisation {:?} does not exist (safeguard org add)",
                    p.name, p.org
                ))
            })?;
        }
        Ok(())
    }

    pub(crate) async fn own_org(&self, store: &Store) -> Result<OrgId, FederationError> {
        Ok(store
            .org_by_name(&self.config.org)
            .await
            .map_err(|_| {
                FederationError::Config(format!(
                    "organisation {:?} (the federation file's `org`) does not exist",
                    self.config.org
                ))
            })?
            .id)
    }

    /// Signs an envelope's bytes.
    pub fn sign(&self, body: &[u8]) -> String {
        safeguard_engine::packages::sign_file(&self.key, body)
            .trim()
            .to_owned()
    }

    /// A new envelope from this instance.
    pub(crate) fn envelope(
        &self,
        to: &str,
        kind: &str,
        delivery_key: &str,
        payload: serde_json::Value,
    ) -> Envelope {
        Envelope {
            schema: SCHEMA.into(),
            delivery_key: delivery_key.to_owned(),
            from: self.config.instance.clone(),
            to: to.to_owned(),
            kind: kind.to_owned(),
            created_at: OffsetDateTime::now_utc(),
            payload,
        }
    }

    /// POSTs envelope bytes to a peer; the answer's text when the peer accepted it (2xx).
    pub async fn post(&self, peer: &PeerConfig, body: &str) -> Result<String, FederationError> {
        let url = format!(
            "{}/api/v1/federation/envelopes",
            peer.url.trim_end_matches('/')
        );
        let fail = |message: String| FederationError::Delivery {
            peer: peer.name.clone(),
            message,
        };
        let response = self
            .http
            .post(&url)
            .bearer_auth(peer.token.trim())
            .header("content-type", "application/json")
            .header(PEER_HEADER, &self.config.instance)
            .header(SIGNATURE_HEADER, self.sign(body.as_bytes()))
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| fail(e.to_string()))?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(fail(format!(
                "HTTP {status}: {}",
                text.chars().take(300).collect::<String>()
            )))
        }
    }

    /// A hop recorded by this instance.
    pub(crate) fn hop(
        &self,
        hop_key: String,
        action: &str,
        org: &str,
        counterpart: Option<&str>,
        at: i64,
        detail: String,
    ) -> CustodyHop {
        CustodyHop {
            instance: self.config.instance.clone(),
            hop_key,
            action: action.into(),
            org: org.into(),
            counterpart: counterpart.map(str::to_owned),
            at,
            detail,
        }
    }
}

pub(crate) fn now_micros() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000) as i64
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn unb64(text: &str) -> Result<Vec<u8>, FederationError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| FederationError::Invalid("not base64".into()))
}
