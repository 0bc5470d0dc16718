//! vPDQ: PDQ of sampled video frames, the reference's sample-hash file format, and the
//! "bag of frames" matcher of python-threatexchange.
//!
//! Frames are decoded by the `ffmpeg` command-line tool (`-f rawvideo -pix_fmt rgb24`), which
//! gives the same RGB24 pixels as the reference's libav + `sws_scale` path when both use the same
//! FFmpeg libraries. Frame numbering and sampling follow `vpdq/cpp`: frames are counted in decoder
//! output order from 0, and with `seconds_per_hash = s` a frame is hashed iff
//! `frame % max(1, (int)(s × fps)) == 0`; its timestamp is `(float)frame / (float)fps`.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::hash::Pdq;
use crate::pdq::PdqHasher;

/// One hashed video frame.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VpdqFeature {
    /// Index of the frame in decoder output order, from 0.
    pub frame: u64,
    /// Seconds from the start: `frame / fps` in f32, as the reference computes it.
    pub timestamp: f32,
    /// PDQ hash of the frame.
    #[serde(rename = "pdq")]
    pub hash: Pdq,
    /// PDQ quality of the frame, 0..=100.
    pub quality: u8,
}

/// How to decode and sample a video.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoOptions {
    /// Seconds between hashed frames (python-threatexchange uses 1). `0` hashes every frame,
    /// like the reference CLI's default.
    pub seconds_per_hash: f64,
    /// Scale frames to this width × height with FFmpeg's area filter before hashing (the
    /// reference's `-s`/downsample option); `None` keeps the native size.
    pub resize: Option<(u32, u32)>,
    /// The `ffmpeg` program.
    pub ffmpeg: PathBuf,
    /// The `ffprobe` program.
    pub ffprobe: PathBuf,
    /// Largest accepted frame, in pixels (a guard against absurd dimensions in a hostile file).
    pub max_frame_pixels: u64,
    /// Most frames hashed before giving up (a guard against endless streams); at one frame a
    /// second the default is over eleven days of video.
    pub max_hashed_frames: u64,
}

impl Default for VideoOptions {
    fn default() -> Self {
        Self {
            seconds_per_hash: 1.0,
            resize: None,
            ffmpeg: PathBuf::from("ffmpeg"),
            ffprobe: PathBuf::from("ffprobe"),
            max_frame_pixels: 8192 * 8192,
            max_hashed_frames: 1_000_000,
        }
    }
}

/// What `ffprobe` says about the first video stream.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// Frame width in pixels (before any rotation metadata).
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// `avg_frame_rate`, or `r_frame_rate` when the former is unknown.
    pub frame_rate: f64,
    /// FFmpeg's name for the container (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, …).
    pub container: String,
}

impl VideoInfo {
    /// FFmpeg reads some non-videos as one-stream "videos": text files (`tty`) and still
    /// images (`image2`, `*_pipe`). Those are not hashed as videos.
    pub fn is_still_or_text(&self) -> bool {
        let c = self.container.as_str();
        c == "tty" || c == "image2" || c.ends_with("_pipe")
    }
}

/// Why a video could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum VpdqError {
    /// `ffmpeg` or `ffprobe` could not be started.
    #[error("cannot run {tool}: {source} (install FFmpeg, e.g. `apt-get install ffmpeg`)")]
    ToolMissing {
        /// The program.
        tool: PathBuf,
        /// Why it did not start.
        source: std::io::Error,
    },
    /// The file has no video stream or ffprobe could not read it.
    #[error("not a readable video: {0}")]
    NotVideo(String),
    /// The stream's frame rate is zero or unparsable.
    #[error("video has no usable frame rate ({0})")]
    BadFrameRate(String),
    /// The frames are larger than allowed or too small to hash.
    #[error("video frames of {width}x{height} are outside the accepted size")]
    BadFrameSize {
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
    },
    /// More frames than `max_hashed_frames`.
    #[error("video has more than {0} frames to hash")]
    TooManyFrames(u64),
    /// ffmpeg failed while decoding.
    #[error("ffmpeg failed to decode the video: {0}")]
    Decode(String),
    /// Reading ffmpeg's output failed.
    #[error("reading decoded frames: {0}")]
    Io(#[from] std::io::Error),
}

/// A line of a sample-hash file that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct FeatureParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Runs `ffprobe` on the first video stream of `path`.
pub fn probe(path: &Path, options: &VideoOptions) -> Result<VideoInfo, VpdqError> {
    let output = Command::new(&options.ffprobe)
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .arg("stream=width,height,avg_frame_rate,r_frame_rate:format=format_name")
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| VpdqError::ToolMissing {
            tool: options.ffprobe.clone(),
            source,
        })?;
    if !output.status.success() {
        return Err(VpdqError::NotVideo(tail(&output.stderr)));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(str::trim)
    };
    let dimension = |name: &str| field(name).and_then(|v| v.parse::<u32>().ok());
    let (Some(width), Some(height)) = (dimension("width"), dimension("height")) else {
        return Err(VpdqError::NotVideo("no video stream".to_owned()));
    };
    let avg = field("avg_frame_rate").and_then(parse_rate);
    let real = field("r_frame_rate").and_then(parse_rate);
    let frame_rate = match (avg, real) {
        (Some(r), _) if r > 0.0 => r,
        (_, Some(r)) if r > 0.0 => r,
        _ => {
            return Err(VpdqError::BadFrameRate(
                field("avg_frame_rate").unwrap_or("none").to_owned(),
            ))
        }
    };
    let container = field("format_name").unwrap_or_default().to_owned();
    Ok(VideoInfo {
        width,
        height,
        frame_rate,
        container,
    })
}

/// Parses an FFmpeg rational such as `30000/1001`; `0/0` gives `None`.
fn parse_rate(text: &str) -> Option<f64> {
    let (num, den) = text.split_once('/').unwrap_or((text, "1"));
    let (num, den) = (
        num.trim().parse::<f64>().ok()?,
        den.trim().parse::<f64>().ok()?,
    );
    let rate = num / den;
    (rate.is_finite() && rate > 0.0).then_some(rate)
}

/// The last few hundred bytes of a tool's error output, for error messages.
fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    let start = text.char_indices().rev().nth(400).map_or(0, |(i, _)| i);
    text[start..].to_owned()
}

/// Kills the decoder if hashing stops early, so no ffmpeg process outlives its caller.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Hashes a video: every `max(1, (int)(seconds_per_hash × fps))`-th decoded frame.
pub fn hash_video(path: &Path, options: &VideoOptions) -> Result<Vec<VpdqFeature>, VpdqError> {
    let info = probe(path, options)?;
    if info.is_still_or_text() {
        return Err(VpdqError::NotVideo(format!(
            "FFmpeg reads it as {:?}, not a video container",
            info.container
        )));
    }
    let (width, height) = options.resize.unwrap_or((info.width, info.height));
    if width < 5 || height < 5 || u64::from(width) * u64::from(height) > options.max_frame_pixels {
        return Err(VpdqError::BadFrameSize { width, height });
    }
    // (int)(secondsPerHash * frameRate) in the reference; 0 means every frame.
    let frame_mod = ((options.seconds_per_hash * info.frame_rate) as u64).max(1);

    let mut filters = Vec::new();
    if frame_mod > 1 {
        // Dropping frames before the RGB conversion saves work; `n` counts decoded frames.
        filters.push(format!("select=not(mod(n\\,{frame_mod}))"));
    }
    if let Some((w, h)) = options.resize {
        filters.push(format!("scale={w}:{h}:flags=area"));
    }
    let mut command = Command::new(&options.ffmpeg);
    command
        .args(["-nostdin", "-hide_banner", "-loglevel", "error"])
        // The reference hashes stored pixels; the CLI would otherwise apply rotation metadata.
        .arg("-noautorotate")
        .arg("-i")
        .arg(path)
        .args(["-map", "0:v:0", "-an", "-sn", "-dn"])
        // One output frame per decoded frame: no duplication or dropping for a constant rate.
        .args(["-fps_mode", "passthrough"]);
    if !filters.is_empty() {
        command.arg("-vf").arg(filters.join(","));
    }
    command
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().map_err(|source| VpdqError::ToolMissing {
        tool: options.ffmpeg.clone(),
        source,
    })?;
    let mut child = ChildGuard(child);
    let mut stderr = child.0.stderr.take();
    // Drain stderr on its own thread so a chatty ffmpeg can never block on a full pipe.
    let stderr_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(err) = stderr.as_mut() {
            let _ = err.take(1 << 20).read_to_end(&mut buf);
        }
        buf
    });
    let mut stdout = child
        .0
        .stdout
        .take()
        .ok_or_else(|| VpdqError::Decode("ffmpeg gave no output pipe".to_owned()))?;

    let frame_bytes = width as usize * height as usize * 3;
    let mut frame = vec![0u8; frame_bytes];
    let mut hasher = PdqHasher::new();
    let mut features = Vec::new();
    let fps = info.frame_rate as f32;
    let mut index: u64 = 0;
    loop {
        if index >= options.max_hashed_frames {
            // More data would follow; the guard drops (kills) ffmpeg.
            if !matches!(read_frame(&mut stdout, &mut frame)?, FrameRead::End) {
                return Err(VpdqError::TooManyFrames(options.max_hashed_frames));
            }
            break;
        }
        match read_frame(&mut stdout, &mut frame)? {
            FrameRead::Full => {}
            FrameRead::End => break,
            FrameRead::Partial => {
                return Err(VpdqError::Decode(
                    "truncated frame in ffmpeg output".to_owned(),
                ))
            }
        }
        let result = hasher
            .hash_rgb(width as usize, height as usize, &frame)
            .map_err(|e| VpdqError::Decode(e.to_string()))?;
        let number = index * frame_mod;
        features.push(VpdqFeature {
            frame: number,
            timestamp: number as f32 / fps,
            hash: result.hash,
            quality: result.quality,
        });
        index += 1;
    }
    let status = child.0.wait()?;
    let stderr = stderr_reader.join().unwrap_or_default();
    if !status.success() {
        return Err(VpdqError::Decode(tail(&stderr)));
    }
    Ok(features)
}

enum FrameRead {
    Full,
    End,
    Partial,
}

fn read_frame(reader: &mut impl Read, frame: &mut [u8]) -> std::io::Result<FrameRead> {
    let mut filled = 0;
    while filled < frame.len() {
        match reader.read(&mut frame[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(match filled {
        0 => FrameRead::End,
        n if n == frame.len() => FrameRead::Full,
        _ => FrameRead::Partial,
    })
}

/// Parses the reference's sample-hash format: one `frame,quality,hex,timestamp` line per frame
/// (`vpdqio.cpp`). Blank lines are skipped.
pub fn parse_features(text: &str) -> Result<Vec<VpdqFeature>, FeatureParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            parse_feature_line(l).map_err(|reason| FeatureParseError {
                line: i + 1,
                reason,
            })
        })
        .collect()
}

/// Reads a sample-hash file from any reader.
pub fn read_features(reader: impl BufRead) -> Result<Vec<VpdqFeature>, FeatureParseError> {
    let mut features = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| FeatureParseError {
            line: i + 1,
            reason: e.to_string(),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        features.push(
            parse_feature_line(&line).map_err(|reason| FeatureParseError {
                line: i + 1,
                reason,
            })?,
        );
    }
    Ok(features)
}

fn parse_feature_line(line: &str) -> Result<VpdqFeature, String> {
    let fields: Vec<&str> = line.trim().split(',').collect();
    let [frame, quality, hash, timestamp] = fields[..] else {
        return Err(format!(
            "expected 4 comma-separated fields, got {}",
            fields.len()
        ));
    };
    let frame = frame
        .trim()
        .parse::<u64>()
        .map_err(|e| format!("frame number {frame:?}: {e}"))?;
    let quality = quality
        .trim()
        .parse::<u8>()
        .ok()
        .filter(|q| *q <= 100)
        .ok_or_else(|| format!("quality {quality:?} is not 0..=100"))?;
    let hash = Pdq::parse(hash).map_err(|e| e.to_string())?;
    let timestamp = timestamp
        .trim()
        .parse::<f32>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .ok_or_else(|| format!("timestamp {timestamp:?} is not a number of seconds"))?;
    Ok(VpdqFeature {
        frame,
        timestamp,
        hash,
        quality,
    })
}

/// Writes features in the reference's sample-hash format (timestamp with 3 decimals, as C++
/// `std::fixed << setprecision(3)`).
pub fn write_features(features: &[VpdqFeature]) -> String {
    let mut out = String::new();
    for f in features {
        out.push_str(&format!(
            "{},{},{},{:.3}\n",
            f.frame,
            f.quality,
            f.hash,
            f64::from(f.timestamp)
        ));
    }
    out
}

/// Which official matcher to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum MatchSemantics {
    /// python-threatexchange `match_VPDQ_hash_brute`: collapse frames with identical hashes
    /// (first occurrence kept) *then* drop frames below the quality threshold; frames match at
    /// distance `<=` the threshold. What HMA uses.
    #[default]
    ThreatExchangePython,
    /// C++ `matchTwoHashBrute`: no collapsing, quality filter, frames match at distance `<` the
    /// threshold.
    ReferenceCpp,
}

/// Thresholds of the matcher.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MatchOptions {
    /// Largest Hamming distance at which two frames match (31).
    pub distance_threshold: u32,
    /// Frames of lower quality are ignored (50).
    pub quality_threshold: u8,
    /// Share of the query's frames that must match, in percent (80).
    pub query_match_percent: f64,
    /// Share of the compared video's frames that must match, in percent (0).
    pub compared_match_percent: f64,
    /// Which official matcher's details to follow.
    pub semantics: MatchSemantics,
}

impl Default for MatchOptions {
    /// python-threatexchange's defaults (`vpdq_util.py`).
    fn default() -> Self {
        Self {
            distance_threshold: 31,
            quality_threshold: 50,
            query_match_percent: 80.0,
            compared_match_percent: 0.0,
            semantics: MatchSemantics::ThreatExchangePython,
        }
    }
}

/// Outcome of comparing two videos.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MatchResult {
    /// Percentage of the query's frames (after filtering) that match some compared frame.
    pub query_match_percent: f64,
    /// Percentage of the compared video's frames (after filtering) that match some query frame.
    pub compared_match_percent: f64,
    /// Query frames left after collapsing and the quality filter.
    pub query_frames: usize,
    /// Compared frames left after collapsing and the quality filter.
    pub compared_frames: usize,
    /// Both percentages reach their thresholds (and neither side is empty).
    pub is_match: bool,
}

fn prepare(features: &[VpdqFeature], options: &MatchOptions) -> Vec<Pdq> {
    let good = |f: &&VpdqFeature| f.quality >= options.quality_threshold;
    match options.semantics {
        MatchSemantics::ThreatExchangePython => {
            let mut seen = std::collections::HashSet::new();
            features
                .iter()
                .filter(|f| seen.insert(f.hash))
                .filter(good)
                .map(|f| f.hash)
                .collect()
        }
        MatchSemantics::ReferenceCpp => features.iter().filter(good).map(|f| f.hash).collect(),
    }
}

/// Compares two videos as bags of frames: frame order and timestamps play no part.
///
/// An empty side after filtering gives 0 % on both sides and no match (python-threatexchange
/// would raise a division by zero).
pub fn match_videos(
    query: &[VpdqFeature],
    compared: &[VpdqFeature],
    options: &MatchOptions,
) -> MatchResult {
    let q = prepare(query, options);
    let c = prepare(compared, options);
    let close = |a: &Pdq, b: &Pdq| {
        let d = a.distance(b);
        match options.semantics {
            MatchSemantics::ThreatExchangePython => d <= options.distance_threshold,
            MatchSemantics::ReferenceCpp => d < options.distance_threshold,
        }
    };
    let mut compared_hit = vec![false; c.len()];
    let mut query_hits = 0usize;
    for a in &q {
        let mut hit = false;
        for (b, flag) in c.iter().zip(compared_hit.iter_mut()) {
            if close(a, b) {
                hit = true;
                *flag = true;
            }
        }
        query_hits += usize::from(hit);
    }
    let compared_hits = compared_hit.iter().filter(|h| **h).count();
    let percent = |hits: usize, n: usize| {
        if n == 0 {
            0.0
        } else {
            hits as f64 * 100.0 / n as f64
        }
    };
    let query_match_percent = percent(query_hits, q.len());
    let compared_match_percent = percent(compared_hits, c.len());
    MatchResult {
        query_match_percent,
        compared_match_percent,
        query_frames: q.len(),
        compared_frames: c.len(),
        is_match: !q.is_empty()
            && !c.is_empty()
            && query_match_percent >= options.query_match_percent
            && compared_match_percent >= options.compared_match_percent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(frame: u64, quality: u8, hash: Pdq) -> VpdqFeature {
        VpdqFeature {
            frame,
            timestamp: frame as f32 / 30.0,
            hash,
            quality,
        }
    }

    #[test]
    fn sample_hash_lines_round_trip() {
        let text = "0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.000\n\
                    1,99,c0f1117837246aaccddea259648fbfd62f434c89c9e99b249776be216c8d055c,0.033\n";
        let features = parse_features(text).expect("valid");
        assert_eq!(features.len(), 2);
        assert_eq!(features[1].frame, 1);
        assert_eq!(features[1].quality, 99);
        assert_eq!(write_features(&features), text);
        assert_eq!(read_features(text.as_bytes()).expect("valid"), features);
    }

    #[test]
    fn bad_lines_are_reported_with_their_number() {
        let err = parse_features("\n0,100,zz,0.0\n").expect_err("bad hash");
        assert_eq!(err.line, 2);
        assert!(parse_features("0,101,".to_owned().as_str()).is_err());
        assert!(parse_features(&format!("0,200,{},0.0", "0".repeat(64))).is_err());
        assert!(parse_features(&format!("x,20,{},0.0", "0".repeat(64))).is_err());
        assert!(parse_features(&format!("1,20,{},nan", "0".repeat(64))).is_err());
    }

    #[test]
    fn frame_rates_parse_like_ffmpeg_rationals() {
        assert_eq!(parse_rate("30/1"), Some(30.0));
        assert_eq!(parse_rate("0/0"), None);
        assert!((parse_rate("30000/1001").expect("ntsc") - 29.97).abs() < 0.01);
        assert_eq!(parse_rate("junk"), None);
    }

    #[test]
    fn semantics_differ_on_duplicates_and_the_boundary() {
        let a = Pdq::default();
        let mut far = a;
        for k in 0..31 {
            far.set_bit(k);
        }
        // Distance exactly 31: a match for Python (<=), not for C++ (<).
        let query = [feature(0, 100, a), feature(1, 100, a)];
        let compared = [feature(0, 100, far)];
        let py = match_videos(&query, &compared, &MatchOptions::default());
        assert_eq!((py.query_frames, py.query_match_percent), (1, 100.0));
        assert!(py.is_match);
        let cpp_options = MatchOptions {
            semantics: MatchSemantics::ReferenceCpp,
            ..MatchOptions::default()
        };
        let cpp = match_videos(&query, &compared, &cpp_options);
        assert_eq!((cpp.query_frames, cpp.query_match_percent), (2, 0.0));
        assert!(!cpp.is_match);
        // Low-quality frames are ignored; an empty side never matches.
        let low = [feature(0, 10, a)];
        let r = match_videos(&low, &compared, &MatchOptions::default());
        assert_eq!((r.query_frames, r.is_match), (0, false));
    }
}
