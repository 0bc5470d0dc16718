//! Known-material benchmarks (not run in CI):
//!
//! * `import`: one million generated VICS 2.0 entries imported into a fresh SQLite database
//!   through `import_known` (parse thread + batched transactions): entries/s (wall and CPU) and
//!   peak memory (`VmHWM`), measured in a child process so the figures are the import's alone.
//! * `match`: one incoming 1024x768 JPEG (a generated pattern, rotated 90°) matched from its
//!   bytes to its verdict against 10 million stored PDQ hashes (built in memory, with the known
//!   entry planted in SQLite), all eight dihedral lookups; decode+hash, index lookups and the
//!   SQL part timed separately.
//!
//! `cargo bench -p safeguard-engine --bench known` (both), or `-- import` / `-- match`.
//! `KNOWN_BENCH_N` (entries to import, default 1,000,000), `KNOWN_BENCH_INDEX` (index size,
//! default 10,000,000), `KNOWN_BENCH_QUERIES` (match repetitions, default 30).

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use image::{Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use safeguard_domain::account::{OrgKind, OrgName};
use safeguard_domain::digest::{Md5, Sha1};
use safeguard_domain::known::{EntryHashes, EntryId, PdqHash, PDQ_MATCH_DISTANCE};
use safeguard_engine::known::{
    import_known, match_media, ImportRequest, MatchIndex, MediaHashes, Operator,
};
use safeguard_formats::known_media::{KnownMediaRecord, SourceFormat, SourceRef};
use safeguard_formats::known_stream::KnownMediaWriter;
use safeguard_formats::vics::VicsLayout;
use safeguard_store::{
    ImportContext, KnownActor, NewHashSet, NewKnownEntry, Store, StoreOptions, UpsertOutcome,
};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU seconds of this process (all threads), from /proc/self/stat.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(") ")?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

/// CPU time of the calling thread: the hashing and the index lookups run on it, so this is
/// their cost without the time the loaded machine gave to other processes.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn record(i: u64) -> KnownMediaRecord {
    let mut md5 = [0u8; 16];
    md5[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    md5[8..].copy_from_slice(&i.to_be_bytes());
    let mut sha1 = [0u8; 20];
    sha1[..16].copy_from_slice(&md5);
    sha1[16..].copy_from_slice(&(i as u32).to_be_bytes());
    let mut r = KnownMediaRecord::new(SourceRef {
        format: SourceFormat::Other,
        ordinal: i,
        line: None,
    });
    r.hashes.md5 = Some(Md5::from_bytes(md5));
    r.hashes.sha1 = Some(Sha1::from_bytes(sha1));
    r.category = Some((i % 3) as u32);
    r.media_size = Some(10_000 + i % 5_000_000);
    r.mime_type = Some("image/jpeg".into());
    r.external_id = Some(i.to_string());
    r.victim_identified = Some(i.is_multiple_of(7));
    r.offender_identified = Some(false);
    r.is_distributed = Some(i.is_multiple_of(2));
    if i.is_multiple_of(5) {
        r.series = Some(format!("bench series {}", i % 1000));
    }
    r.file_names = vec![format!("IMG_{i:07}.JPG")];
    r
}

fn write_vics(path: &Path, n: u64) {
    let file = BufWriter::new(File::create(path).expect("create"));
    let mut w = KnownMediaWriter::vics(file, VicsLayout::v2_media()).expect("writer");
    for i in 1..=n {
        w.write(&record(i)).expect("write");
    }
    w.finish().expect("finish");
}

async fn connect(dir: &Path) -> Store {
    Store::connect(&Store::default_url(dir), StoreOptions::default())
        .await
        .expect("store")
}

/// The child: imports the file into a fresh database and prints its figures.
fn import_child(vics: &Path, db_dir: &Path) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = connect(db_dir).await;
        let org = store
            .create_org(&OrgName::parse("Bench").expect("n"), OrgKind::Hotline, None)
            .await
            .expect("org");
        let operator = Operator {
            user: None,
            name: "bench".into(),
            org: org.id,
        };
        let file = BufReader::new(File::open(vics).expect("open"));
        let cpu0 = cpu_seconds();
        let t = Instant::now();
        let report = import_known(
            &store,
            None,
            &operator,
            &ImportRequest::new("BENCH"),
            file,
            |_| {},
        )
        .await
        .expect("import");
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu0;
        let n = report.counts.records as f64;
        println!(
            "import: {} records ({} inserted, {} errors) in {secs:.1} s wall = {:.0} entries/s; \
             {cpu:.1} s CPU (all threads) = {:.0} entries/s of CPU; peak RSS (VmHWM) {} KiB",
            report.counts.records,
            report.counts.inserted,
            report.counts.errors,
            n / secs,
            n / cpu.max(1e-9),
            peak_rss_kib()
        );
        let db = db_dir.join("safeguard.db");
        let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
        println!("database file: {:.0} MiB", size as f64 / (1 << 20) as f64);
        // A second import of the same file: every record found and updated, none added.
        let file = BufReader::new(File::open(vics).expect("open"));
        let t = Instant::now();
        let again = import_known(
            &store,
            None,
            &operator,
            &ImportRequest::new("BENCH"),
            file,
            |_| {},
        )
        .await
        .expect("re-import");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "re-import (idempotent): {} updated, {} inserted in {secs:.1} s = {:.0} entries/s",
            again.counts.updated,
            again.counts.inserted,
            again.counts.records as f64 / secs
        );
    });
}

fn bench_import() {
    let n = env_usize("KNOWN_BENCH_N", 1_000_000) as u64;
    let dir = tempfile::tempdir().expect("dir");
    let vics = dir.path().join("bench.json");
    let t = Instant::now();
    write_vics(&vics, n);
    let size = std::fs::metadata(&vics).map(|m| m.len()).unwrap_or(0);
    println!(
        "generated {n} VICS 2.0 entries ({:.0} MB) in {:.1} s",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let db_dir = dir.path().join("db");
    std::fs::create_dir_all(&db_dir).expect("db dir");
    let status = Command::new(std::env::current_exe().expect("own path"))
        .env("KNOWN_BENCH_CHILD_IMPORT", &vics)
        .env("KNOWN_BENCH_CHILD_DB", &db_dir)
        .status()
        .expect("child");
    assert!(status.success(), "import child failed");
}

/// A generated 1024x768 pattern: gradient, stripes, a checkerboard and discs.
fn pattern(width: u32, height: u32) -> RgbImage {
    let mut img = RgbImage::from_fn(width, height, |x, y| {
        let t = (x + y) as f32 / (width + height) as f32;
        let stripe = 40.0
            * (std::f32::consts::TAU
                * (x as f32 * 7.0 / width as f32 + y as f32 * 3.0 / height as f32))
                .sin();
        Rgb([
            (30.0 + 200.0 * t + stripe).clamp(0.0, 255.0) as u8,
            (220.0 - 150.0 * t + stripe).clamp(0.0, 255.0) as u8,
            (90.0 + stripe).clamp(0.0, 255.0) as u8,
        ])
    });
    for y in 100u32..400 {
        for x in 600u32..950 {
            if ((x / 25) + (y / 25)).is_multiple_of(2) {
                img.put_pixel(x, y, Rgb([250, 250, 20]));
            }
        }
    }
    for (cx, cy, r, c) in [
        (200i64, 500i64, 120i64, [200u8, 30, 30]),
        (500, 200, 80, [20, 20, 120]),
        (800, 650, 90, [10, 160, 10]),
    ] {
        for y in (cy - r).max(0)..(cy + r).min(height as i64) {
            for x in (cx - r).max(0)..(cx + r).min(width as i64) {
                if (x - cx).pow(2) + (y - cy).pow(2) <= r * r {
                    img.put_pixel(x as u32, y as u32, Rgb(c));
                }
            }
        }
    }
    img
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(name: &str, mut d: Vec<Duration>) {
    d.sort();
    println!(
        "{name}: median {:.2} ms, p90 {:.2} ms, min {:.2} ms",
        percentile(&d, 0.5).as_secs_f64() * 1e3,
        percentile(&d, 0.9).as_secs_f64() * 1e3,
        d[0].as_secs_f64() * 1e3
    );
}

fn bench_match() {
    let size = env_usize("KNOWN_BENCH_INDEX", 10_000_000);
    let queries = env_usize("KNOWN_BENCH_QUERIES", 30);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("dir");
        let store = connect(dir.path()).await;
        let org = store
            .create_org(&OrgName::parse("Bench").expect("n"), OrgKind::Hotline, None)
            .await
            .expect("org");
        let original = pattern(1024, 768);
        let mut known_jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut known_jpeg, 90)
            .encode_image(&original)
            .expect("jpeg");
        let known = MediaHashes::of_bytes(&known_jpeg);
        let actor = KnownActor { user: None, name: "bench" };
        let set = store
            .create_hash_set(
                &NewHashSet {
                    name: "BENCH",
                    owner_org: org.id,
                    purpose: safeguard_domain::known::HashSetPurpose::Known,
                    source: None,
                    licence: None,
                    category_scheme: None,
                    shared: false,
                },
                actor,
            )
            .await
            .expect("set");
        let out = store
            .upsert_known_entries(
                ImportContext {
                    hash_set: set.id,
                    import_id: None,
                    org: org.id,
                },
                &[NewKnownEntry {
                    hashes: EntryHashes {
                        md5: Some(known.digests.md5),
                        pdq: known.pdq(),
                        ..EntryHashes::default()
                    },
                    series: Some("Bench series".into()),
                    ..NewKnownEntry::default()
                }],
                actor,
            )
            .await
            .expect("planted entry");
        let UpsertOutcome::Inserted { id: planted, .. } = out[0] else {
            panic!("planted entry not inserted")
        };

        // 10 M random hashes (ids above any real entry) plus the planted one.
        let t = Instant::now();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let known_pdq = known.pdq().expect("pdq");
        let mut entries: Vec<(EntryId, PdqHash)> = (0..size)
            .map(|i| (EntryId(1_000_000_000 + i as i64), PdqHash(rng.gen())))
            .collect();
        entries.push((planted, known_pdq));
        let index = MatchIndex::from_pdqs(entries).expect("index");
        println!(
            "index of {} PDQ hashes built in {:.1} s; peak RSS so far {} MiB",
            index.len(),
            t.elapsed().as_secs_f64(),
            peak_rss_kib() / 1024
        );

        // The incoming file: the known picture rotated 90° and re-encoded (q80).
        let rotated = image::imageops::rotate90(&original);
        let mut incoming = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut incoming, 80)
            .encode_image(&rotated)
            .expect("jpeg");
        let (mut total, mut hashing, mut lookups, mut whole_match) = (vec![], vec![], vec![], vec![]);
        let (mut hashing_cpu, mut lookups_cpu) = (vec![], vec![]);
        for _ in 0..queries {
            let t0 = Instant::now();
            let c0 = thread_cpu();
            let media = MediaHashes::of_bytes(&incoming);
            hashing_cpu.push(thread_cpu() - c0);
            let t1 = Instant::now();
            let verdict = match_media(&store, &index, Some(org.id), &media).await.expect("match");
            let t2 = Instant::now();
            let image = media.image.expect("image");
            let t3 = Instant::now();
            let c3 = thread_cpu();
            let found = index.search(&image.dihedral, PDQ_MATCH_DISTANCE).expect("search");
            lookups_cpu.push(thread_cpu() - c3);
            let t4 = Instant::now();
            assert_eq!(verdict.matches.len(), 1, "the rotated copy is found");
            assert_eq!(found.len(), 1);
            total.push(t2 - t0);
            hashing.push(t1 - t0);
            whole_match.push(t2 - t1);
            lookups.push(t4 - t3);
        }
        println!(
            "incoming JPEG {} bytes, 1024x768 rotated 90°; PDQ quality {}; match distance {}",
            incoming.len(),
            MediaHashes::of_bytes(&incoming).image.map(|i| i.quality).unwrap_or(0),
            match_media(&store, &index, Some(org.id), &MediaHashes::of_bytes(&incoming))
                .await
                .expect("m")
                .matches[0]
                .distance
        );
        summary("bytes -> verdict (decode, digests, 8 dihedral PDQ, SQL exact, 8 index lookups, SQL read-back)", total);
        summary("  decode + MD5/SHA-1/SHA-256 + dihedral PDQ", hashing);
        summary("  match_media (SQL exact + 8 lookups + SQL read-back)", whole_match);
        summary("  8 dihedral index lookups alone (10M)", lookups);
        summary("  decode + digests + dihedral PDQ, thread CPU time", hashing_cpu);
        summary("  8 dihedral index lookups, thread CPU time", lookups_cpu);
        println!("peak RSS (VmHWM) {} MiB", peak_rss_kib() / 1024);
    });
}

fn main() {
    if let (Ok(vics), Ok(db)) = (
        std::env::var("KNOWN_BENCH_CHILD_IMPORT"),
        std::env::var("KNOWN_BENCH_CHILD_DB"),
    ) {
        import_child(Path::new(&vics), Path::new(&db));
        return;
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let all = args.is_empty();
    if all || args.iter().any(|a| a == "import") {
        bench_import();
    }
    if all || args.iter().any(|a| a == "match") {
        bench_match();
    }
}
