//! Tampering with a stored blob is detected: never garbage bytes, always `Corrupt`.

mod common;

use std::io::Read as _;
use std::path::Path;

use common::{data, open};
use safeguard_domain::digest::Sha256;
use safeguard_vault::{Vault, VaultError, BLOB_HEADER_LEN, SEGMENT_TAG_LEN};

const SEG: usize = 64 * 1024;
const CT_SEG: usize = SEG + SEGMENT_TAG_LEN;

fn store(vault: &Vault, len: usize, seed: u64) -> (Sha256, Vec<u8>) {
    let bytes = data(len, seed);
    let stored = vault.put(&bytes[..]).expect("put");
    (stored.digests.sha256, bytes)
}

fn modify(path: &Path, f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let original = std::fs::read(path).expect("read blob");
    let mut bytes = original.clone();
    f(&mut bytes);
    std::fs::write(path, &bytes).expect("write blob");
    original
}

fn assert_corrupt(vault: &Vault, sha: &Sha256) {
    match vault.read_to_vec(sha, u64::MAX) {
        Err(VaultError::Corrupt { .. }) => {}
        other => panic!("expected Corrupt, got {:?}", other.map(|v| v.len())),
    }
}

/// Reads through the streaming reader: the bytes it hands out before failing must be a prefix of
/// the original (verified segments only), and it must fail.
fn assert_stream_fails_cleanly(vault: &Vault, sha: &Sha256, original: &[u8]) {
    let mut reader = match vault.open_blob(sha) {
        Err(VaultError::Corrupt { .. }) => return,
        Err(e) => panic!("unexpected error {e}"),
        Ok(reader) => reader,
    };
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let err = loop {
        match reader.read(&mut buf) {
            Ok(0) => panic!("tampered blob read to the end"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(matches!(
        VaultError::from_read_error(err, "x"),
        VaultError::Corrupt { .. }
    ));
    assert!(got.len() % SEG == 0, "only whole verified segments");
    assert!(original.starts_with(&got), "bytes handed out are genuine");
    // Reading again keeps failing.
    assert!(reader.read(&mut buf).is_err());
}

#[test]
fn every_byte_of_prefix_and_active_slot_is_protected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    let (sha, original) = store(&vault, 3000, 1);
    let path = vault.blob_path(&sha);
    let pristine = std::fs::read(&path).expect("read");
    // Prefix (16) and slot 0 (200): every single-byte flip is caught.
    for at in 0..216 {
        let mut bytes = pristine.clone();
        bytes[at] ^= 0x01;
        std::fs::write(&path, &bytes).expect("write");
        assert_corrupt(&vault, &sha);
        assert!(!vault.verify_all().expect("sweep").is_clean(), "byte {at}");
    }
    // Slot 1 is unused (zero): garbage there does not matter, the content still verifies.
    let mut bytes = pristine.clone();
    bytes[300] ^= 0xff;
    std::fs::write(&path, &bytes).expect("write");
    assert!(vault.read_to_vec(&sha, u64::MAX).expect("slot 1 unused") == original);
    std::fs::write(&path, &pristine).expect("restore");
    assert!(vault.read_to_vec(&sha, u64::MAX).expect("restored") == original);
}

#[test]
fn flipped_segment_byte_is_detected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    let (sha, original) = store(&vault, 3 * SEG + 100, 2);
    let path = vault.blob_path(&sha);
    // In the first, a middle, the last segment, and in a tag.
    for at in [
        BLOB_HEADER_LEN,
        BLOB_HEADER_LEN + CT_SEG + 5000,
        BLOB_HEADER_LEN + 3 * CT_SEG + 50,
        BLOB_HEADER_LEN + 2 * CT_SEG - 1,
    ] {
        let pristine = modify(&path, |b| b[at] ^= 0x80);
        assert_corrupt(&vault, &sha);
        assert_stream_fails_cleanly(&vault, &sha, &original);
        std::fs::write(&path, pristine).expect("restore");
    }
    assert!(vault.verify_all().expect("sweep").is_clean());
}

#[test]
fn truncation_is_detected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    let (sha, original) = store(&vault, 2 * SEG + 10, 3);
    let path = vault.blob_path(&sha);
    let full = std::fs::read(&path).expect("read");
    for keep in [
        full.len() - 1,                      // a byte of the last tag
        full.len() - (10 + SEGMENT_TAG_LEN), // the whole last segment
        BLOB_HEADER_LEN + CT_SEG,            // cut at a segment boundary
        BLOB_HEADER_LEN,                     // header only
        100,                                 // inside the header
        0,
    ] {
        std::fs::write(&path, &full[..keep]).expect("truncate");
        assert_corrupt(&vault, &sha);
        assert_stream_fails_cleanly(&vault, &sha, &original);
    }
    // Extending the file is caught too.
    let mut longer = full.clone();
    longer.extend_from_slice(&[0u8; 16]);
    std::fs::write(&path, &longer).expect("extend");
    assert_corrupt(&vault, &sha);
}

#[test]
fn truncation_at_boundary_with_forged_length_is_caught_by_last_flag() {
    // A blob of exactly two segments, cut to one: the remaining segment was not sealed as the
    // last, so even a reader that trusted the file length would fail.
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    let (sha, original) = store(&vault, 2 * SEG, 4);
    let path = vault.blob_path(&sha);
    modify(&path, |b| b.truncate(BLOB_HEADER_LEN + CT_SEG));
    assert_corrupt(&vault, &sha);
    assert_stream_fails_cleanly(&vault, &sha, &original);
}

#[test]
fn swapped_segments_are_detected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    let (sha, original) = store(&vault, 3 * SEG, 5);
    let path = vault.blob_path(&sha);
    modify(&path, |b| {
        let first = BLOB_HEADER_LEN..BLOB_HEADER_LEN + CT_SEG;
        let second = BLOB_HEADER_LEN + CT_SEG..BLOB_HEADER_LEN + 2 * CT_SEG;
        let a = b[first.clone()].to_vec();
        let c = b[second.clone()].to_vec();
        b[first].copy_from_slice(&c);
        b[second].copy_from_slice(&a);
    });
    assert_corrupt(&vault, &sha);
    assert_stream_fails_cleanly(&vault, &sha, &original);
}

#[test]
fn segments_or_headers_moved_between_blobs_are_detected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    let (sha_a, _) = store(&vault, 2 * SEG, 6);
    let (sha_b, _) = store(&vault, 2 * SEG, 7);
    let path_a = vault.blob_path(&sha_a);
    let path_b = vault.blob_path(&sha_b);
    let a = std::fs::read(&path_a).expect("read a");
    let b = std::fs::read(&path_b).expect("read b");

    // b's first segment spliced into a.
    let mut spliced = a.clone();
    spliced[BLOB_HEADER_LEN..BLOB_HEADER_LEN + CT_SEG]
        .copy_from_slice(&b[BLOB_HEADER_LEN..BLOB_HEADER_LEN + CT_SEG]);
    std::fs::write(&path_a, &spliced).expect("write");
    assert_corrupt(&vault, &sha_a);

    // Whole file of b placed under a's name: the header opens, but holds b's SHA-256.
    std::fs::write(&path_a, &b).expect("write");
    assert_corrupt(&vault, &sha_a);
    let listed: Vec<_> = vault.list().expect("list").collect();
    assert!(listed
        .iter()
        .any(|r| matches!(r, Err(VaultError::Corrupt { .. }))));

    std::fs::write(&path_a, &a).expect("restore");
    let report = vault.verify_all().expect("sweep");
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.ok, 2);
}

#[test]
fn verify_all_reports_damage_and_strays() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    let (good, _) = store(&vault, 1000, 8);
    let (bad, _) = store(&vault, SEG + 1000, 9);
    modify(&vault.blob_path(&bad), |b| {
        let at = b.len() - 20;
        b[at] ^= 1;
    });
    std::fs::write(dir.path().join("blobs").join("stray.txt"), b"hello").expect("stray");
    let report = vault.verify_all().expect("sweep");
    assert_eq!(report.checked, 3);
    assert_eq!(report.ok, 1);
    assert_eq!(report.bytes, 1000);
    assert_eq!(report.problems.len(), 2);
    assert!(report
        .problems
        .iter()
        .any(|p| p.sha256 == Some(bad) && matches!(p.error, VaultError::Corrupt { .. })));
    assert!(report
        .problems
        .iter()
        .any(|p| p.path.ends_with("stray.txt")));
    assert!(!report.problems.iter().any(|p| p.sha256 == Some(good)));
    // A damaged blob is healed by storing the same content again.
    let bytes = data(SEG + 1000, 9);
    let stored = vault.put(&bytes[..]).expect("re-put");
    assert!(!stored.already_present, "the damaged copy was replaced");
    assert!(vault.read_to_vec(&bad, u64::MAX).expect("healed") == bytes);
}

#[test]
fn wrong_master_key_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    store(&vault, 10, 10);
    drop(vault);
    // Same id, different material.
    let err = Vault::open(
        dir.path(),
        common::ring("k1", 2),
        safeguard_vault::VaultConfig::default(),
    )
    .expect_err("wrong key");
    assert!(
        matches!(&err, VaultError::KeyMismatch { key_id } if key_id == "k1"),
        "{err}"
    );
    // Unknown id.
    let err = Vault::open(
        dir.path(),
        common::ring("other", 1),
        safeguard_vault::VaultConfig::default(),
    )
    .expect_err("unknown key");
    assert!(matches!(err, VaultError::KeyMismatch { .. }));
    // The naming key missing while blobs exist is refused, not silently replaced.
    std::fs::remove_file(dir.path().join("naming.key")).expect("remove naming key");
    let err = Vault::open(
        dir.path(),
        common::ring("k1", 1),
        safeguard_vault::VaultConfig::default(),
    )
    .expect_err("naming key gone");
    assert!(matches!(err, VaultError::Corrupt { .. }), "{err}");
}
