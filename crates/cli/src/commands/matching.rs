//! `safeguard match FILE...`: hashes files (digests, PDQ in eight orientations, vPDQ for videos
//! when ffmpeg is installed) and matches them against the known-material database. One JSON
//! object per file on standard output.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use safeguard_engine::known::{match_media, MatchIndex, MediaHashes};
use safeguard_perceptual::vpdq;

use super::{runtime, GlobalArgs};

#[derive(Debug, Args)]
pub struct MatchArgs {
    /// Match against the sets this organisation may use (its own and shared ones); default:
    /// every enabled set.
    #[arg(long)]
    pub org: Option<String>,
    /// Do not try to hash videos with ffmpeg.
    #[arg(long)]
    pub no_video: bool,
    /// Files to match.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

const VIDEO_EXTENSIONS: [&str; 8] = ["mp4", "mov", "avi", "mkv", "webm", "m4v", "wmv", "mpg"];

pub async fn run(global: GlobalArgs, args: MatchArgs) -> anyhow::Result<ExitCode> {
    let store = runtime::open_store(&global).await?;
    let org = match &args.org {
        Some(name) => Some(
            store
                .org_by_name(name)
                .await
                .with_context(|| format!("no organisation {name:?}"))?
                .id,
        ),
        None => None,
    };
    let index = MatchIndex::load(&store).await?;
    let mut failed = false;
    for path in &args.files {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                failed = true;
                continue;
            }
        };
        let mut media = MediaHashes::of_bytes(&bytes);
        let is_video = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if media.image.is_none() && is_video && !args.no_video {
            match vpdq::hash_video(path, &vpdq::VideoOptions::default()) {
                Ok(frames) => media.video = Some(frames),
                Err(e) => eprintln!("{}: no vPDQ ({e})", path.display()),
            }
        }
        let verdict = match_media(&store, &index, org, &media).await?;
        let matches: Vec<serde_json::Value> = verdict
            .matches
            .iter()
            .map(|m| {
                serde_json::json!({
                    "entry": m.entry,
                    "hash_set": m.hash_set_name,
                    "series": m.series_name,
                    "method": m.method,
                    "hash_kind": m.hash_kind,
                    "distance": m.distance,
                    "category": m.category,
                    "victim_identified": m.victim_identified,
                })
            })
            .collect();
        let series: Vec<&str> = verdict
            .matches
            .iter()
            .filter_map(|m| m.series_name.as_deref())
            .fold(Vec::new(), |mut acc, s| {
                if !acc.contains(&s) {
                    acc.push(s);
                }
                acc
            });
        let line = serde_json::json!({
            "file": path.display().to_string(),
            "md5": media.digests.md5,
            "sha1": media.digests.sha1,
            "sha256": media.digests.sha256,
            "pdq": media.pdq(),
            "pdq_quality": media.image.map(|i| i.quality),
            "video_frames": media.video.as_ref().map(Vec::len),
            "verdict": verdict.verdict,
            "series": series,
            "matches": matches,
            "known_good": verdict.known_good.iter().map(|m| &m.hash_set_name).collect::<Vec<_>>(),
            "suppressed": verdict.suppressed.len(),
        });
        println!("{line}");
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
