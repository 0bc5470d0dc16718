//! The audit log's hash chain: each entry commits to the one before it, so an edited, inserted
//! or removed entry breaks every hash after it. Storage appends; this module only computes and
//! checks.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The hash that precedes the first entry.
pub const GENESIS: [u8; 32] = [0u8; 32];

/// What an entry records, before it is chained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// The user who acted, if any (`None` for the system itself or an anonymous caller).
    pub actor_user: Option<i64>,
    /// A readable name of the actor (`analyst1`, `system`, `public`), kept even if the user is removed.
    pub actor: String,
    /// What happened, as a dotted verb: `report.create`, `media.view`, `user.add`.
    pub action: String,
    /// The kind of object acted on: `report`, `file`, `user`, `organisation`.
    pub object_kind: String,
    /// The object's identifier.
    pub object_id: String,
    /// Free detail (for example the reason given for revealing a medium).
    pub detail: String,
}

/// A chained entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// Unix time in microseconds.
    pub at_micros: i64,
    pub event: AuditEvent,
    #[serde(with = "hex_bytes")]
    pub prev_hash: [u8; 32],
    #[serde(with = "hex_bytes")]
    pub hash: [u8; 32],
}

/// The hash of an entry: SHA-256 over the previous hash and every field, each length-prefixed so
/// that no two different entries encode to the same bytes.
pub fn entry_hash(prev_hash: &[u8; 32], seq: i64, at_micros: i64, event: &AuditEvent) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"safeguard-audit-v1");
    h.update(prev_hash);
    h.update(seq.to_be_bytes());
    h.update(at_micros.to_be_bytes());
    match event.actor_user {
        Some(id) => {
            h.update([1u8]);
            h.update(id.to_be_bytes());
        }
        None => h.update([0u8]),
    }
    for field in [
        &event.actor,
        &event.action,
        &event.object_kind,
        &event.object_id,
        &event.detail,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    h.finalize().into()
}

/// Chains `event` after the entry with `prev_seq` and `prev_hash`.
pub fn chain(prev_seq: i64, prev_hash: [u8; 32], at_micros: i64, event: AuditEvent) -> AuditEntry {
    let seq = prev_seq + 1;
    let hash = entry_hash(&prev_hash, seq, at_micros, &event);
    AuditEntry {
        seq,
        at_micros,
        event,
        prev_hash,
        hash,
    }
}

/// Where a chain stops being trustworthy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("entry {found} follows entry {expected_after}: an entry was removed or inserted")]
    Gap { expected_after: i64, found: i64 },
    #[error("entry {seq} does not point to the hash of the entry before it")]
    BrokenLink { seq: i64 },
    #[error("entry {seq} was altered: its content does not match its hash")]
    Altered { seq: i64 },
    #[error("the chain ends at entry {last} but its exported head is entry {head}: entries were removed from the end")]
    Truncated { last: i64, head: i64 },
    #[error("entry {seq} does not match the exported head")]
    HeadMismatch { seq: i64 },
}

/// Checks entries in order, starting after `(start_seq, start_hash)` (`(0, GENESIS)` for the whole
/// chain). Returns the last sequence number and hash on success, so a long chain can be checked in
/// pages.
pub fn verify_run<'a>(
    start: (i64, [u8; 32]),
    entries: impl IntoIterator<Item = &'a AuditEntry>,
) -> Result<(i64, [u8; 32]), ChainBreak> {
    let (mut seq, mut hash) = start;
    for entry in entries {
        if entry.seq != seq + 1 {
            return Err(ChainBreak::Gap {
                expected_after: seq,
                found: entry.seq,
            });
        }
        if entry.prev_hash != hash {
            return Err(ChainBreak::BrokenLink { seq: entry.seq });
        }
        if entry_hash(&entry.prev_hash, entry.seq, entry.at_micros, &entry.event) != entry.hash {
            return Err(ChainBreak::Altered { seq: entry.seq });
        }
        seq = entry.seq;
        hash = entry.hash;
    }
    Ok((seq, hash))
}

/// An exported chain head: whoever keeps a signed copy can later prove that no entry up to
/// `seq` was removed from the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: i64,
    #[serde(with = "hex_bytes")]
    pub hash: [u8; 32],
}

/// Checks a verified chain's end against an exported head.
pub fn check_head(
    last: (i64, [u8; 32]),
    head: &ChainHead,
    hash_at_head: Option<[u8; 32]>,
) -> Result<(), ChainBreak> {
    if last.0 < head.seq {
        return Err(ChainBreak::Truncated {
            last: last.0,
            head: head.seq,
        });
    }
    match hash_at_head {
        Some(h) if h == head.hash => Ok(()),
        _ => Err(ChainBreak::HeadMismatch { seq: head.seq }),
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: usize) -> AuditEvent {
        AuditEvent {
            actor_user: Some(1),
            actor: "analyst1".into(),
            action: "media.view".into(),
            object_kind: "file".into(),
            object_id: format!("f{n}"),
            detail: String::new(),
        }
    }

    fn build(n: usize) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let (seq, hash) = out.last().map(|e| (e.seq, e.hash)).unwrap_or((0, GENESIS));
            out.push(chain(seq, hash, 1_000 + i as i64, event(i)));
        }
        out
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let entries = build(5);
        let (seq, hash) = verify_run((0, GENESIS), &entries).expect("valid chain");
        assert_eq!(seq, 5);
        assert_eq!(hash, entries[4].hash);
    }

    #[test]
    fn editing_removing_or_inserting_is_detected() {
        let mut edited = build(5);
        edited[2].event.object_id = "other".into();
        assert_eq!(
            verify_run((0, GENESIS), &edited),
            Err(ChainBreak::Altered { seq: 3 })
        );

        let mut removed = build(5);
        removed.remove(1);
        assert_eq!(
            verify_run((0, GENESIS), &removed),
            Err(ChainBreak::Gap {
                expected_after: 1,
                found: 3
            })
        );

        // Removing an entry and renumbering the rest breaks the link instead.
        let mut renumbered = build(5);
        renumbered.remove(1);
        for (i, e) in renumbered.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        assert_eq!(
            verify_run((0, GENESIS), &renumbered),
            Err(ChainBreak::BrokenLink { seq: 2 })
        );
    }

    #[test]
    fn length_prefixes_keep_fields_apart() {
        let mut a = event(0);
        a.action = "ab".into();
        a.object_kind = "c".into();
        let mut b = event(0);
        b.action = "a".into();
        b.object_kind = "bc".into();
        assert_ne!(
            entry_hash(&GENESIS, 1, 0, &a),
            entry_hash(&GENESIS, 1, 0, &b)
        );
    }

    #[test]
    fn a_removed_tail_is_caught_by_the_exported_head() {
        let entries = build(5);
        let head = ChainHead {
            seq: 5,
            hash: entries[4].hash,
        };
        let last = verify_run((0, GENESIS), &entries[..3]).expect("prefix is valid");
        assert_eq!(
            check_head(last, &head, None),
            Err(ChainBreak::Truncated { last: 3, head: 5 })
        );
        let full = verify_run((0, GENESIS), &entries).expect("valid");
        assert_eq!(check_head(full, &head, Some(entries[4].hash)), Ok(()));
    }
}
