//! Storing and reading back: sizes around segment boundaries, digests, dedupe, the size cap,
//! listing and deletion, sync and async paths.

mod common;

use std::io::Read as _;

use common::{blob_files, data, open, open_with, temp_files};
use safeguard_domain::digest::{Digester, Sha256};
use safeguard_vault::{VaultConfig, VaultError, BLOB_HEADER_LEN, SEGMENT_TAG_LEN};
use tokio::io::AsyncReadExt as _;

const SEG: usize = 64 * 1024;

#[test]
fn round_trips_sizes_around_segment_boundaries() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    let sizes = [
        0,
        1,
        SEG - 1,
        SEG,
        SEG + 1,
        2 * SEG,
        3 * SEG + 7,
        3 * 1024 * 1024 + 12345,
    ];
    for (i, &size) in sizes.iter().enumerate() {
        let bytes = data(size, i as u64);
        let stored = vault.put(&bytes[..]).expect("put");
        assert_eq!(stored.size, size as u64);
        assert_eq!(stored.digests, Digester::digest(&bytes), "size {size}");
        assert!(!stored.already_present);

        let sha = stored.digests.sha256;
        assert!(vault.exists(&sha).expect("exists"));
        let back = vault.read_to_vec(&sha, u64::MAX).expect("read back");
        assert_eq!(back.len(), bytes.len(), "size {size}");
        assert!(back == bytes, "content differs for size {size}");

        // The streaming reader, in odd-sized reads, gives the same bytes.
        let mut reader = vault.open_blob(&sha).expect("open blob");
        assert_eq!(reader.size(), size as u64);
        assert_eq!(reader.digests(), stored.digests);
        let mut streamed = Vec::new();
        let mut buf = [0u8; 1000];
        loop {
            let n = reader.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            streamed.extend_from_slice(&buf[..n]);
        }
        assert!(streamed == bytes);

        // On-disk size is exactly header + content + one tag per segment.
        let segments = size.div_ceil(SEG).max(1);
        let on_disk = std::fs::metadata(vault.blob_path(&sha))
            .expect("blob file")
            .len();
        assert_eq!(
            on_disk as usize,
            BLOB_HEADER_LEN + size + segments * SEGMENT_TAG_LEN
        );
    }
    assert_eq!(blob_files(dir.path()).len(), sizes.len());
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn small_segments_round_trip_many_boundaries() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = VaultConfig {
        segment_size: 1024,
        ..VaultConfig::default()
    };
    let vault = open_with(dir.path(), config);
    for size in [1023, 1024, 1025, 4096, 10_000] {
        let bytes = data(size, 99);
        let stored = vault.put(&bytes[..]).expect("put");
        let back = vault
            .read_to_vec(&stored.digests.sha256, u64::MAX)
            .expect("read");
        assert!(back == bytes, "size {size}");
    }
    // A vault opened later with another segment size still reads them (recorded per blob).
    drop(vault);
    let vault = open(dir.path());
    let bytes = data(10_000, 99);
    let sha = Digester::digest(&bytes).sha256;
    assert!(vault.read_to_vec(&sha, u64::MAX).expect("read") == bytes);
}

#[test]
fn identical_content_is_stored_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    let bytes = data(200_000, 7);
    let first = vault.put(&bytes[..]).expect("first put");
    let second = vault.put(&bytes[..]).expect("second put");
    assert!(!first.already_present);
    assert!(second.already_present);
    assert_eq!(first.digests, second.digests);
    assert_eq!(blob_files(dir.path()).len(), 1);
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn size_cap_refuses_and_leaves_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let limit = 100_000;
    let vault = open_with(
        dir.path(),
        VaultConfig {
            max_blob_size: limit,
            ..VaultConfig::default()
        },
    );
    for size in [limit as usize + 1, 3 * SEG, 1_000_000] {
        let err = vault.put(&data(size, 1)[..]).expect_err("too large");
        assert!(
            matches!(err, VaultError::TooLarge { limit: l } if l == limit),
            "{err}"
        );
    }
    assert!(blob_files(dir.path()).is_empty());
    assert!(temp_files(dir.path()).is_empty());
    // Exactly at the limit is accepted.
    let at_limit = data(limit as usize, 2);
    let stored = vault.put(&at_limit[..]).expect("at the limit");
    assert_eq!(stored.size, limit);
    // A read bounded below the blob's size is refused before anything is read.
    let err = vault
        .read_to_vec(&stored.digests.sha256, limit - 1)
        .expect_err("bounded read");
    assert!(matches!(err, VaultError::TooLarge { limit: l } if l == limit - 1));
}

#[test]
fn list_exists_and_delete() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    let mut expected: Vec<Sha256> = (0..5)
        .map(|i| {
            vault
                .put(&data(1000 + i, i as u64)[..])
                .expect("put")
                .digests
                .sha256
        })
        .collect();
    expected.sort();
    let mut listed: Vec<Sha256> = vault
        .list()
        .expect("list")
        .collect::<Result<_, _>>()
        .expect("every blob lists");
    listed.sort();
    assert_eq!(listed, expected);

    assert!(vault.delete(&expected[0]).expect("delete"));
    assert!(!vault
        .delete(&expected[0])
        .expect("second delete is a no-op"));
    assert!(!vault.exists(&expected[0]).expect("exists"));
    assert!(matches!(
        vault.read_to_vec(&expected[0], u64::MAX),
        Err(VaultError::NotFound { .. })
    ));
    assert_eq!(vault.list().expect("list").count(), 4);
    let missing = Digester::digest(b"never stored").sha256;
    assert!(!vault.exists(&missing).expect("exists"));
    assert!(matches!(
        vault.open_blob(&missing),
        Err(VaultError::NotFound { sha256 }) if sha256 == missing
    ));
}

#[test]
fn blob_names_are_keyed_not_the_sha256() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    let stored = vault.put(&b"some synthetic content"[..]).expect("put");
    let sha_hex = stored.digests.sha256.to_hex();
    let path = vault.blob_path(&stored.digests.sha256);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("utf-8 name");
    assert_ne!(name, sha_hex);
    for file in common::files_under(dir.path()) {
        let shown = file.to_string_lossy();
        assert!(!shown.contains(&sha_hex), "{shown}");
        assert!(!shown.contains(&stored.digests.md5.to_hex()), "{shown}");
    }
    // Another vault (another naming key) names the same content differently.
    let other_dir = tempfile::tempdir().expect("temp dir");
    let other = open(other_dir.path());
    assert_ne!(other.blob_name(&stored.digests.sha256), name);
    // The same vault reopened keeps its names.
    drop(vault);
    let reopened = open(dir.path());
    assert_eq!(reopened.blob_name(&stored.digests.sha256), name);
}

#[test]
fn upload_read_errors_are_typed_and_leave_nothing() {
    struct Failing(usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "client went away",
                ));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(0x5a);
            self.0 -= n;
            Ok(n)
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    let err = vault.put(Failing(300_000)).expect_err("source fails");
    assert!(
        matches!(&err, VaultError::Source(e) if e.kind() == std::io::ErrorKind::ConnectionReset)
    );
    assert!(blob_files(dir.path()).is_empty());
    assert!(temp_files(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_put_and_reads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    for (i, size) in [0usize, 1, SEG, SEG + 1, 2_500_000].into_iter().enumerate() {
        let bytes = data(size, 100 + i as u64);
        // A reader that hands out odd-sized pieces.
        let (client, mut server) = tokio::io::duplex(7_777);
        let upload = {
            let bytes = bytes.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt as _;
                let mut client = client;
                client.write_all(&bytes).await.expect("write to pipe");
                client.shutdown().await.expect("close pipe");
            })
        };
        let stored = vault.put_async(&mut server).await.expect("async put");
        upload.await.expect("uploader");
        assert_eq!(stored.size, size as u64);
        assert_eq!(stored.digests, Digester::digest(&bytes));

        let sha = stored.digests.sha256;
        let back = vault
            .read_to_vec_async(&sha, u64::MAX)
            .await
            .expect("async read");
        assert!(back == bytes);
        let mut reader = vault.open_blob_async(&sha).await.expect("open async");
        assert_eq!(reader.size(), size as u64);
        let mut streamed = Vec::new();
        reader.read_to_end(&mut streamed).await.expect("stream");
        assert!(streamed == bytes);
    }
    assert!(temp_files(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_put_cap_and_abandoned_upload_leave_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open_with(
        dir.path(),
        VaultConfig {
            max_blob_size: 50_000,
            ..VaultConfig::default()
        },
    );
    let big = data(1_000_000, 5);
    let err = vault.put_async(&big[..]).await.expect_err("too large");
    assert!(
        matches!(err, VaultError::TooLarge { limit: 50_000 }),
        "{err}"
    );

    // An upload whose future is dropped half-way must not be stored as a short file.
    let (client, server) = tokio::io::duplex(1024);
    let put = {
        let vault = vault.clone();
        tokio::spawn(async move { vault.put_async(server).await })
    };
    {
        use tokio::io::AsyncWriteExt as _;
        let mut client = client;
        client
            .write_all(&data(10_000, 6))
            .await
            .expect("partial upload");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        put.abort();
        let _ = put.await;
        drop(client);
    }
    // The blocking writer notices the dropped channel and removes its temp file.
    for _ in 0..200 {
        if temp_files(dir.path()).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(temp_files(dir.path()).is_empty());
    assert!(blob_files(dir.path()).is_empty());
    assert_eq!(vault.list().expect("list").count(), 0);
}

#[test]
fn open_removes_abandoned_temp_files_but_not_live_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    vault.put(&b"x"[..]).expect("put");
    drop(vault);
    // A crashed writer's leftovers: unlocked files in tmp/.
    let tmp = dir.path().join("tmp");
    std::fs::write(tmp.join("1234-deadbeef.tmp"), data(5000, 1)).expect("write stale");
    std::fs::write(tmp.join("naming-0.tmp"), b"stale").expect("write stale");
    // A live writer in another process holds its lock.
    let live_path = tmp.join("live.tmp");
    let live = std::fs::File::create(&live_path).expect("create live");
    live.lock().expect("lock live");
    let vault = open(dir.path());
    assert_eq!(vault.cleaned_temp_files(), 2);
    assert_eq!(temp_files(dir.path()), vec![live_path.clone()]);
    drop(live);
    drop(vault);
    let vault = open(dir.path());
    assert_eq!(vault.cleaned_temp_files(), 1);
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn invalid_config_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    for segment_size in [0, 1023, 32 * 1024 * 1024] {
        let config = VaultConfig {
            segment_size,
            ..VaultConfig::default()
        };
        let err = safeguard_vault::Vault::open(dir.path(), common::ring("k1", 1), config)
            .expect_err("bad segment size");
        assert!(matches!(err, VaultError::Config(_)));
    }
}

/// A reader that hands out its bytes in small, irregular pieces, like a network stream.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    step: usize,
}

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.step = (self.step * 7 + 3) % 1500 + 1;
        let n = buf.len().min(self.step).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn irregular_short_reads_round_trip() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    for (i, size) in [SEG - 3, SEG, 2 * SEG + 1, 700_001].into_iter().enumerate() {
        let bytes = data(size, 300 + i as u64);
        let stored = vault
            .put(Trickle {
                data: bytes.clone(),
                pos: 0,
                step: i,
            })
            .expect("put");
        assert_eq!(stored.digests, Digester::digest(&bytes));
        let back = vault
            .read_to_vec(&stored.digests.sha256, u64::MAX)
            .expect("read");
        assert!(back == bytes, "size {size}");
    }
}

#[tokio::test]
async fn async_source_error_is_typed_and_leaves_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = open(dir.path());
    let failing =
        tokio::io::AsyncReadExt::chain(&b"some bytes before the failure"[..], FailingAsync);
    let err = vault.put_async(failing).await.expect_err("source fails");
    assert!(matches!(err, VaultError::Source(_)), "{err}");
    assert!(blob_files(dir.path()).is_empty());
    assert!(temp_files(dir.path()).is_empty());
}

struct FailingAsync;

impl tokio::io::AsyncRead for FailingAsync {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        _buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "multipart stream broken",
        )))
    }
}
