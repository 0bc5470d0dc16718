//! Master-key rotation: re-wrapping headers only, resumable after an interruption, readers
//! served throughout, the old key retired at the end.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{data, key, ring};
use safeguard_domain::digest::Sha256;
use safeguard_vault::fault::{FaultError, FaultOp, FaultyStorage};
use safeguard_vault::{KeyRing, Vault, VaultConfig, VaultError, BLOB_HEADER_LEN};

fn fill(vault: &Vault, n: usize) -> Vec<(Sha256, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let bytes = data(1000 + i * 5000, i as u64);
            let stored = vault.put(&bytes[..]).expect("put");
            (stored.digests.sha256, bytes)
        })
        .collect()
}

fn assert_all_readable(vault: &Vault, blobs: &[(Sha256, Vec<u8>)]) {
    for (sha, bytes) in blobs {
        let back = vault.read_to_vec(sha, u64::MAX).expect("readable");
        assert!(back == *bytes);
    }
}

#[test]
fn rotation_rewraps_headers_only_and_retires_the_old_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = Vault::open(dir.path(), ring("old", 1), VaultConfig::default()).expect("open");
    let blobs = fill(&vault, 6);
    let before: Vec<Vec<u8>> = blobs
        .iter()
        .map(|(sha, _)| std::fs::read(vault.blob_path(sha)).expect("read"))
        .collect();

    let report = vault.rotate(key("new", 2)).expect("rotate");
    assert_eq!(report.rewrapped, 6);
    assert_eq!(report.already_current, 0);
    assert!(report.naming_key_rewrapped);
    assert!(report.failed.is_empty());
    assert_eq!(vault.active_key_id().as_str(), "new");
    assert_all_readable(&vault, &blobs);

    // The content (everything after the header) is byte-for-byte untouched.
    for ((sha, _), old) in blobs.iter().zip(&before) {
        let now = std::fs::read(vault.blob_path(sha)).expect("read");
        assert_eq!(now.len(), old.len());
        assert!(now[BLOB_HEADER_LEN..] == old[BLOB_HEADER_LEN..]);
        assert!(now[..BLOB_HEADER_LEN] != old[..BLOB_HEADER_LEN]);
    }

    // Running it again changes nothing.
    let again = vault.rotate(key("new", 2)).expect("rotate again");
    assert_eq!(again.rewrapped, 0);
    assert_eq!(again.already_current, 6);
    assert!(!again.naming_key_rewrapped);

    // The new key alone opens everything; the old key alone opens nothing.
    drop(vault);
    let vault = Vault::open(dir.path(), ring("new", 2), VaultConfig::default()).expect("new only");
    assert_all_readable(&vault, &blobs);
    assert!(vault.verify_all().expect("sweep").is_clean());
    let err = Vault::open(dir.path(), ring("old", 1), VaultConfig::default())
        .expect_err("old key retired");
    assert!(matches!(err, VaultError::KeyMismatch { .. }));
}

#[test]
fn old_blobs_read_with_the_old_key_of_a_ring_before_rotation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = Vault::open(dir.path(), ring("old", 1), VaultConfig::default()).expect("open");
    let old_blobs = fill(&vault, 2);
    drop(vault);
    // The operator adds a new key and makes it active, but has not rotated yet.
    let mut keys = ring("old", 1);
    keys.insert(key("new", 2)).expect("insert");
    keys.set_active(key("new", 2).id()).expect("activate");
    let vault = Vault::open(dir.path(), keys, VaultConfig::default()).expect("open with both");
    let new_blob = vault.put(&data(777, 77)[..]).expect("put under new key");
    assert_all_readable(&vault, &old_blobs);
    let report = vault.rotate(key("new", 2)).expect("rotate");
    assert_eq!(report.rewrapped, 2);
    assert_eq!(
        report.already_current, 1,
        "the blob stored under the new key"
    );
    assert!(vault.exists(&new_blob.digests.sha256).expect("exists"));
}

#[test]
fn interrupted_rotation_resumes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = FaultyStorage::new();
    let vault = Vault::open_with_storage(
        dir.path(),
        ring("old", 1),
        VaultConfig::default(),
        Arc::new(storage.clone()),
    )
    .expect("open");
    let blobs = fill(&vault, 10);

    // The naming key costs one write, each blob two (new slot, then clearing the old one), in
    // listing order. Failing the 9th write interrupts the 4th blob between its two steps: its
    // new wrapping is durable, its old one not yet cleared.
    storage.fail_nth(FaultOp::Write, 9, FaultError::Io);
    let err = vault.rotate(key("new", 2)).expect_err("interrupted");
    let done = match err {
        VaultError::RotationInterrupted { rewrapped, source } => {
            assert!(matches!(*source, VaultError::Io { .. }), "{source}");
            rewrapped
        }
        other => panic!("expected RotationInterrupted, got {other}"),
    };
    assert_eq!(done, 3);
    assert_eq!(storage.fired(), 1);

    // Mid-rotation, everything is readable with the ring holding both keys…
    assert_all_readable(&vault, &blobs);
    // …and by a fresh process that has both keys, whichever is active.
    let mut both = ring("old", 1);
    both.insert(key("new", 2)).expect("insert");
    let other = Vault::open(dir.path(), both, VaultConfig::default()).expect("reopen both");
    assert_all_readable(&other, &blobs);
    drop(other);

    // A second interruption, by a full disk this time, loses nothing either. Its syncs are: the
    // 4th blob's clearing (finishing it), the 5th's new slot, the 5th's clearing (fails).
    storage.fail_nth(FaultOp::Sync, 3, FaultError::NoSpace);
    let err = vault.rotate(key("new", 2)).expect_err("interrupted again");
    let done2 = match err {
        VaultError::RotationInterrupted { rewrapped, .. } => rewrapped,
        other => panic!("expected RotationInterrupted, got {other}"),
    };
    assert_eq!(done2, 1, "the 4th blob, finished");
    assert_all_readable(&vault, &blobs);

    storage.disarm();
    let report = vault.rotate(key("new", 2)).expect("resumed");
    assert!(report.failed.is_empty());
    assert_eq!(report.rewrapped + report.already_current, 10);
    // Blobs 1-5 are current (the 5th's clearing reached the file, only its fsync failed);
    // 6-10 are re-wrapped now.
    assert_eq!(report.already_current, 5);
    assert_eq!(report.rewrapped, 5);

    drop(vault);
    let vault = Vault::open(dir.path(), ring("new", 2), VaultConfig::default()).expect("new only");
    assert_all_readable(&vault, &blobs);
    assert!(vault.verify_all().expect("sweep").is_clean());
}

#[test]
fn torn_new_slot_falls_back_to_the_old_wrapping() {
    // Simulates a crash that tore the write of the new slot: garbage in slot 1, slot 0 intact.
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = Vault::open(dir.path(), ring("old", 1), VaultConfig::default()).expect("open");
    let blobs = fill(&vault, 1);
    let path = vault.blob_path(&blobs[0].0);
    let mut bytes = std::fs::read(&path).expect("read");
    // Slot 1 starts at 216: a plausible key id, then random bytes.
    bytes[216] = 3;
    bytes[217..220].copy_from_slice(b"new");
    bytes[249..400].copy_from_slice(&data(151, 3));
    std::fs::write(&path, &bytes).expect("write");
    let mut keys = ring("old", 1);
    keys.insert(key("new", 2)).expect("insert");
    keys.set_active(key("new", 2).id()).expect("activate");
    drop(vault);
    let vault = Vault::open(dir.path(), keys, VaultConfig::default()).expect("open");
    assert_all_readable(&vault, &blobs);
    let report = vault.rotate(key("new", 2)).expect("rotate");
    assert_eq!(report.rewrapped, 1);
    drop(vault);
    let vault = Vault::open(dir.path(), ring("new", 2), VaultConfig::default()).expect("new only");
    assert_all_readable(&vault, &blobs);
}

#[test]
fn readers_and_writers_keep_working_during_rotation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = Vault::open(dir.path(), ring("old", 1), VaultConfig::default()).expect("open");
    let blobs = fill(&vault, 20);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            for _ in 0..5 {
                assert_all_readable(&vault, &blobs);
            }
        });
        let writer = scope.spawn(|| {
            (0..10)
                .map(|i| {
                    vault
                        .put(&data(3000, 1000 + i)[..])
                        .expect("put during rotation")
                })
                .collect::<Vec<_>>()
        });
        let report = vault.rotate(key("new", 2)).expect("rotate");
        assert!(report.failed.is_empty());
        reader.join().expect("reader thread");
        let written = writer.join().expect("writer thread");
        for stored in written {
            assert!(vault.exists(&stored.digests.sha256).expect("exists"));
        }
    });
    // Every blob, including those written during the rotation, opens with the new key alone.
    drop(vault);
    let keys: KeyRing = ring("new", 2);
    let vault = Vault::open(dir.path(), keys, VaultConfig::default()).expect("new only");
    let report = vault.verify_all().expect("sweep");
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.ok, 30);
}

#[test]
fn rotation_reports_unopenable_blobs_and_carries_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = Vault::open(dir.path(), ring("old", 1), VaultConfig::default()).expect("open");
    let blobs = fill(&vault, 3);
    let path = vault.blob_path(&blobs[1].0);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[100] ^= 1; // inside slot 0's sealed meta
    std::fs::write(&path, &bytes).expect("write");
    let report = vault.rotate(key("new", 2)).expect("rotate");
    assert_eq!(report.rewrapped, 2);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, path);
    assert!(matches!(report.failed[0].1, VaultError::Corrupt { .. }));
}

#[test]
fn failed_naming_key_rename_interrupts_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = FaultyStorage::new();
    let vault = Vault::open_with_storage(
        dir.path(),
        ring("old", 1),
        VaultConfig::default(),
        Arc::new(storage.clone()),
    )
    .expect("open");
    let blobs = fill(&vault, 2);
    storage.fail_nth(FaultOp::Rename, 1, FaultError::NoSpace);
    let err = vault.rotate(key("new", 2)).expect_err("rename fails");
    assert!(
        matches!(&err, VaultError::RotationInterrupted { rewrapped: 0, .. }),
        "{err}"
    );
    assert!(common::temp_files(dir.path()).is_empty());
    // The naming key is still wrapped under the old key only: the old ring still opens it.
    let old_only = Vault::open(dir.path(), ring("old", 1), VaultConfig::default());
    assert!(old_only.is_ok());
    storage.disarm();
    let report = vault.rotate(key("new", 2)).expect("resume");
    assert!(report.naming_key_rewrapped);
    assert_eq!(report.rewrapped, 2);
    drop(vault);
    let vault = Vault::open(dir.path(), ring("new", 2), VaultConfig::default()).expect("new only");
    assert_all_readable(&vault, &blobs);
}

/// A server process keeps serving while another process (`safeguard keys rotate`) rotates: it
/// learns the new key from the key ring before any blob is re-wrapped under it.
#[test]
fn a_running_vault_follows_a_rotation_done_by_another_process() {
    use safeguard_vault::{KeyId, KeyRing, MasterKey, Vault, VaultConfig};
    let dir = tempfile::tempdir().unwrap();
    let old = MasterKey::generate(KeyId::generate());
    let server = Vault::open(
        dir.path(),
        KeyRing::new(old.clone()),
        VaultConfig::default(),
    )
    .unwrap();
    let blob = server.put_bytes(b"synthetic evidence bytes").unwrap();
    let sha = blob.digests.sha256;

    // The rotating process: the new key is added to the ring (old still active)…
    let new = MasterKey::generate(KeyId::generate());
    let mut staged = KeyRing::new(old.clone());
    staged.insert(new.clone()).unwrap();
    // …the server picks the ring up (its periodic reload)…
    assert!(server.refresh_keys(&staged).unwrap());
    assert!(
        !server.refresh_keys(&staged).unwrap(),
        "nothing new the second time"
    );
    // …then the other process re-wraps every header under the new key.
    let rotator = Vault::open(dir.path(), staged.clone(), VaultConfig::default()).unwrap();
    let report = rotator.rotate(new.clone()).unwrap();
    assert_eq!(report.rewrapped, 1);
    // The server still reads the blob, now opened with the new key only.
    assert_eq!(
        server.read_to_vec(&sha, 1 << 20).unwrap(),
        b"synthetic evidence bytes"
    );
    // And with the new key made active in the ring, its new blobs use it.
    let mut done = staged;
    done.set_active(new.id()).unwrap();
    assert!(server.refresh_keys(&done).unwrap());
    assert_eq!(server.active_key_id(), new.id().clone());
}
