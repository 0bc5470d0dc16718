//! Concurrent puts of the same content, from threads and from tasks, end with one blob.

mod common;

use common::{blob_files, data, open, temp_files};

#[test]
fn concurrent_identical_puts_from_threads_store_one_blob() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    let bytes = data(300_000, 11);
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| vault.put(&bytes[..]).expect("put")))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(results.iter().filter(|r| !r.already_present).count(), 1);
    assert!(results.windows(2).all(|w| w[0].digests == w[1].digests));
    assert_eq!(blob_files(dir.path()).len(), 1);
    assert!(temp_files(dir.path()).is_empty());
    assert!(vault.verify_all().expect("sweep").is_clean());
}

#[test]
fn concurrent_puts_from_two_vault_handles_on_one_directory() {
    // Two independent `Vault`s (as two processes would have) racing on the same content.
    let dir = tempfile::tempdir().expect("temp dir");
    let a = open(dir.path());
    let b = open(dir.path());
    let bytes = data(100_000, 12);
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let v = if i % 2 == 0 { &a } else { &b };
                let bytes = &bytes;
                scope.spawn(move || v.put(&bytes[..]).expect("put"))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(results.iter().filter(|r| !r.already_present).count(), 1);
    assert_eq!(blob_files(dir.path()).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_async_puts_store_one_blob() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    let bytes = std::sync::Arc::new(data(500_000, 13));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let vault = vault.clone();
        let bytes = std::sync::Arc::clone(&bytes);
        tasks.spawn(async move { vault.put_async(&bytes[..]).await.expect("put") });
    }
    let mut fresh = 0;
    while let Some(result) = tasks.join_next().await {
        if !result.expect("task").already_present {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
    assert_eq!(blob_files(dir.path()).len(), 1);
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn concurrent_distinct_puts_all_land() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    std::thread::scope(|scope| {
        for t in 0..4u64 {
            let vault = &vault;
            scope.spawn(move || {
                for i in 0..10 {
                    vault.put(&data(2000, t * 100 + i)[..]).expect("put");
                }
            });
        }
    });
    assert_eq!(vault.list().expect("list").count(), 40);
}

#[test]
fn listing_and_sweeping_while_blobs_are_deleted_is_not_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    let shas: Vec<_> = (0..60)
        .map(|i| {
            vault
                .put(&data(500, 500 + i)[..])
                .expect("put")
                .digests
                .sha256
        })
        .collect();
    std::thread::scope(|scope| {
        let deleter = scope.spawn(|| {
            for sha in &shas {
                vault.delete(sha).expect("delete");
            }
        });
        for _ in 0..5 {
            for item in vault.list().expect("list") {
                item.expect("a concurrently deleted blob is skipped, not an error");
            }
            let report = vault.verify_all().expect("sweep");
            assert!(report.is_clean(), "{:?}", report.problems);
        }
        deleter.join().expect("deleter");
    });
    assert_eq!(vault.list().expect("list").count(), 0);
}
