//! Envelope encryption: the blob header, whose slots hold the blob's data key wrapped by a master
//! key, and the segment cipher (the STREAM construction) that encrypts the content.
//!
//! Blob file layout (all integers big-endian):
//!
//! ```text
//! 0    8  magic "SGVAULT1"
//! 8    1  format version (1)
//! 9    3  reserved, zero
//! 12   4  segment size in bytes (plaintext bytes per segment)
//! 16 200  slot 0 ┐ a slot: key-id length (0 = empty) | key id, zero-padded to 32 |
//! 216 200 slot 1 ┘         wrap nonce (24) | XChaCha20-Poly1305(master key, meta) (127 + 16)
//! 416 ..  segments: XChaCha20-Poly1305(data key, nonce = prefix(19) | counter(4) | last(1),
//!         aad = bytes 0..16) of each segment, ciphertext + 16-byte tag
//! ```
//!
//! The meta sealed in a slot is: data key (32) | nonce prefix (19) | plaintext size (8) |
//! MD5 (16) | SHA-1 (20) | SHA-256 (32). The slot's AEAD additional data is the 16-byte prefix
//! plus the slot's key-id bytes, so neither can be changed without detection.
//!
//! Two slots exist so a rotation can write the new wrapping next to the old one, make it
//! durable, and only then clear the old one: a crash or torn write at any moment leaves at least
//! one slot that opens.

use chacha20poly1305::aead::{AeadInPlace as _, KeyInit as _};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use safeguard_domain::digest::{FileDigests, Md5, Sha1, Sha256};
use zeroize::Zeroizing;

use crate::keys::{KeyRing, MasterKey, KEY_LEN, MAX_KEY_ID_LEN};

/// Magic of a blob file.
pub(crate) const BLOB_MAGIC: &[u8; 8] = b"SGVAULT1";
/// Magic of the naming-key file.
pub(crate) const NAMING_MAGIC: &[u8; 8] = b"SGVNAME1";
/// Current format version.
pub(crate) const FORMAT_VERSION: u8 = 1;
/// Length of the clear prefix (magic, version, reserved, segment size).
pub(crate) const PREFIX_LEN: usize = 16;
const NONCE_LEN: usize = 24;
/// Length of the authentication tag that follows each encrypted segment.
pub const TAG_LEN: usize = 16;
const SLOT_HEAD_LEN: usize = 1 + MAX_KEY_ID_LEN;
/// Length of the random per-blob nonce prefix of the STREAM construction.
pub(crate) const NONCE_PREFIX_LEN: usize = 19;
/// Length of the sealed blob meta's plaintext.
pub(crate) const META_LEN: usize = KEY_LEN + NONCE_PREFIX_LEN + 8 + 16 + 20 + 32;
/// Length of one header slot.
pub(crate) const BLOB_SLOT_LEN: usize = slot_len(META_LEN);
/// Length of the whole blob header in bytes (encrypted segments follow it).
pub const HEADER_LEN: usize = PREFIX_LEN + 2 * BLOB_SLOT_LEN;
/// Length of the naming-key file.
pub(crate) const NAMING_FILE_LEN: usize = PREFIX_LEN + slot_len(KEY_LEN);

/// Smallest accepted segment size.
pub const MIN_SEGMENT_SIZE: u32 = 1024;
/// Largest accepted segment size.
pub const MAX_SEGMENT_SIZE: u32 = 16 * 1024 * 1024;

const fn slot_len(meta_len: usize) -> usize {
    SLOT_HEAD_LEN + NONCE_LEN + meta_len + TAG_LEN
}

/// The clear 16-byte prefix of a blob or naming file.
pub(crate) fn prefix(magic: &[u8; 8], segment_size: u32) -> [u8; PREFIX_LEN] {
    let mut p = [0u8; PREFIX_LEN];
    p[..8].copy_from_slice(magic);
    p[8] = FORMAT_VERSION;
    p[12..16].copy_from_slice(&segment_size.to_be_bytes());
    p
}

/// Why a slot could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SlotError {
    /// No wrapping stored in the slot.
    Empty,
    /// A key id that is not well formed: the slot is garbage.
    Malformed,
    /// Wrapped under a key that is not in the ring.
    UnknownKey(String),
    /// Authentication failed: tampered, torn, or the wrong key under a reused id.
    Forged,
}

fn cipher(key: &[u8; KEY_LEN]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(Key::from_slice(key))
}

/// Wraps `plaintext` under `key` into a slot of `slot_len(plaintext.len())` bytes.
pub(crate) fn seal_slot(key: &MasterKey, prefix: &[u8; PREFIX_LEN], plaintext: &[u8]) -> Vec<u8> {
    let id = key.id().as_str().as_bytes();
    let mut slot = vec![0u8; slot_len(plaintext.len())];
    // Key ids are at most MAX_KEY_ID_LEN bytes by construction (KeyId::new checks it).
    slot[0] = id.len() as u8;
    slot[1..1 + id.len()].copy_from_slice(id);
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    slot[SLOT_HEAD_LEN..SLOT_HEAD_LEN + NONCE_LEN].copy_from_slice(&nonce);
    let mut aad = Vec::with_capacity(PREFIX_LEN + SLOT_HEAD_LEN);
    aad.extend_from_slice(prefix);
    aad.extend_from_slice(&slot[..SLOT_HEAD_LEN]);
    let body_start = SLOT_HEAD_LEN + NONCE_LEN;
    let body_end = body_start + plaintext.len();
    slot[body_start..body_end].copy_from_slice(plaintext);
    // Encryption of a bounded in-memory buffer cannot fail (the only error is a too-long input).
    let tag = cipher(key.material())
        .encrypt_in_place_detached(
            XNonce::from_slice(&nonce),
            &aad,
            &mut slot[body_start..body_end],
        )
        .unwrap_or_default();
    slot[body_end..].copy_from_slice(&tag);
    slot
}

/// The key id written in a slot, if the slot is not empty and the id is well formed.
pub(crate) fn slot_key_id(slot: &[u8]) -> Result<&[u8], SlotError> {
    let len = usize::from(*slot.first().ok_or(SlotError::Malformed)?);
    if len == 0 {
        return if slot.iter().all(|&b| b == 0) {
            Err(SlotError::Empty)
        } else {
            Err(SlotError::Malformed)
        };
    }
    if len > MAX_KEY_ID_LEN || slot.len() < SLOT_HEAD_LEN + NONCE_LEN + TAG_LEN {
        return Err(SlotError::Malformed);
    }
    let id = &slot[1..1 + len];
    let padding_clean = slot[1 + len..SLOT_HEAD_LEN].iter().all(|&b| b == 0);
    let id_clean = id
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !padding_clean || !id_clean {
        return Err(SlotError::Malformed);
    }
    Ok(id)
}

/// Unwraps a slot with whichever key of the ring it names.
pub(crate) fn open_slot(
    ring: &KeyRing,
    prefix: &[u8; PREFIX_LEN],
    slot: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SlotError> {
    let id = slot_key_id(slot)?;
    let key = ring
        .get_by_bytes(id)
        .ok_or_else(|| SlotError::UnknownKey(String::from_utf8_lossy(id).into_owned()))?;
    let mut aad = Vec::with_capacity(PREFIX_LEN + SLOT_HEAD_LEN);
    aad.extend_from_slice(prefix);
    aad.extend_from_slice(&slot[..SLOT_HEAD_LEN]);
    let nonce = XNonce::from_slice(&slot[SLOT_HEAD_LEN..SLOT_HEAD_LEN + NONCE_LEN]);
    let body_start = SLOT_HEAD_LEN + NONCE_LEN;
    let body_end = slot.len() - TAG_LEN;
    let mut body = Zeroizing::new(slot[body_start..body_end].to_vec());
    cipher(key.material())
        .decrypt_in_place_detached(nonce, &aad, &mut body, Tag::from_slice(&slot[body_end..]))
        .map_err(|_| SlotError::Forged)?;
    Ok(body)
}

/// What a blob's slot protects: the data key and what is known about the plaintext.
pub(crate) struct BlobMeta {
    pub(crate) data_key: Zeroizing<[u8; KEY_LEN]>,
    pub(crate) nonce_prefix: [u8; NONCE_PREFIX_LEN],
    pub(crate) size: u64,
    pub(crate) digests: FileDigests,
}

impl BlobMeta {
    /// Fresh random data key and nonce prefix; size and digests filled in when the content is
    /// known.
    pub(crate) fn fresh() -> (Zeroizing<[u8; KEY_LEN]>, [u8; NONCE_PREFIX_LEN]) {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        let mut prefix = [0u8; NONCE_PREFIX_LEN];
        rand::rngs::OsRng.fill_bytes(&mut prefix);
        (key, prefix)
    }

    pub(crate) fn encode(&self) -> Zeroizing<[u8; META_LEN]> {
        let mut out = Zeroizing::new([0u8; META_LEN]);
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            out[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(self.data_key.as_ref());
        put(&self.nonce_prefix);
        put(&self.size.to_be_bytes());
        put(self.digests.md5.as_bytes());
        put(self.digests.sha1.as_bytes());
        put(self.digests.sha256.as_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != META_LEN {
            return None;
        }
        let mut at = 0;
        let mut take = |n: usize| {
            let s = &bytes[at..at + n];
            at += n;
            s
        };
        let mut data_key = Zeroizing::new([0u8; KEY_LEN]);
        data_key.copy_from_slice(take(KEY_LEN));
        let nonce_prefix = take(NONCE_PREFIX_LEN).try_into().ok()?;
        let size = u64::from_be_bytes(take(8).try_into().ok()?);
        let md5 = Md5::from_bytes(take(16).try_into().ok()?);
        let sha1 = Sha1::from_bytes(take(20).try_into().ok()?);
        let sha256 = Sha256::from_bytes(take(32).try_into().ok()?);
        Some(Self {
            data_key,
            nonce_prefix,
            size,
            digests: FileDigests { md5, sha1, sha256 },
        })
    }
}

/// A parsed blob header (the raw bytes, checked for shape).
#[derive(Clone)]
pub(crate) struct Header {
    pub(crate) bytes: [u8; HEADER_LEN],
}

/// Which slot of a header a wrapping was found in, and under which key.
pub(crate) struct Opened {
    pub(crate) meta: BlobMeta,
    pub(crate) slot: usize,
    pub(crate) key_id: String,
}

impl Header {
    /// A header with both slots empty.
    pub(crate) fn new(segment_size: u32) -> Self {
        let mut bytes = [0u8; HEADER_LEN];
        bytes[..PREFIX_LEN].copy_from_slice(&prefix(BLOB_MAGIC, segment_size));
        Self { bytes }
    }

    /// Checks the clear prefix of a header read from disk.
    pub(crate) fn parse(bytes: [u8; HEADER_LEN]) -> Result<Self, &'static str> {
        if &bytes[..8] != BLOB_MAGIC {
            return Err("not a vault blob (bad magic)");
        }
        if bytes[8] != FORMAT_VERSION {
            return Err("unsupported blob format version");
        }
        if bytes[9..12] != [0, 0, 0] {
            return Err("reserved header bytes are not zero");
        }
        let header = Self { bytes };
        let seg = header.segment_size();
        if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&seg) {
            return Err("segment size out of range");
        }
        Ok(header)
    }

    pub(crate) fn prefix(&self) -> &[u8; PREFIX_LEN] {
        // The array is HEADER_LEN > PREFIX_LEN long.
        self.bytes[..PREFIX_LEN]
            .try_into()
            .unwrap_or(&[0u8; PREFIX_LEN])
    }

    pub(crate) fn segment_size(&self) -> u32 {
        u32::from_be_bytes([
            self.bytes[12],
            self.bytes[13],
            self.bytes[14],
            self.bytes[15],
        ])
    }

    /// Byte offset of a slot in the file.
    pub(crate) fn slot_offset(slot: usize) -> usize {
        PREFIX_LEN + slot * BLOB_SLOT_LEN
    }

    pub(crate) fn slot(&self, slot: usize) -> &[u8] {
        let start = Self::slot_offset(slot);
        &self.bytes[start..start + BLOB_SLOT_LEN]
    }

    /// Writes a new wrapping of `meta` under `key` into `slot`; returns the slot bytes.
    pub(crate) fn seal_into(&mut self, slot: usize, key: &MasterKey, meta: &BlobMeta) -> Vec<u8> {
        let sealed = seal_slot(key, self.prefix(), meta.encode().as_ref());
        let start = Self::slot_offset(slot);
        self.bytes[start..start + BLOB_SLOT_LEN].copy_from_slice(&sealed);
        sealed
    }

    /// Opens the header with the ring, preferring a slot sealed under the active key.
    pub(crate) fn open(&self, ring: &KeyRing) -> Result<Opened, String> {
        let active = ring.active().id().as_str().as_bytes();
        let mut order = [0usize, 1];
        if slot_key_id(self.slot(1)).ok() == Some(active) {
            order = [1, 0];
        }
        let mut problems = Vec::new();
        for slot in order {
            match open_slot(ring, self.prefix(), self.slot(slot)) {
                Ok(plain) => match BlobMeta::decode(&plain) {
                    Some(meta) => {
                        let key_id = slot_key_id(self.slot(slot))
                            .map(|id| String::from_utf8_lossy(id).into_owned())
                            .unwrap_or_default();
                        return Ok(Opened { meta, slot, key_id });
                    }
                    None => problems.push(format!("slot {slot}: malformed meta")),
                },
                Err(SlotError::Empty) => {}
                Err(SlotError::Malformed) => problems.push(format!("slot {slot}: malformed")),
                Err(SlotError::UnknownKey(id)) => {
                    problems.push(format!("slot {slot}: wrapped under unknown key id {id:?}"))
                }
                Err(SlotError::Forged) => {
                    problems.push(format!("slot {slot}: authentication failed"))
                }
            }
        }
        if problems.is_empty() {
            problems.push("no key slot in use".to_owned());
        }
        Err(format!("header cannot be opened ({})", problems.join("; ")))
    }
}

/// The STREAM construction over segments: nonce = per-blob random prefix | segment counter |
/// last-segment flag, so reordering, truncation, extension and bit flips all fail to open.
pub(crate) struct SegmentCipher {
    cipher: XChaCha20Poly1305,
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
    aad: [u8; PREFIX_LEN],
}

impl SegmentCipher {
    pub(crate) fn new(
        data_key: &[u8; KEY_LEN],
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
        aad: [u8; PREFIX_LEN],
    ) -> Self {
        Self {
            cipher: cipher(data_key),
            nonce_prefix,
            aad,
        }
    }

    fn nonce(&self, counter: u32, last: bool) -> XNonce {
        let mut n = [0u8; NONCE_LEN];
        n[..NONCE_PREFIX_LEN].copy_from_slice(&self.nonce_prefix);
        n[NONCE_PREFIX_LEN..NONCE_PREFIX_LEN + 4].copy_from_slice(&counter.to_be_bytes());
        n[NONCE_LEN - 1] = u8::from(last);
        XNonce::from(n)
    }

    /// Encrypts `buf` in place and appends the tag.
    pub(crate) fn seal(&self, counter: u32, last: bool, buf: &mut Vec<u8>) {
        // In-memory encryption of a segment (≤ 16 MiB) cannot fail.
        let tag = self
            .cipher
            .encrypt_in_place_detached(&self.nonce(counter, last), &self.aad, buf)
            .unwrap_or_default();
        buf.extend_from_slice(&tag);
    }

    /// Checks and decrypts `buf` (ciphertext + tag) in place, leaving only the plaintext.
    pub(crate) fn open(&self, counter: u32, last: bool, buf: &mut Vec<u8>) -> Result<(), ()> {
        if buf.len() < TAG_LEN {
            return Err(());
        }
        let tag_at = buf.len() - TAG_LEN;
        let tag = *Tag::from_slice(&buf[tag_at..]);
        buf.truncate(tag_at);
        self.cipher
            .decrypt_in_place_detached(&self.nonce(counter, last), &self.aad, buf, &tag)
            .map_err(|_| {
                // Never let unauthenticated bytes escape, even by accident.
                buf.iter_mut().for_each(|b| *b = 0);
            })
    }
}
