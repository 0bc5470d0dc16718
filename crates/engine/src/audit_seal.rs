//! Sealed audit heads: the chain head (`seq`, hash) signed with the instance's Ed25519 signing
//! key, which a second party (an oversight body, another agency) counter-signs with its own key
//! and keeps. Later, `safeguard audit verify --head FILE` checks both signatures and that the
//! chain still contains that head unchanged: whoever deletes entries from the end of the log
//! cannot produce a chain that matches a head held outside the instance, and cannot forge a new
//! counter-signed head without the second party's key.

use ed25519_dalek::{Signature, Signer, Verifier};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use safeguard_domain::audit::ChainHead;
use serde::{Deserialize, Serialize};

/// Domain separation of the signed message.
const CONTEXT: &str = "safeguard-audit-head-v1";

/// Why a sealed head does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("malformed {what}: {why}")]
    Malformed { what: &'static str, why: String },
    #[error("the instance signature does not verify with any known instance key")]
    InstanceSignature,
    #[error("the counter-signature of {signer:?} does not verify")]
    CounterSignature { signer: String },
    #[error("the head carries no counter-signature")]
    NotCounterSigned,
    #[error("the counter-signature of {signer:?} is by key {key}, not a trusted one")]
    UntrustedCounterSigner { signer: String, key: String },
}

/// One counter-signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterSignature {
    /// Who signed (free text, e.g. the oversight body).
    pub signer: String,
    /// Their Ed25519 public key, hex.
    pub public_key: String,
    /// Signature of the same message as the instance's, hex.
    pub signature: String,
}

/// A chain head signed by the instance, with any counter-signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedHead {
    pub head: ChainHead,
    /// When it was sealed (unix seconds).
    pub sealed_at: i64,
    /// The instance's public key, hex.
    pub instance_key: String,
    /// The instance's signature, hex.
    pub signature: String,
    #[serde(default)]
    pub counter_signatures: Vec<CounterSignature>,
}

/// The bytes every signature covers.
fn message(head: &ChainHead, sealed_at: i64) -> Vec<u8> {
    format!(
        "{CONTEXT}\nseq={}\nhash={}\nsealed_at={sealed_at}\n",
        head.seq,
        hex::encode(head.hash)
    )
    .into_bytes()
}

fn parse_key(what: &'static str, text: &str) -> Result<VerifyingKey, SealError> {
    let malformed = |why: &str| SealError::Malformed {
        what,
        why: why.to_owned(),
    };
    let bytes: [u8; 32] = hex::decode(text.trim())
        .map_err(|_| malformed("not hex"))?
        .try_into()
        .map_err(|_| malformed("not 32 bytes"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| malformed("not a curve point"))
}

fn parse_signature(what: &'static str, text: &str) -> Result<Signature, SealError> {
    let bytes: [u8; 64] = hex::decode(text.trim())
        .map_err(|_| SealError::Malformed {
            what,
            why: "not hex".into(),
        })?
        .try_into()
        .map_err(|_| SealError::Malformed {
            what,
            why: "not 64 bytes".into(),
        })?;
    Ok(Signature::from_bytes(&bytes))
}

/// Seals `head` with the instance key.
pub fn seal(key: &SigningKey, head: ChainHead, sealed_at: i64) -> SealedHead {
    let signature = key.sign(&message(&head, sealed_at));
    SealedHead {
        head,
        sealed_at,
        instance_key: hex::encode(key.verifying_key().to_bytes()),
        signature: hex::encode(signature.to_bytes()),
        counter_signatures: Vec::new(),
    }
}

/// Adds `signer`'s counter-signature (after checking the instance's signature is sound against
/// the key the head names: a counter-signer vouches for what it signs).
pub fn counter_sign(
    sealed: &mut SealedHead,
    key: &SigningKey,
    signer: &str,
) -> Result<(), SealError> {
    let instance = parse_key("instance key", &sealed.instance_key)?;
    verify_instance(sealed, &[instance])?;
    let signature = key.sign(&message(&sealed.head, sealed.sealed_at));
    sealed.counter_signatures.push(CounterSignature {
        signer: signer.to_owned(),
        public_key: hex::encode(key.verifying_key().to_bytes()),
        signature: hex::encode(signature.to_bytes()),
    });
    Ok(())
}

fn verify_instance(sealed: &SealedHead, instance_keys: &[VerifyingKey]) -> Result<(), SealError> {
    let msg = message(&sealed.head, sealed.sealed_at);
    let signature = parse_signature("instance signature", &sealed.signature)?;
    if instance_keys
        .iter()
        .any(|k| k.verify(&msg, &signature).is_ok())
    {
        Ok(())
    } else {
        Err(SealError::InstanceSignature)
    }
}

/// What a check of a sealed head requires.
#[derive(Debug, Clone, Default)]
pub struct SealPolicy {
    /// The instance's public keys, current and retired (rotation keeps old ones).
    pub instance_keys: Vec<VerifyingKey>,
    /// Counter-signers whose keys are trusted; empty: any key, as long as it verifies.
    pub trusted_counter_signers: Vec<VerifyingKey>,
    /// Refuse a head without a counter-signature.
    pub require_counter_signature: bool,
}

/// Checks the instance signature and every counter-signature of `sealed`.
pub fn verify(sealed: &SealedHead, policy: &SealPolicy) -> Result<(), SealError> {
    verify_instance(sealed, &policy.instance_keys)?;
    if policy.require_counter_signature && sealed.counter_signatures.is_empty() {
        return Err(SealError::NotCounterSigned);
    }
    let msg = message(&sealed.head, sealed.sealed_at);
    for c in &sealed.counter_signatures {
        let key = parse_key("counter-signer key", &c.public_key)?;
        if !policy.trusted_counter_signers.is_empty()
            && !policy.trusted_counter_signers.contains(&key)
        {
            return Err(SealError::UntrustedCounterSigner {
                signer: c.signer.clone(),
                key: c.public_key.clone(),
            });
        }
        let signature = parse_signature("counter-signature", &c.signature)?;
        key.verify(&msg, &signature)
            .map_err(|_| SealError::CounterSignature {
                signer: c.signer.clone(),
            })?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn head(seq: i64) -> ChainHead {
        ChainHead {
            seq,
            hash: [seq as u8; 32],
        }
    }

    #[test]
    fn a_sealed_and_counter_signed_head_verifies_and_any_change_is_caught() {
        let (instance, oversight) = (key(1), key(2));
        let mut sealed = seal(&instance, head(7), 1_700_000_000);
        counter_sign(&mut sealed, &oversight, "oversight body").unwrap();
        let policy = SealPolicy {
            instance_keys: vec![instance.verifying_key()],
            trusted_counter_signers: vec![oversight.verifying_key()],
            require_counter_signature: true,
        };
        verify(&sealed, &policy).unwrap();
        // Survives a JSON round trip.
        let text = serde_json::to_string(&sealed).unwrap();
        let back: SealedHead = serde_json::from_str(&text).unwrap();
        verify(&back, &policy).unwrap();

        // A head moved back (the tail deleted, then re-sealed by the instance alone) no longer
        // carries a valid counter-signature.
        let mut moved = sealed.clone();
        moved.head = head(5);
        assert_eq!(
            verify(&moved, &policy),
            Err(SealError::InstanceSignature),
            "the instance signature covers seq and hash"
        );
        let mut resealed = seal(&instance, head(5), 1_700_000_100);
        resealed.counter_signatures = sealed.counter_signatures.clone();
        assert!(matches!(
            verify(&resealed, &policy),
            Err(SealError::CounterSignature { .. })
        ));
        // A counter-signature by an unknown key is refused when signers are pinned.
        let mut forged = seal(&instance, head(5), 1_700_000_100);
        counter_sign(&mut forged, &key(3), "oversight body").unwrap();
        assert!(matches!(
            verify(&forged, &policy),
            Err(SealError::UntrustedCounterSigner { .. })
        ));
        // A head without a counter-signature is refused when one is required.
        let bare = seal(&instance, head(7), 1_700_000_000);
        assert_eq!(verify(&bare, &policy), Err(SealError::NotCounterSigned));
        // Another instance's key does not verify.
        let other = SealPolicy {
            instance_keys: vec![key(9).verifying_key()],
            ..policy.clone()
        };
        assert_eq!(verify(&sealed, &other), Err(SealError::InstanceSignature));
        // A retired key kept for verification still verifies older heads.
        let rotated = SealPolicy {
            instance_keys: vec![key(9).verifying_key(), instance.verifying_key()],
            ..policy
        };
        verify(&sealed, &rotated).unwrap();
    }

    #[test]
    fn signing_keys_never_show_their_secret() {
        let k = key(7);
        let secret_hex = hex::encode(k.to_bytes());
        let shown = format!("{k:?} {:?}", seal(&k, head(1), 0));
        assert!(!shown.contains(&secret_hex), "{shown}");
        assert!(!shown.contains("7, 7, 7, 7"), "{shown}");
    }

    #[test]
    fn malformed_fields_are_clear_errors() {
        let mut sealed = seal(&key(1), head(1), 0);
        sealed.signature = "zz".into();
        let policy = SealPolicy {
            instance_keys: vec![key(1).verifying_key()],
            ..SealPolicy::default()
        };
        assert!(matches!(
            verify(&sealed, &policy),
            Err(SealError::Malformed { .. })
        ));
    }
}
