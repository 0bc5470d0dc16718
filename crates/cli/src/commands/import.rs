//! `safeguard import vics|icse|hashlist FILE`: streams a hash set file into a named hash set.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use safeguard_domain::known::HashSetPurpose;
use safeguard_engine::known::{import_known, ImportRequest};
use safeguard_formats::hashlist::HashListOptions;
use safeguard_formats::known_media::HashKind;
use safeguard_formats::known_stream::KnownFormat;

use super::known_common::operator_for;
use super::{runtime, GlobalArgs};

/// The file formats `import` reads.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ImportFormat {
    /// Project VIC VICS JSON (1.x or 2.0).
    Vics,
    /// INTERPOL ICSE export CSV.
    Icse,
    /// Plain or CSV hash list (md5sum/sha256sum output, type/value CSV, NSRL layout).
    Hashlist,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The format of the file.
    pub format: ImportFormat,
    /// The file to import.
    pub file: PathBuf,
    /// The hash set to import into (created when new). Defaults to the file's name.
    #[arg(long)]
    pub set: Option<String>,
    /// The organisation owning a new set (default: the instance's hotline or coordinator).
    #[arg(long)]
    pub org: Option<String>,
    /// Read every 64-hex hash of a plain list as PDQ (`--type pdq`), or force another kind.
    #[arg(long = "type")]
    pub hash_type: Option<String>,
    /// A new set lists known-good content (NSRL-like): its matches suppress perceptual hits.
    #[arg(long)]
    pub known_good: bool,
    /// A new set may be used by other organisations.
    #[arg(long)]
    pub shared: bool,
    /// Where the hashes come from (kept on a new set).
    #[arg(long)]
    pub source: Option<String>,
    /// Terms of use of the hashes (kept on a new set).
    #[arg(long)]
    pub licence: Option<String>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

pub async fn run(global: GlobalArgs, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let store = runtime::open_store(&global).await?;
    let operator = operator_for(&store, args.org.as_deref()).await?;
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("opening {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let set_name = match (&args.set, &file_name) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) => f.clone(),
        (None, None) => anyhow::bail!("give the hash set a name with --set"),
    };
    let hash_list = match args.hash_type.as_deref() {
        None => HashListOptions::default(),
        Some(t) => {
            let kind = HashKind::from_name(t).with_context(|| {
                format!("unknown hash type {t:?} (md5, sha1, sha256, pdq, photodna)")
            })?;
            if kind == HashKind::Pdq {
                HashListOptions::pdq()
            } else {
                HashListOptions {
                    force: Some(kind),
                    ..HashListOptions::default()
                }
            }
        }
    };
    let mut request = ImportRequest::new(set_name);
    request.format = Some(match args.format {
        ImportFormat::Vics => KnownFormat::Vics,
        ImportFormat::Icse => KnownFormat::Icse,
        ImportFormat::Hashlist => KnownFormat::HashList,
    });
    request.hash_list = hash_list;
    request.file_name = file_name;
    request.purpose = if args.known_good {
        HashSetPurpose::KnownGood
    } else {
        HashSetPurpose::Known
    };
    request.shared = args.shared;
    request.source = args.source.clone();
    request.licence = args.licence.clone();

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(size)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {elapsed_precise} eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let result = import_known(&store, None, &operator, &request, file, |p| {
        bar.set_position(p.bytes_read);
        let rate = p.records as f64 / started.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!(
            "{} records ({:.0}/s), {} new, {} updated, {} errors",
            p.records, rate, p.inserted, p.updated, p.errors
        ));
    })
    .await;
    bar.finish_and_clear();
    let report = result?;
    for e in &report.errors {
        eprintln!("skipped {e}");
    }
    if report.counts.errors > report.errors.len() as u64 {
        eprintln!(
            "… and {} more errors",
            report.counts.errors - report.errors.len() as u64
        );
    }
    println!(
        "{}",
        serde_json::to_string(&serde_json::json!({
            "import": report.import_id,
            "hash_set": report.hash_set,
            "created_set": report.created_set,
            "records": report.counts.records,
            "inserted": report.counts.inserted,
            "updated": report.counts.updated,
            "errors": report.counts.errors,
            "seconds": started.elapsed().as_secs_f64(),
        }))?
    );
    Ok(ExitCode::SUCCESS)
}
