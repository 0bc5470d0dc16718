//! Benchmark of the Hamming index against the brute-force scan, over random 256-bit hashes.
//!
//! Run (not in CI): `cargo bench -p safeguard-hamming --bench index`
//!
//! Environment: `HAMMING_BENCH_N` (stored hashes, default 10 000 000), `HAMMING_BENCH_QUERIES`
//! (timed index queries per kind, default 1000), `HAMMING_BENCH_SCAN_QUERIES` (brute-force
//! queries per kind, default 20), `HAMMING_BENCH_DIR` (where the data set is written for
//! `benches/faiss_multihash.py`, default `target/hamming-bench` of the workspace).

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use safeguard_hamming::{BruteForce, HammingIndex, Hash256, Strategy, DEFAULT_MAX_DISTANCE};

const SEED: u64 = 0x5afe_6a4d;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn near_duplicate(rng: &mut StdRng, hash: &Hash256, max_flips: usize) -> Hash256 {
    let flips = rng.gen_range(0..=max_flips);
    let mut words = hash.words();
    for bit in sample(rng, 256, flips) {
        words[bit / 64] ^= 1 << (bit % 64);
    }
    Hash256::from_words(words)
}

/// CPU time consumed by this thread: unlike wall time it excludes the time the thread waited
/// for a core, which on a shared 2-core machine dominates the tail.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// CPU time consumed by the whole process (all threads), for the multi-threaded build.
fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Wall-clock and thread-CPU durations of each timed call.
#[derive(Default)]
struct Timings {
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
}

fn percentile(values: &[Duration], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(rank).copied().unwrap_or_default().as_secs_f64() * 1e6
}

impl Timings {
    fn time<T>(&mut self, run: impl FnOnce() -> T) -> T {
        let (wall, cpu) = (Instant::now(), thread_cpu());
        let out = run();
        self.cpu.push(thread_cpu().saturating_sub(cpu));
        self.wall.push(wall.elapsed());
        out
    }
}

fn time_queries<T>(queries: &[Hash256], mut run: impl FnMut(&Hash256) -> T) -> (Timings, Vec<T>) {
    let mut timings = Timings::default();
    let results = queries.iter().map(|q| timings.time(|| run(q))).collect();
    (timings, results)
}

fn row(label: &str, queries: usize, t: &Timings, found: usize) {
    println!(
        "| {label:<46} | {queries:>7} | {:>9.1} | {:>9.1} | {:>9.1} | {:>9.1} | {found:>6} |",
        percentile(&t.wall, 0.5),
        percentile(&t.wall, 0.99),
        percentile(&t.cpu, 0.5),
        percentile(&t.cpu, 0.99),
    );
}

fn write_hashes(path: &PathBuf, hashes: impl Iterator<Item = Hash256>) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for h in hashes {
        out.write_all(&h.to_bytes())?;
    }
    out.flush()
}

fn main() -> std::io::Result<()> {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    let n = env_usize("HAMMING_BENCH_N", 10_000_000);
    let nq = env_usize("HAMMING_BENCH_QUERIES", 1000);
    let nscan = env_usize("HAMMING_BENCH_SCAN_QUERIES", 20);
    // `cargo bench` runs in the crate directory; the default is the workspace's target/.
    let dir = std::env::var("HAMMING_BENCH_DIR").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/hamming-bench"),
        PathBuf::from,
    );
    let d = DEFAULT_MAX_DISTANCE;

    let mut rng = StdRng::seed_from_u64(SEED);
    let hashes: Vec<Hash256> = (0..n).map(|_| Hash256::from_words(rng.gen())).collect();
    let near: Vec<Hash256> = (0..nq)
        .map(|_| {
            let stored = hashes[rng.gen_range(0..n)];
            near_duplicate(&mut rng, &stored, d as usize)
        })
        .collect();
    let random: Vec<Hash256> = (0..nq).map(|_| Hash256::from_words(rng.gen())).collect();

    std::fs::create_dir_all(&dir)?;
    write_hashes(&dir.join("stored.bin"), hashes.iter().copied())?;
    write_hashes(&dir.join("near.bin"), near.iter().copied())?;
    write_hashes(&dir.join("random.bin"), random.iter().copied())?;

    let rss_before = rss_bytes();
    let build_cpu = process_cpu();
    let start = Instant::now();
    let index = HammingIndex::from_entries(hashes.iter().enumerate().map(|(i, h)| (i as u64, *h)))
        .map_err(std::io::Error::other)?;
    let build = start.elapsed();
    let build_cpu = process_cpu().saturating_sub(build_cpu);
    let rss_after = rss_bytes();
    let usage = index.memory_usage();

    println!("# Hamming index benchmark: {n} random 256-bit hashes, radius {d}, seed {SEED:#x}");
    println!(
        "build (from_entries, {} threads): {:.2} s wall, {:.2} s CPU (all threads)",
        std::thread::available_parallelism().map_or(1, usize::from),
        build.as_secs_f64(),
        build_cpu.as_secs_f64(),
    );
    println!(
        "memory (accounted): {:.1} bytes/hash = hashes {:.1} + ids/bookkeeping {:.1} + tables {:.1} + allocator estimate {:.1}",
        usage.bytes_per_hash(),
        usage.hashes as f64 / n as f64,
        usage.ids_and_bookkeeping as f64 / n as f64,
        usage.tables as f64 / n as f64,
        usage.allocator_estimate as f64 / n as f64,
    );
    println!(
        "memory (RSS growth during build): {:.1} bytes/hash",
        rss_after.saturating_sub(rss_before) as f64 / n as f64
    );
    println!();
    println!("(times in µs; cpu = this thread's CPU time, excluding waits for a core)");
    println!(
        "| {:<46} | {:>7} | {:>9} | {:>9} | {:>9} | {:>9} | {:>6} |",
        "query", "queries", "wall p50", "wall p99", "cpu p50", "cpu p99", "found"
    );
    println!(
        "|{:-<48}|{:->9}|{:->11}|{:->11}|{:->11}|{:->11}|{:->8}|",
        "", "", "", "", "", "", ""
    );

    // Warm the mask table and caches.
    for q in near.iter().take(20) {
        index.search(q, d);
    }

    let (t, near_results) = time_queries(&near, |q| index.search(q, d));
    row(
        "index search d=31, near-duplicate queries",
        nq,
        &t,
        near_results.iter().map(Vec::len).sum(),
    );
    let (t, random_results) = time_queries(&random, |q| index.search(q, d));
    row(
        "index search d=31, random queries",
        nq,
        &t,
        random_results.iter().map(Vec::len).sum(),
    );
    let groups: Vec<Vec<Hash256>> = near
        .chunks(8)
        .take(nq / 8)
        .map(<[Hash256]>::to_vec)
        .collect();
    let mut times = Timings::default();
    let mut found = 0;
    for group in &groups {
        found += times.time(|| index.search_many(group, d).len());
    }
    row(
        "index search_many (8 queries) d=31, near",
        groups.len(),
        &times,
        found,
    );
    let (t, nearest) = time_queries(&near, |q| index.nearest(q, 1));
    row(
        "index nearest k=1, near-duplicate queries",
        nq,
        &t,
        nearest.iter().map(Vec::len).sum(),
    );
    let few = nscan.min(nq);
    let (t, nearest) = time_queries(&random[..few], |q| index.nearest(q, 1));
    row(
        "index nearest k=1, random (falls back to scan)",
        few,
        &t,
        nearest.iter().map(Vec::len).sum(),
    );
    let (t, _) = time_queries(&random[..few], |q| {
        index.search_many_with(std::slice::from_ref(q), d, Strategy::Scan)
    });
    row("index's own linear scan d=31, random", few, &t, 0);

    // The floor, on the same data.
    let brute = BruteForce::from_entries(hashes.iter().enumerate().map(|(i, h)| (i as u64, *h)));
    let (t, brute_near) = time_queries(&near[..few], |q| brute.search(q, d));
    row(
        "brute-force scan d=31, near-duplicate queries",
        few,
        &t,
        brute_near.iter().map(Vec::len).sum(),
    );
    let (t, brute_random) = time_queries(&random[..few], |q| brute.search(q, d));
    row(
        "brute-force scan d=31, random queries",
        few,
        &t,
        brute_random.iter().map(Vec::len).sum(),
    );
    // The timed index answers must be the brute-force answers.
    assert_eq!(&near_results[..few], &brute_near[..]);
    assert_eq!(&random_results[..few], &brute_random[..]);
    drop(brute);

    // Incremental updates on the full index.
    let mut index = index;
    let inserts: Vec<Hash256> = (0..100_000)
        .map(|_| Hash256::from_words(rng.gen()))
        .collect();
    let mut insert_times = Timings::default();
    for (i, h) in inserts.iter().enumerate() {
        insert_times
            .time(|| index.insert((n + i) as u64, *h))
            .map_err(std::io::Error::other)?;
    }
    let mut remove_times = Timings::default();
    let removed = remove_times.time(|| index.remove_all((0..1000u64).map(|i| i * 7)));
    remove_times.time(|| index.remove(12_345_678_901));
    let (t, _) = time_queries(&near, |q| index.search(q, d));
    println!();
    let total = |v: &[Duration]| v.iter().sum::<Duration>().as_secs_f64();
    println!(
        "insert (100 000 into the built index): mean {:.2} µs wall, {:.2} µs CPU; p99 {:.1} µs CPU",
        total(&insert_times.wall) / inserts.len() as f64 * 1e6,
        total(&insert_times.cpu) / inserts.len() as f64 * 1e6,
        percentile(&insert_times.cpu, 0.99),
    );
    println!(
        "remove_all of 1000 ids ({removed} hashes): {:.1} ms wall, {:.1} ms CPU; remove(id): {:.1} ms wall, {:.1} ms CPU",
        remove_times.wall[0].as_secs_f64() * 1e3,
        remove_times.cpu[0].as_secs_f64() * 1e3,
        remove_times.wall[1].as_secs_f64() * 1e3,
        remove_times.cpu[1].as_secs_f64() * 1e3,
    );
    println!(
        "after updates: near-duplicate search wall p50 {:.1} µs, p99 {:.1} µs, cpu p50 {:.1} µs; memory {:.1} bytes/hash; needs_compaction: {}",
        percentile(&t.wall, 0.5),
        percentile(&t.wall, 0.99),
        percentile(&t.cpu, 0.5),
        index.memory_usage().bytes_per_hash(),
        index.needs_compaction(),
    );
    let (start, start_cpu) = (Instant::now(), process_cpu());
    index.compact();
    let compact = start.elapsed();
    let compact_cpu = process_cpu().saturating_sub(start_cpu);
    let (t, _) = time_queries(&near, |q| index.search(q, d));
    println!(
        "compact(): {:.2} s wall, {:.2} s CPU; then near-duplicate search wall p50 {:.1} µs, cpu p50 {:.1} µs; memory {:.1} bytes/hash",
        compact.as_secs_f64(),
        compact_cpu.as_secs_f64(),
        percentile(&t.wall, 0.5),
        percentile(&t.cpu, 0.5),
        index.memory_usage().bytes_per_hash(),
    );
    println!("data for the faiss peer written to {}", dir.display());
    Ok(())
}
