//! vPDQ against the reference C++ built on Debian 12's FFmpeg 5.1 (`vpdq-recomputed-ffmpeg5.1/`),
//! and the matcher against `vpdq-match-expected.csv` (both official semantics).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use safeguard_perceptual::vpdq::{
    hash_video, match_videos, parse_features, write_features, MatchOptions, MatchSemantics,
    VideoOptions, VpdqFeature,
};

use common::{csv_rows, data_dir, have_ffmpeg, shared_pdq_dir, skip};

fn read(path: &Path) -> Vec<VpdqFeature> {
    parse_features(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// True when the installed FFmpeg is the 5.1 series the expected files were made with.
fn ffmpeg_is_5_1() -> bool {
    std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).starts_with("ffmpeg version 5.1"))
}

/// Compares our features with the reference's: bit for bit under FFmpeg 5.1, otherwise with the
/// reference regression-test tolerance (frames of quality ≥ 50 within distance < 31).
fn compare(name: &str, got: &[VpdqFeature], want: &[VpdqFeature]) {
    assert_eq!(got.len(), want.len(), "{name}: frame count");
    if ffmpeg_is_5_1() {
        assert_eq!(write_features(got), write_features(want), "{name}");
        println!("{name}: {} frames bit-exact", got.len());
    } else {
        let mut worst = 0;
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.frame, w.frame, "{name}");
            if w.quality >= 50 {
                worst = worst.max(g.hash.distance(&w.hash));
            }
        }
        println!("{name}: FFmpeg is not 5.1, compared with tolerance, worst distance {worst}");
        assert!(worst < 31, "{name}");
    }
}

struct Case {
    name: &'static str,
    video: PathBuf,
    expected: PathBuf,
    options: VideoOptions,
}

fn every_frame(resize: Option<(u32, u32)>) -> VideoOptions {
    VideoOptions {
        seconds_per_hash: 0.0,
        resize,
        ..VideoOptions::default()
    }
}

#[test]
fn frame_hashes_equal_the_reference_built_on_the_same_ffmpeg() {
    if !have_ffmpeg() {
        println!("SKIPPED: ffmpeg/ffprobe not installed (apt-get install ffmpeg)");
        return;
    }
    let local = data_dir().join("video");
    let mut cases = vec![
        Case {
            name: "test-padded-dimensions (every frame, native)",
            video: local.join("test-padded-dimensions.mp4"),
            expected: local.join("test-padded-dimensions.txt"),
            options: every_frame(None),
        },
        Case {
            name: "doorknob-hd-no-bar (every frame, native)",
            video: local.join("doorknob-hd-no-bar.mp4"),
            expected: local.join("doorknob-hd-no-bar.txt"),
            options: every_frame(None),
        },
        Case {
            name: "doorknob-hd-no-bar (every frame, 128x128)",
            video: local.join("doorknob-hd-no-bar.mp4"),
            expected: local.join("doorknob-hd-no-bar-128x128.txt"),
            options: every_frame(Some((128, 128))),
        },
    ];
    match shared_pdq_dir() {
        Some(dir) => {
            let videos = dir.join("ThreatExchange/tmk/sample-videos");
            let expected = dir.join("derived/vpdq-recomputed-ffmpeg5.1");
            for (name, video, file, options) in [
                (
                    "chair-19-sd-bar",
                    "chair-19-sd-bar",
                    "chair-19-sd-bar",
                    every_frame(None),
                ),
                (
                    "chair-20-sd-bar",
                    "chair-20-sd-bar",
                    "chair-20-sd-bar",
                    every_frame(None),
                ),
                (
                    "chair-20-sd-bar 128x128",
                    "chair-20-sd-bar",
                    "chair-20-sd-bar-128x128",
                    every_frame(Some((128, 128))),
                ),
                (
                    "pattern-sd-grey-bar",
                    "pattern-sd-grey-bar",
                    "pattern-sd-grey-bar",
                    every_frame(None),
                ),
                (
                    "chair-20-sd-bar at 1 s per hash",
                    "chair-20-sd-bar",
                    "chair-20-r1",
                    VideoOptions::default(),
                ),
            ] {
                cases.push(Case {
                    name,
                    video: videos.join(format!("{video}.mp4")),
                    expected: expected.join(format!("{file}.txt")),
                    options,
                });
            }
        }
        None => skip("chair-19/chair-20/pattern videos"),
    }
    for case in cases {
        let got = hash_video(&case.video, &case.options).unwrap();
        compare(case.name, &got, &read(&case.expected));
    }
}

#[test]
fn one_frame_per_second_samples_every_fps_th_frame() {
    if !have_ffmpeg() {
        println!("SKIPPED: ffmpeg/ffprobe not installed (apt-get install ffmpeg)");
        return;
    }
    let video = data_dir().join("video/doorknob-hd-no-bar.mp4");
    let all = read(&data_dir().join("video/doorknob-hd-no-bar.txt"));
    let sampled = hash_video(&video, &VideoOptions::default()).unwrap();
    // 30 fps: frames 0, 30, 60, 90 at 0, 1, 2, 3 s.
    let frames: Vec<u64> = sampled.iter().map(|f| f.frame).collect();
    assert_eq!(frames, [0, 30, 60, 90]);
    assert_eq!(sampled[2].timestamp, 2.0);
    let want: Vec<VpdqFeature> = all.into_iter().filter(|f| f.frame % 30 == 0).collect();
    compare("doorknob at 1 s per hash", &sampled, &want);
}

#[test]
fn non_videos_give_errors() {
    if !have_ffmpeg() {
        println!("SKIPPED: ffmpeg/ffprobe not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("vpdq-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.mp4");
    std::fs::write(&junk, b"this is not a video at all").unwrap();
    assert!(hash_video(&junk, &VideoOptions::default()).is_err());
    // A truncated MP4 either yields the frames before the cut or a typed error, never a panic.
    let bytes = std::fs::read(data_dir().join("video/test-padded-dimensions.mp4")).unwrap();
    let cut = dir.join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let _ = hash_video(&cut, &VideoOptions::default());
    assert!(hash_video(&dir.join("missing.mp4"), &VideoOptions::default()).is_err());
    let capped = VideoOptions {
        max_hashed_frames: 2,
        ..VideoOptions::default()
    };
    let video = data_dir().join("video/test-padded-dimensions.mp4");
    assert!(matches!(
        hash_video(&video, &capped),
        Err(safeguard_perceptual::vpdq::VpdqError::TooManyFrames(2))
    ));
    let exact = VideoOptions {
        max_hashed_frames: 5,
        ..VideoOptions::default()
    };
    assert_eq!(hash_video(&video, &exact).unwrap().len(), 5);
    let no_tool = VideoOptions {
        ffprobe: PathBuf::from("/nonexistent/ffprobe"),
        ..VideoOptions::default()
    };
    assert!(matches!(
        hash_video(&junk, &no_tool),
        Err(safeguard_perceptual::vpdq::VpdqError::ToolMissing { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The sample-hash file of `name` in `set` ("full" or "128x128"), local copy or shared.
fn sample_hashes(set: &str, name: &str) -> Option<PathBuf> {
    let file = if set == "full" {
        format!("{name}.txt")
    } else {
        format!("{name}-128x128.txt")
    };
    let local = data_dir().join("sample-hashes").join(&file);
    if local.is_file() {
        return Some(local);
    }
    let shared = shared_pdq_dir()?
        .join("ThreatExchange/vpdq/sample-hashes")
        .join(file);
    shared.is_file().then_some(shared)
}

#[test]
fn match_percentages_reproduce_both_official_matchers() {
    let rows = csv_rows(&data_dir().join("expected/vpdq-match-expected.csv"));
    assert_eq!(rows.len(), 481);
    let python = MatchOptions::default();
    let cpp = MatchOptions {
        semantics: MatchSemantics::ReferenceCpp,
        ..MatchOptions::default()
    };
    let (mut checked, mut skipped) = (0, 0);
    for row in &rows {
        let (Some(q), Some(c)) = (
            sample_hashes(&row[0], &row[1]),
            sample_hashes(&row[0], &row[2]),
        ) else {
            skipped += 1;
            continue;
        };
        let (q, c) = (read(&q), read(&c));
        let label = format!("{} {} vs {}", row[0], row[1], row[2]);
        let r = match_videos(&q, &c, &cpp);
        assert_eq!(
            format!("{:.2}", r.query_match_percent),
            row[3],
            "{label} cpp query"
        );
        assert_eq!(
            format!("{:.2}", r.compared_match_percent),
            row[4],
            "{label} cpp target"
        );
        assert_eq!(r.query_frames.to_string(), row[5], "{label}");
        assert_eq!(r.compared_frames.to_string(), row[6], "{label}");
        let r = match_videos(&q, &c, &python);
        assert_eq!(
            format!("{:.2}", r.query_match_percent),
            row[7],
            "{label} python query"
        );
        assert_eq!(
            format!("{:.2}", r.compared_match_percent),
            row[8],
            "{label} python compared"
        );
        assert_eq!(r.query_frames.to_string(), row[9], "{label}");
        assert_eq!(r.compared_frames.to_string(), row[10], "{label}");
        assert_eq!(
            r.is_match.to_string(),
            row[11].to_lowercase(),
            "{label} decision"
        );
        checked += 1;
    }
    println!("{checked} video pairs reproduced, {skipped} skipped");
    if skipped > 0 {
        skip("video pairs whose sample-hash files are only in ../shared");
    }
    assert!(
        checked >= 49,
        "the local sample-hash copies alone give 7×7 pairs"
    );
}

#[test]
fn sample_hash_files_round_trip_byte_for_byte() {
    for entry in std::fs::read_dir(data_dir().join("sample-hashes")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            write_features(&parse_features(&text).unwrap()),
            text,
            "{path:?}"
        );
    }
}
