//! `safeguard export vics|icse [--set NAME] [--series NAME]`: writes entries out as VICS or ICSE.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use safeguard_engine::known::{export_known, ExportFormat, ExportSelection};
use safeguard_formats::vics::VicsVersion;

use super::{runtime, GlobalArgs};

/// The file formats `export` writes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportKind {
    /// Project VIC VICS JSON (2.0 unless --vics-version says otherwise).
    Vics,
    /// INTERPOL ICSE CSV.
    Icse,
    /// `hash,type,file_name,comment` CSV.
    Hashlist,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    pub format: ExportKind,
    /// Only entries of this hash set.
    #[arg(long)]
    pub set: Option<String>,
    /// Only entries of this series.
    #[arg(long)]
    pub series: Option<String>,
    /// Write here instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// VICS data-model version: 2.0 (default), 1.1, 1.2 or 1.3.
    #[arg(long, default_value = "2.0")]
    pub vics_version: String,
}

pub async fn run(global: GlobalArgs, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let store = runtime::open_store(&global).await?;
    let hash_set = match &args.set {
        Some(name) => Some(
            store
                .hash_set_by_name(name)
                .await?
                .with_context(|| format!("no hash set {name:?}"))?
                .id,
        ),
        None => None,
    };
    let series = match &args.series {
        Some(name) => Some(
            store
                .series_by_name(name)
                .await?
                .with_context(|| format!("no series {name:?}"))?
                .id,
        ),
        None => None,
    };
    if hash_set.is_none() && series.is_none() {
        anyhow::bail!("name what to export with --set and/or --series");
    }
    let format = match args.format {
        ExportKind::Vics => ExportFormat::Vics(
            VicsVersion::from_number(&args.vics_version)
                .with_context(|| format!("unknown VICS version {:?}", args.vics_version))?,
        ),
        ExportKind::Icse => ExportFormat::Icse,
        ExportKind::Hashlist => ExportFormat::HashList,
    };
    let selection = ExportSelection { hash_set, series };
    let report = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let (out, report) =
                export_known(&store, selection, format, std::io::BufWriter::new(file)).await?;
            out.into_inner()
                .map_err(|e| e.into_error())
                .context("writing the export")?
                .sync_all()?;
            report
        }
        None => {
            let (mut out, report) = export_known(
                &store,
                selection,
                format,
                std::io::BufWriter::new(std::io::stdout()),
            )
            .await?;
            out.flush()?;
            report
        }
    };
    eprintln!(
        "exported {} entries{}",
        report.written,
        if report.skipped.is_empty() {
            String::new()
        } else {
            format!(
                "; {} skipped (the format needs an MD5): entries {:?}",
                report.skipped.len(),
                report.skipped
            )
        }
    );
    Ok(ExitCode::SUCCESS)
}
