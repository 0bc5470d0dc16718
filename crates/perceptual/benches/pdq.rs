//! PDQ speed on a decoded 1024×768 photo, single-threaded, side by side with Meta's reference C++
//! (PyPI `pdqhash`, timed by `benches/pdqhash_peer.py` on the very same pixels).
//!
//! ```text
//! python3 -m venv /tmp/pdqenv && /tmp/pdqenv/bin/pip install pdqhash numpy pillow
//! PDQ_PEER_PYTHON=/tmp/pdqenv/bin/python taskset -c 0 cargo bench -p safeguard-perceptual --bench pdq
//! ```
//! Not run in CI. Without a Python that has `pdqhash`, the peer part is skipped with a message.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use criterion::{black_box, Criterion};
use safeguard_perceptual::{
    decode, dihedral_image, hash_bytes, hash_image, DecodeOptions, RgbImage,
};

fn photo() -> RgbImage {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/jpeg/bridge-1-original.jpg");
    let full = decode::decode_file(&path, &DecodeOptions::default()).unwrap();
    image::imageops::resize(&full, 1024, 768, image::imageops::FilterType::Triangle)
}

fn benches(c: &mut Criterion, img: &RgbImage, jpeg: &[u8]) {
    let mut group = c.benchmark_group("pdq-1024x768");
    group.bench_function("hash (luma + blur + DCT)", |b| {
        b.iter(|| hash_image(black_box(img)))
    });
    group.bench_function("dihedral (8 hashes)", |b| {
        b.iter(|| dihedral_image(black_box(img)))
    });
    group.bench_function("decode JPEG + hash", |b| {
        b.iter(|| hash_bytes(black_box(jpeg), &DecodeOptions::default()).unwrap())
    });
    group.finish();
}

/// Runs the Python peer on the same pixels and prints its figures next to ours.
fn peer(img: &RgbImage, rust_ms: f64) {
    let python = std::env::var("PDQ_PEER_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let dir = std::env::temp_dir().join(format!("pdq-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("bridge-1024x768.png");
    img.save(&png).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pdqhash_peer.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&png)
        .arg("5")
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            println!(
                "peer skipped: {python} could not run pdqhash ({}). \
                 Set PDQ_PEER_PYTHON to a Python with `pip install pdqhash numpy pillow`.",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            return;
        }
        Err(e) => return println!("peer skipped: cannot run {python}: {e}"),
    };
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = hash_image(img);
    let same = report["hash"] == ours.hash.to_hex() && report["quality"] == ours.quality;
    let peer_ms = report["compute_ms"].as_f64().unwrap_or(f64::NAN);
    let peer_dih_ms = report["compute_dihedral_ms"].as_f64().unwrap_or(f64::NAN);
    println!("\n== PDQ of a decoded 1024x768 RGB image, one core ==");
    println!(
        "reference C++ via pdqhash.compute       : {peer_ms:8.2} ms  ({:6.1} images/s)",
        1000.0 / peer_ms
    );
    println!("reference C++ via pdqhash.compute_dihedral: {peer_dih_ms:6.2} ms");
    println!(
        "safeguard-perceptual hash_image          : {rust_ms:8.2} ms  ({:6.1} images/s)",
        1000.0 / rust_ms
    );
    println!(
        "speed-up                                 : {:8.1}x",
        peer_ms / rust_ms
    );
    println!("same hash and quality as the reference   : {same}");
    assert!(same, "the Rust hash differs from pdqhash: {report}");
}

/// Mean time of one `hash_image`, measured directly for the side-by-side line.
fn quick_mean_ms(img: &RgbImage) -> f64 {
    for _ in 0..5 {
        black_box(hash_image(img));
    }
    let runs = 200;
    let start = std::time::Instant::now();
    for _ in 0..runs {
        black_box(hash_image(black_box(img)));
    }
    start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs)
}

fn main() {
    let img = photo();
    let mut jpeg = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut jpeg),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c, &img, &jpeg);
    c.final_summary();
    peer(&img, quick_mean_ms(&img));
}
