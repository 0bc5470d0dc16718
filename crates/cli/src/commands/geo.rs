//! `safeguard geo`: geolocate IP addresses (JSON lines), refresh the bundled tables
//! (`geo update`), and find the country of phone numbers (`geo phone`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use safeguard_geo::{
    import, preferred_table, refreshed_path, CountryCode, E164Phone, Geolocator, RangeTable,
    TableKind, BUNDLED_ASN, BUNDLED_COUNTRY,
};
use serde_json::json;

use super::GlobalArgs;

/// `safeguard geo [--mmdb FILE]... IP...`, or one of the subcommands.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct GeoArgs {
    #[command(subcommand)]
    pub action: Option<GeoAction>,
    /// MaxMind-format database (GeoIP2/GeoLite2 Country, City or ASN, DB-IP, ip-location-db),
    /// consulted before the bundled data; repeat for several, first match wins.
    #[arg(long = "mmdb", value_name = "FILE")]
    pub mmdb: Vec<PathBuf>,
    /// List of anonymising infrastructure (`CIDR LABEL` lines); repeatable.
    #[arg(long = "anonymisers", value_name = "FILE")]
    pub anonymisers: Vec<PathBuf>,
    /// IP addresses (IPv4 or IPv6) to look up.
    #[arg(required = true, value_name = "IP")]
    pub ips: Vec<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum GeoAction {
    /// Refresh the country and/or operator tables from the published data files, into
    /// `<data-dir>/geo/` (used in preference to the embedded copy) or `--out DIR`.
    Update(UpdateArgs),
    /// Country of phone numbers in international form (+CC...).
    Phone(PhoneArgs),
}

#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// Tor geoip file(s): a folder holding `geoip` and/or `geoip6` (as /usr/share/tor from
    /// Debian's tor-geoipdb) or one such file, or an ip-location-db country CSV.
    #[arg(long, value_name = "DIR-OR-FILE")]
    pub from: Option<PathBuf>,
    /// ip-location-db AS data: the unpacked @ip-location-db/asn package folder, or
    /// asn-ipv4.csv / asn-ipv6.csv; repeatable.
    #[arg(long = "asn-from", value_name = "DIR-OR-FILE")]
    pub asn_from: Vec<PathBuf>,
    /// Write the tables here instead of `<data-dir>/geo/` (use `crates/geo/data` to regenerate
    /// the bundle).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct PhoneArgs {
    /// Country the numbers were dialled from, for numbers written without +CC.
    #[arg(long, value_name = "CC")]
    pub region: Option<String>,
    /// Phone numbers.
    #[arg(required = true, value_name = "NUMBER")]
    pub numbers: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: GeoArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        Some(GeoAction::Update(update)) => run_update(global, update),
        Some(GeoAction::Phone(phone)) => run_phone(phone),
        None => run_lookup(global, args.mmdb, args.anonymisers, &args.ips),
    }
}

fn run_lookup(
    global: &GlobalArgs,
    mmdbs: Vec<PathBuf>,
    anonymisers: Vec<PathBuf>,
    ips: &[String],
) -> anyhow::Result<ExitCode> {
    let mut builder = Geolocator::builder().data_dir(&global.data_dir);
    for path in mmdbs {
        builder = builder.mmdb(path);
    }
    for path in anonymisers {
        builder = builder.anonymiser_file(path);
    }
    let geolocator = builder.build().context("opening geolocation data")?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    for text in ips {
        let line = match geolocator.lookup_str(text) {
            Ok(answer) => serde_json::to_string(&answer)?,
            Err(error) => {
                failed = true;
                json!({ "ip": text, "error": error.to_string() }).to_string()
            }
        };
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn run_update(global: &GlobalArgs, args: UpdateArgs) -> anyhow::Result<ExitCode> {
    if args.from.is_none() && args.asn_from.is_empty() {
        anyhow::bail!("nothing to update: give --from (country data) and/or --asn-from (AS data)");
    }
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| global.data_dir.join(safeguard_geo::DATA_SUBDIR));
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    // A family missing from the input is kept from the table in use (or, with --out, the
    // table already there, else the embedded one).
    let base = |kind: TableKind| -> anyhow::Result<std::sync::Arc<RangeTable>> {
        let file = out_dir.join(match kind {
            TableKind::Country => BUNDLED_COUNTRY,
            TableKind::Asn => BUNDLED_ASN,
        });
        if let Ok(bytes) = std::fs::read(&file) {
            if let Ok(table) = RangeTable::from_bytes(&bytes) {
                return Ok(std::sync::Arc::new(table));
            }
        }
        Ok(preferred_table(Some(&global.data_dir), kind)?)
    };
    if let Some(from) = &args.from {
        let previous = base(TableKind::Country).ok();
        let (table, report) = import::country_table(from, previous.as_deref())?;
        let path = out_dir.join(BUNDLED_COUNTRY);
        let size = write_table(&table, &path)?;
        eprintln!("country table {} ({size} bytes): {report}", path.display());
    }
    if !args.asn_from.is_empty() {
        let previous = base(TableKind::Asn).ok();
        let (table, report) = import::asn_table(&args.asn_from, previous.as_deref())?;
        let path = out_dir.join(BUNDLED_ASN);
        let size = write_table(&table, &path)?;
        eprintln!("AS table {} ({size} bytes): {report}", path.display());
    }
    if args.out.is_none() {
        eprintln!(
            "the refreshed tables in {} now take precedence over the embedded ones ({})",
            out_dir.display(),
            refreshed_path(&global.data_dir, TableKind::Country).display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes through a temporary file and a rename, so a reader never sees half a table.
fn write_table(table: &RangeTable, path: &Path) -> anyhow::Result<usize> {
    let bytes = table.to_bytes()?;
    let temporary = path.with_extension("sgrt.partial");
    std::fs::write(&temporary, &bytes)
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(bytes.len())
}

fn run_phone(args: PhoneArgs) -> anyhow::Result<ExitCode> {
    let region = args
        .region
        .as_deref()
        .map(CountryCode::parse)
        .transpose()
        .context("--region")?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    for text in &args.numbers {
        let parsed = match region {
            Some(region) => E164Phone::parse_with_region(text, region),
            None => E164Phone::parse(text),
        };
        let line = match parsed {
            Ok(phone) => json!({
                "number": text,
                "e164": phone.e164(),
                "calling_code": phone.calling_code(),
                "country": phone.country(),
            }),
            Err(error) => {
                failed = true;
                json!({ "number": text, "error": error.to_string() })
            }
        };
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
