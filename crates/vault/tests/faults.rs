//! Fault injection: a put that meets ENOSPC or EIO at any step fails with a typed error, leaves
//! no blob and no partial file, and the vault stays usable.

mod common;

use std::sync::Arc;

use common::{blob_files, data, ring, temp_files};
use safeguard_vault::fault::{FaultError, FaultOp, FaultyStorage};
use safeguard_vault::{Vault, VaultConfig, VaultError};

#[test]
fn failed_put_at_every_step_leaves_nothing_and_vault_stays_usable() {
    let bytes = data(3 * 64 * 1024 + 500, 42);
    for op in [
        FaultOp::CreateTemp,
        FaultOp::Write,
        FaultOp::Sync,
        FaultOp::Link,
        FaultOp::CreateDir,
    ] {
        // Count how many operations of this kind a clean put into a fresh vault makes…
        let probe_dir = tempfile::tempdir().expect("temp dir");
        let probe = FaultyStorage::new();
        let vault = Vault::open_with_storage(
            probe_dir.path(),
            ring("k1", 1),
            VaultConfig::default(),
            Arc::new(probe.clone()),
        )
        .expect("open");
        probe.reset_counts();
        vault.put(&bytes[..]).expect("clean put");
        let total = probe.count(op);
        assert!(total > 0, "{op:?} is exercised by a put");

        // …then fail each one in turn.
        for nth in 1..=total {
            for error in [FaultError::NoSpace, FaultError::Io] {
                let dir = tempfile::tempdir().expect("temp dir");
                let storage = FaultyStorage::new();
                let vault = Vault::open_with_storage(
                    dir.path(),
                    ring("k1", 1),
                    VaultConfig::default(),
                    Arc::new(storage.clone()),
                )
                .expect("open");
                storage.fail_nth(op, nth, error);
                let err = vault.put(&bytes[..]).expect_err("fault must fail the put");
                assert_eq!(storage.fired(), 1, "{op:?} #{nth}");
                let expected_errno = match error {
                    FaultError::NoSpace => 28,
                    FaultError::Io => 5,
                };
                match &err {
                    VaultError::Io { source, .. } => {
                        assert_eq!(source.raw_os_error(), Some(expected_errno), "{err}")
                    }
                    other => panic!("{op:?} #{nth}: expected Io, got {other}"),
                }
                assert!(
                    blob_files(dir.path()).is_empty(),
                    "{op:?} #{nth}: blob left"
                );
                assert!(
                    temp_files(dir.path()).is_empty(),
                    "{op:?} #{nth}: temp left"
                );
                assert_eq!(vault.list().expect("list").count(), 0);

                // Usable afterwards, in the same process and after a restart.
                storage.disarm();
                let stored = vault.put(&bytes[..]).expect("put after fault");
                assert!(!stored.already_present);
                assert!(
                    vault
                        .read_to_vec(&stored.digests.sha256, u64::MAX)
                        .expect("read")
                        == bytes
                );
                drop(vault);
                let reopened = common::open(dir.path());
                assert!(reopened.verify_all().expect("sweep").is_clean());
            }
        }
    }
}

#[test]
fn disk_that_stays_full_fails_every_put_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = FaultyStorage::new();
    let vault = Vault::open_with_storage(
        dir.path(),
        ring("k1", 1),
        VaultConfig::default(),
        Arc::new(storage.clone()),
    )
    .expect("open");
    let kept = vault
        .put(&data(5000, 1)[..])
        .expect("before the disk fills");
    storage.fail_from(FaultOp::Write, 3, FaultError::NoSpace);
    for seed in 2..6 {
        let err = vault.put(&data(300_000, seed)[..]).expect_err("disk full");
        assert!(matches!(err, VaultError::Io { .. }), "{err}");
    }
    assert_eq!(blob_files(dir.path()).len(), 1);
    assert!(temp_files(dir.path()).is_empty());
    storage.disarm();
    assert!(vault.exists(&kept.digests.sha256).expect("exists"));
    vault.put(&data(300_000, 2)[..]).expect("space again");
    assert_eq!(blob_files(dir.path()).len(), 2);
}

#[test]
fn failed_delete_sync_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = FaultyStorage::new();
    let vault = Vault::open_with_storage(
        dir.path(),
        ring("k1", 1),
        VaultConfig::default(),
        Arc::new(storage.clone()),
    )
    .expect("open");
    let stored = vault.put(&data(100, 1)[..]).expect("put");
    storage.fail_nth(FaultOp::Sync, 1, FaultError::Io);
    assert!(matches!(
        vault.delete(&stored.digests.sha256),
        Err(VaultError::Io { .. })
    ));
}

#[test]
fn failing_vault_initialisation_is_typed() {
    for op in [
        FaultOp::CreateDir,
        FaultOp::CreateTemp,
        FaultOp::Write,
        FaultOp::Sync,
        FaultOp::Link,
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = FaultyStorage::new();
        storage.fail_nth(op, 1, FaultError::NoSpace);
        let err = Vault::open_with_storage(
            dir.path(),
            ring("k1", 1),
            VaultConfig::default(),
            Arc::new(storage.clone()),
        )
        .expect_err("init fails");
        assert!(matches!(err, VaultError::Io { .. }), "{op:?}: {err}");
        assert!(temp_files(dir.path()).is_empty(), "{op:?}");
        // And a second attempt without the fault works.
        storage.disarm();
        Vault::open_with_storage(
            dir.path(),
            ring("k1", 1),
            VaultConfig::default(),
            Arc::new(storage),
        )
        .expect("second open");
    }
}

#[test]
fn file_system_without_hard_links_falls_back_to_rename() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = FaultyStorage::new().without_hard_links();
    let vault = Vault::open_with_storage(
        dir.path(),
        ring("k1", 1),
        VaultConfig::default(),
        Arc::new(storage),
    )
    .expect("open");
    let bytes = data(150_000, 3);
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| vault.put(&bytes[..]).expect("put")))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(results.iter().filter(|r| !r.already_present).count(), 1);
    assert_eq!(blob_files(dir.path()).len(), 1);
    assert!(temp_files(dir.path()).is_empty());
    let sha = results[0].digests.sha256;
    assert!(vault.read_to_vec(&sha, u64::MAX).expect("read") == bytes);
}
