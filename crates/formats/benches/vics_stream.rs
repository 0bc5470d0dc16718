//! Streaming VICS import of one million generated entries: entries/s and peak memory.
//!
//! `cargo bench -p safeguard-formats --bench vics_stream` (set `VICS_BENCH_N` for another count).
//!
//! The file is generated with the streaming writer, then parsed in a child process of this same
//! binary so that the peak resident memory (`VmHWM` in /proc/self/status) is the parse's alone.
//! For comparison a second child loads the same file as one `serde_json::Value` (what a
//! non-streaming importer would do).

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use safeguard_domain::digest::{Md5, Sha1};
use safeguard_formats::vics::{Media, MediaFile, VicsLayout, VicsReader, VicsVersion, VicsWriter};

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

/// CPU time (user + system) of this process in seconds, from /proc/self/stat (clock ticks of
/// 1/100 s): on a shared machine the wall-clock rate understates the parser.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces) start after ") ".
            let rest = s.rsplit_once(") ")?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

fn media(i: u64) -> Media {
    let mut md5 = [0u8; 16];
    md5[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    md5[8..].copy_from_slice(&i.to_be_bytes());
    let mut sha1 = [0u8; 20];
    sha1[..16].copy_from_slice(&md5);
    sha1[16..].copy_from_slice(&(i as u32).to_be_bytes());
    let mut m = Media::new(Md5::from_bytes(md5));
    m.media_id = Some(i);
    m.sha1 = Some(Sha1::from_bytes(sha1));
    m.category = Some((i % 3) as u32);
    m.media_size = Some(10_000 + i % 5_000_000);
    m.mime_type = Some("image/jpeg".into());
    m.date_updated = Some("2024-01-02T03:04:05.000Z".into());
    m.is_precategorized = Some(true);
    m.victim_identified = Some(i.is_multiple_of(7));
    m.offender_identified = Some(false);
    m.is_distributed = Some(i.is_multiple_of(2));
    if i.is_multiple_of(5) {
        m.series = Some(format!("SYNTH-SERIES-{}", i % 997));
    }
    m.media_files.push(MediaFile {
        file_name: Some(format!("IMG_{i:07}.JPG")),
        file_path: Some("Partition 1\\DCIM\\100MEDIA\\".into()),
        ..MediaFile::default()
    });
    m
}

fn parse(path: &Path) {
    let start = Instant::now();
    let file = File::open(path).expect("open generated file");
    let mut reader = VicsReader::new(BufReader::with_capacity(1 << 16, file)).expect("envelope");
    let mut n = 0u64;
    let mut victims = 0u64;
    let mut checksum = 0u8;
    for record in reader.by_ref() {
        let record = record.expect("record");
        n += 1;
        victims += u64::from(record.media.victim_identified == Some(true));
        checksum ^= record.media.md5.as_bytes()[15];
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds();
    println!(
        "streaming parse: {n} entries in {secs:.2} s wall = {:.0} entries/s; {cpu:.2} s CPU = {:.0} entries/s of CPU ({victims} victim-identified, checksum {checksum}); peak RSS (VmHWM) {} KiB",
        n as f64 / secs,
        n as f64 / cpu.max(0.01),
        peak_rss_kib()
    );
}

fn parse_dom(path: &Path) {
    let start = Instant::now();
    let file = File::open(path).expect("open generated file");
    let value: serde_json::Value =
        serde_json::from_reader(BufReader::with_capacity(1 << 16, file)).expect("parse");
    let n = value
        .get("value")
        .and_then(|v| v.as_array())
        .map_or(0, Vec::len);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "whole-document serde_json::Value (baseline, no typed conversion): {n} entries in {secs:.2} s wall, {:.2} s CPU; peak RSS (VmHWM) {} KiB",
        cpu_seconds(),
        peak_rss_kib()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--parse-only") {
        parse(Path::new(&args[i + 1]));
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--parse-dom") {
        parse_dom(Path::new(&args[i + 1]));
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--generate") {
        // `--generate PATH N`: only write a file (for profiling the parse on its own).
        let n = args
            .get(i + 2)
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000);
        let out = BufWriter::new(File::create(&args[i + 1]).expect("create"));
        let mut w = VicsWriter::new(out, VicsLayout::default()).expect("writer");
        for k in 1..=n {
            w.write_media(&media(k)).expect("write");
        }
        w.finish().expect("finish");
        return;
    }
    let n: u64 = std::env::var("VICS_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    for version in [VicsVersion::V2_0, VicsVersion::V1_2] {
        let path = dir.path().join(format!("vics-{}.json", version.number()));
        let start = Instant::now();
        let out = BufWriter::with_capacity(1 << 16, File::create(&path).expect("create"));
        let layout = VicsLayout {
            version,
            ..VicsLayout::default()
        };
        let mut w = VicsWriter::new(out, layout).expect("writer");
        for i in 1..=n {
            w.write_media(&media(i)).expect("write");
        }
        w.finish().expect("finish");
        let secs = start.elapsed().as_secs_f64();
        let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
        println!(
            "VICS {}: wrote {n} entries ({:.0} MB) in {secs:.2} s = {:.0} entries/s",
            version.number(),
            bytes as f64 / 1e6,
            n as f64 / secs
        );
        let exe = std::env::current_exe().expect("own path");
        for mode in ["--parse-only", "--parse-dom"] {
            if mode == "--parse-dom" && version != VicsVersion::V2_0 {
                continue;
            }
            let status = Command::new(&exe)
                .arg(mode)
                .arg(&path)
                .status()
                .expect("run child");
            assert!(status.success(), "{mode} failed");
        }
        std::fs::remove_file(&path).ok();
    }
}
