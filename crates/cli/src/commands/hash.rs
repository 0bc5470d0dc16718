//! `safeguard hash`: exact digests (MD5, SHA-1, SHA-256) and perceptual hashes (PDQ for images,
//! vPDQ for videos) of media files.
//!
//! Files are hashed on all cores, but results are written in argument order. A file that cannot
//! be decoded still gets its line, with the digests and an `error`; the exit code is then 1.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use safeguard_domain::digest::{Digester, FileDigests};
use safeguard_perceptual::decode::{self, DecodeOptions};
use safeguard_perceptual::vpdq::{self, VideoOptions};
use safeguard_perceptual::{hash_image, Pdq};
use serde::Serialize;

use super::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct HashArgs {
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Seconds between hashed video frames (0 = every frame).
    #[arg(long, default_value_t = 1.0)]
    pub seconds_per_hash: f64,
    /// Largest image accepted, in pixels (guard against decompression bombs).
    #[arg(long, default_value_t = DecodeOptions::default().max_pixels)]
    pub max_pixels: u64,
    /// Apply the EXIF orientation before hashing (off: the reference hashes stored pixels).
    #[arg(long)]
    pub exif_orientation: bool,
    /// Files to hash.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// One hashed video frame, as written in the output.
#[derive(Debug, Serialize)]
struct FrameOut {
    frame: u64,
    /// Seconds, rounded to the millisecond like the reference's sample-hash files.
    timestamp: f64,
    pdq: Pdq,
    quality: u8,
}

/// The line written for one file.
#[derive(Debug, Serialize)]
struct FileReport {
    path: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    digests: Option<FileDigests>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pdq: Option<Pdq>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quality: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpdq: Option<Vec<FrameOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl FileReport {
    fn new(path: &Path) -> Self {
        Self {
            path: path.to_string_lossy().into_owned(),
            digests: None,
            pdq: None,
            quality: None,
            vpdq: None,
            error: None,
        }
    }
}

struct Settings {
    decode: DecodeOptions,
    video: VideoOptions,
}

pub fn run(_global: &GlobalArgs, args: HashArgs) -> anyhow::Result<ExitCode> {
    if !(args.seconds_per_hash.is_finite() && args.seconds_per_hash >= 0.0) {
        anyhow::bail!("--seconds-per-hash must be a non-negative number of seconds");
    }
    let settings = Settings {
        decode: DecodeOptions {
            max_pixels: args.max_pixels,
            apply_exif_orientation: args.exif_orientation,
            ..DecodeOptions::default()
        },
        video: VideoOptions {
            seconds_per_hash: args.seconds_per_hash,
            ..VideoOptions::default()
        },
    };
    let files = &args.files;
    let progress = if files.len() > 1 && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(files.len() as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} files  {elapsed} (eta {eta})")
        {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let path_width = files
        .iter()
        .map(|p| p.to_string_lossy().chars().count())
        .max()
        .unwrap_or(0);

    let (sender, receiver) = mpsc::channel::<(usize, FileReport)>();
    let mut failures = 0usize;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written: anyhow::Result<()> = std::thread::scope(|scope| {
        scope.spawn(|| {
            files
                .par_iter()
                .enumerate()
                .for_each_with(sender, |sender, (index, path)| {
                    // The receiver only goes away if writing failed; nothing left to do then.
                    let _ = sender.send((index, hash_file(path, &settings)));
                });
        });
        if !args.json {
            writeln!(
                out,
                "{:<path_width$}  {:>7}  {:<64}  sha256",
                "path", "quality", "pdq"
            )?;
        }
        // Results arrive in completion order; hold them until their turn comes.
        let mut pending = BTreeMap::new();
        let mut next = 0usize;
        for (index, report) in receiver {
            progress.inc(1);
            pending.insert(index, report);
            while let Some(report) = pending.remove(&next) {
                failures += usize::from(report.error.is_some());
                progress.suspend(|| write_report(&mut out, &report, args.json, path_width))?;
                next += 1;
            }
        }
        Ok(())
    });
    progress.finish_and_clear();
    written.context("writing the results")?;
    Ok(if failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn write_report(
    out: &mut impl Write,
    report: &FileReport,
    json: bool,
    path_width: usize,
) -> anyhow::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, report)?;
        writeln!(out)?;
    } else {
        let sha256 = report
            .digests
            .map(|d| d.sha256.to_hex())
            .unwrap_or_default();
        let quality = report.quality.map(|q| q.to_string()).unwrap_or_default();
        let perceptual = match (&report.pdq, &report.vpdq) {
            (Some(pdq), _) => pdq.to_hex(),
            (None, Some(frames)) => format!("vPDQ: {} frames", frames.len()),
            (None, None) => String::new(),
        };
        write!(
            out,
            "{:<path_width$}  {quality:>7}  {perceptual:<64}  {sha256}",
            report.path
        )?;
        if let Some(error) = &report.error {
            write!(out, "  error: {error}")?;
        }
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}

/// Digests and perceptual hash of one file; every failure ends up in `error`.
fn hash_file(path: &Path, settings: &Settings) -> FileReport {
    let mut report = FileReport::new(path);
    if let Err(error) = fill_report(path, settings, &mut report) {
        report.error = Some(error);
    }
    report
}

fn fill_report(path: &Path, settings: &Settings, report: &mut FileReport) -> Result<(), String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let size = file
        .metadata()
        .map_err(|e| format!("cannot read: {e}"))?
        .len();
    let mut head = Vec::with_capacity(64);
    (&mut file)
        .take(64)
        .read_to_end(&mut head)
        .map_err(|e| format!("cannot read: {e}"))?;

    if decode::sniff_format(&head).is_some() && size <= settings.decode.max_file_bytes {
        // An image: hold it in memory once, for both the digests and the decoder.
        let mut bytes = head;
        file.read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read: {e}"))?;
        report.digests = Some(Digester::digest(&bytes));
        let rgb = decode::decode_bytes(&bytes, &settings.decode).map_err(|e| e.to_string())?;
        let result = hash_image(&rgb);
        report.pdq = Some(result.hash);
        report.quality = Some(result.quality);
        return Ok(());
    }

    // Anything else is streamed through the digests, then offered to FFmpeg as a video.
    let mut digester = Digester::new();
    digester.update(&head);
    std::io::copy(&mut file, &mut digester).map_err(|e| format!("cannot read: {e}"))?;
    report.digests = Some(digester.finish());
    if decode::sniff_format(&head).is_some() {
        return Err(format!(
            "image file of {size} bytes exceeds the limit of {} bytes",
            settings.decode.max_file_bytes
        ));
    }
    let frames = vpdq::hash_video(path, &settings.video).map_err(|e| match e {
        vpdq::VpdqError::NotVideo(why) => format!("not a supported image or video ({why})"),
        other => other.to_string(),
    })?;
    report.vpdq = Some(
        frames
            .into_iter()
            .map(|f| FrameOut {
                frame: f.frame,
                timestamp: (f64::from(f.timestamp) * 1000.0).round() / 1000.0,
                pdq: f.hash,
                quality: f.quality,
            })
            .collect(),
    );
    Ok(())
}
