//! Put throughput of the evidence vault, side by side with its floor: writing the same bytes
//! to a plain file and fsyncing it. Run (on one core):
//!
//! ```text
//! taskset -c 0 cargo bench -p safeguard-vault --bench put
//! ```
//!
//! Each iteration stores fresh content (the first bytes carry a counter, so nothing dedupes)
//! and the blob is deleted outside the timed section, so the vault does not grow.

use std::hint::black_box;
use std::io::Write as _;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::{RngCore as _, SeedableRng as _};
use safeguard_vault::{KeyId, KeyRing, MasterKey, Vault, VaultConfig};

fn payload(len: usize) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut out = vec![0u8; len];
    rng.fill_bytes(&mut out);
    out
}

fn stamp(buf: &mut [u8], counter: u64) {
    buf[..8].copy_from_slice(&counter.to_le_bytes());
}

fn bench_put(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = MasterKey::generate(KeyId::new("bench").expect("valid id"));
    let vault = Vault::open(
        &dir.path().join("vault"),
        KeyRing::new(key),
        VaultConfig::default(),
    )
    .expect("open vault");
    let plain_dir = dir.path().join("plain");
    std::fs::create_dir_all(&plain_dir).expect("plain dir");

    let mut group = c.benchmark_group("put");
    for (label, len, samples) in [("100KB", 100 * 1000, 50), ("10MB", 10 * 1000 * 1000, 10)] {
        let mut data = payload(len);
        group.throughput(Throughput::Bytes(len as u64));
        group.sample_size(samples);
        group.measurement_time(Duration::from_secs(if len > 1_000_000 { 20 } else { 8 }));

        let mut counter = 0u64;
        // A young vault: most puts also create (and fsync) their fan-out directory.
        group.bench_function(BenchmarkId::new("vault_new_dirs", label), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    counter += 1;
                    stamp(&mut data, counter);
                    let start = Instant::now();
                    let stored = vault.put(&data[..]).expect("put");
                    total += start.elapsed();
                    assert!(!stored.already_present);
                    vault.delete(&stored.digests.sha256).expect("delete");
                    // Keep the directories new for the next put.
                    let blob_dir = vault
                        .blob_path(&stored.digests.sha256)
                        .parent()
                        .expect("fan-out dir")
                        .to_owned();
                    let _ = std::fs::remove_dir(&blob_dir);
                    let _ = std::fs::remove_dir(blob_dir.parent().expect("top dir"));
                }
                total
            })
        });

        // A mature vault: every fan-out directory exists already.
        let blobs = vault.dir().join("blobs");
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                std::fs::create_dir_all(blobs.join(format!("{a:02x}")).join(format!("{b:02x}")))
                    .expect("fan-out dir");
            }
        }
        group.bench_function(BenchmarkId::new("vault", label), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    counter += 1;
                    stamp(&mut data, counter);
                    let start = Instant::now();
                    let stored = vault.put(&data[..]).expect("put");
                    total += start.elapsed();
                    assert!(!stored.already_present);
                    vault.delete(&stored.digests.sha256).expect("delete");
                }
                total
            })
        });
        // Remove the empty fan-out directories again for the next size's "new dirs" run.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let _ =
                    std::fs::remove_dir(blobs.join(format!("{a:02x}")).join(format!("{b:02x}")));
            }
            let _ = std::fs::remove_dir(blobs.join(format!("{a:02x}")));
        }

        group.bench_function(BenchmarkId::new("plain_write_fsync", label), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    counter += 1;
                    stamp(&mut data, counter);
                    let path = plain_dir.join(format!("{counter}.bin"));
                    let start = Instant::now();
                    let mut file = std::fs::File::create(&path).expect("create");
                    file.write_all(black_box(&data)).expect("write");
                    file.sync_all().expect("fsync");
                    drop(file);
                    total += start.elapsed();
                    std::fs::remove_file(&path).expect("remove");
                }
                total
            })
        });

        // The same, plus the directory fsync that makes the new name durable (the vault does
        // it too: without it a crash can lose a file whose data was synced).
        group.bench_function(BenchmarkId::new("plain_write_fsync_dirsync", label), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    counter += 1;
                    stamp(&mut data, counter);
                    let path = plain_dir.join(format!("{counter}.bin"));
                    let start = Instant::now();
                    let mut file = std::fs::File::create(&path).expect("create");
                    file.write_all(black_box(&data)).expect("write");
                    file.sync_all().expect("fsync");
                    drop(file);
                    std::fs::File::open(&plain_dir)
                        .expect("open dir")
                        .sync_all()
                        .expect("fsync dir");
                    total += start.elapsed();
                    std::fs::remove_file(&path).expect("remove");
                }
                total
            })
        });
    }
    group.finish();

    // What the mandatory MD5 + SHA-1 + SHA-256 alone cost (part of every put).
    let mut group = c.benchmark_group("digests_only");
    let data = payload(10 * 1000 * 1000);
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(10);
    group.bench_function("10MB", |b| {
        b.iter(|| black_box(safeguard_domain::digest::Digester::digest(black_box(&data))))
    });
    group.finish();

    // Read-back for reference: decrypt + verify every segment + SHA-256.
    let mut group = c.benchmark_group("read");
    for (label, len, samples) in [("100KB", 100 * 1000, 50), ("10MB", 10 * 1000 * 1000, 10)] {
        let data = payload(len);
        let stored = vault.put(&data[..]).expect("put");
        group.throughput(Throughput::Bytes(len as u64));
        group.sample_size(samples);
        group.bench_function(BenchmarkId::new("vault", label), |b| {
            b.iter(|| {
                let bytes = vault
                    .read_to_vec(&stored.digests.sha256, u64::MAX)
                    .expect("read");
                black_box(bytes.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_put);
criterion_main!(benches);
