//! `safeguard hash` end to end: the built binary on generated images, a vector with a known
//! reference hash, a video (when FFmpeg is installed) and a file that is not media.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn perceptual_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../perceptual/tests/data")
}

fn have_ffmpeg() -> bool {
    ["ffmpeg", "ffprobe"].iter().all(|tool| {
        Command::new(tool)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_safeguard"))
        .arg("hash")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn json_lines_in_argument_order_with_errors_reported() {
    let dir = tempfile::tempdir().unwrap();
    // A handful of generated images, so the work is spread over threads.
    let mut paths = Vec::new();
    for i in 0..6u32 {
        let img = image::RgbImage::from_fn(120 + i * 10, 90, |x, y| {
            image::Rgb([(x * (i + 1)) as u8, (y * 3 + x) as u8, ((x ^ y) * 7) as u8])
        });
        let p = dir.path().join(format!("gen-{i}.png"));
        img.save(&p).unwrap();
        paths.push(p.to_string_lossy().into_owned());
    }
    let junk = dir.path().join("notes.bin");
    std::fs::write(&junk, b"definitely not an image or a video \x00\x01\x02").unwrap();
    let bridge = perceptual_data().join("png/rgb.png");
    let mut args: Vec<String> = vec!["--json".into(), bridge.to_string_lossy().into_owned()];
    args.push(paths[0].clone());
    args.push(junk.to_string_lossy().into_owned());
    args.extend(paths[1..].iter().cloned());
    let video = perceptual_data().join("video/test-padded-dimensions.mp4");
    let with_video = have_ffmpeg();
    if with_video {
        args.push(video.to_string_lossy().into_owned());
    } else {
        println!("SKIPPED: the video part (ffmpeg/ffprobe not installed)");
    }
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = run(&arg_refs);
    assert_eq!(
        code, 1,
        "one file is not media: exit 1 at the end; stderr: {stderr}"
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), args.len() - 1, "one line per file");
    for (line, given) in lines.iter().zip(&args[1..]) {
        assert_eq!(line["path"], given.as_str(), "lines follow argument order");
        for key in ["md5", "sha1", "sha256"] {
            assert!(line[key].is_string(), "{key} in {line}");
        }
    }
    // The reference vector: the hash and quality of Meta's implementation.
    assert_eq!(
        lines[0]["pdq"],
        "fb4eed46cb8a6c78819ca06b756c541f7b07ef6d02c82fccd00f862166272cda"
    );
    assert_eq!(lines[0]["quality"], 100);
    let bytes = std::fs::read(&bridge).unwrap();
    let digests = safeguard_domain::digest::Digester::digest(&bytes);
    assert_eq!(lines[0]["sha256"], digests.sha256.to_hex().as_str());
    assert_eq!(lines[0]["md5"], digests.md5.to_hex().as_str());
    // Generated images: a PDQ and a quality, no error.
    for line in lines[1..]
        .iter()
        .filter(|l| l["path"].as_str().unwrap().ends_with(".png"))
    {
        assert_eq!(line["pdq"].as_str().unwrap().len(), 64);
        assert!(line["quality"].as_u64().unwrap() <= 100);
        assert!(line.get("error").is_none());
    }
    // The junk file: digests, an error, no perceptual hash.
    let junk_line = &lines[2];
    assert!(junk_line["error"].is_string());
    assert!(junk_line.get("pdq").is_none());
    if with_video {
        let v = lines.last().unwrap();
        let frames = v["vpdq"].as_array().unwrap();
        // 150 frames at 30 fps, one per second: frames 0, 30, …, 120.
        let numbers: Vec<u64> = frames
            .iter()
            .map(|f| f["frame"].as_u64().unwrap())
            .collect();
        assert_eq!(numbers, [0, 30, 60, 90, 120]);
        assert_eq!(frames[1]["timestamp"], 1.0);
        // Frame 0 of the reference's hashes of this video (FFmpeg 5.1).
        assert_eq!(
            frames[0]["pdq"],
            "e6cf059c4c6696362cc9d6663cd9c263714169d98327399993363d9c3d9cc666"
        );
        assert_eq!(frames[0]["quality"], 100);
        assert!(v.get("error").is_none());
    }
}

#[test]
fn table_output_and_success_exit() {
    let png = perceptual_data().join("png/wee.png");
    let (code, stdout, _) = run(&[png.to_str().unwrap()]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "header and one row: {stdout}");
    assert!(lines[0].starts_with("path"));
    assert!(lines[1].contains("6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d"));
}

#[test]
fn a_missing_file_is_an_error_line_not_a_crash() {
    let (code, stdout, _) = run(&["--json", "/nonexistent/file.jpg"]);
    assert_eq!(code, 1);
    let line: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(line["path"], "/nonexistent/file.jpg");
    assert!(line["error"].as_str().unwrap().contains("cannot open"));
    assert!(line.get("md5").is_none());
}
