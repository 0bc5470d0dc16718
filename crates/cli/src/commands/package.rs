//! `safeguard package build|verify|export`, `safeguard keys signing` and
//! `safeguard link run|exclude` (cross-checking and intelligence packages).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Subcommand;
use safeguard_domain::linking::KeyKind;
use safeguard_engine::linking::LinkConfig;
use safeguard_engine::packages::{
    build_package, load_or_create_signing_key, package_zip, parse_public_key, sign_file,
    verify_file, PackageDocument,
};

use safeguard_geo::Geolocator;

use super::{runtime, GlobalArgs};

#[derive(Debug, Subcommand)]
pub enum PackageCommand {
    /// Build, store (as a draft) and sign a package of every report referred to an organisation.
    Build {
        /// The recipient organisation's name.
        #[arg(long)]
        to: String,
        /// Where to write the zip (the signature goes to FILE.sig).
        #[arg(long)]
        output: Option<PathBuf>,
        /// MMDB databases (GeoIP2/GeoLite2 ASN…) consulted before the bundled IP-to-ASN data to
        /// name the network operator of each IP of the ISP requests (repeatable).
        #[arg(long = "mmdb", value_name = "FILE")]
        mmdb: Vec<PathBuf>,
    },
    /// Check a package file against its detached signature (FILE.sig) and the sender's key.
    Verify {
        file: PathBuf,
        /// The sender's public key: 64 hex digits, base64, or a file holding either.
        #[arg(long)]
        key: String,
        /// The signature file; defaults to FILE.sig.
        #[arg(long)]
        signature: Option<PathBuf>,
    },
    /// Write a stored package again (same bytes) with a fresh signature.
    Export {
        id: i64,
        #[arg(long)]
        output: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create the instance's Ed25519 signing key if absent (DATA/keys/signing.key, mode 0600) and
    /// print its public key in hex and base64.
    Signing,
    /// Rotate the evidence vault's master key (re-wrapping every blob header, content untouched)
    /// and the instance signing key (the old public key is kept in DATA/keys/retired/ so older
    /// packages and sealed audit heads still verify). A running server keeps serving: it
    /// reloads the key file every 30 seconds, and the new vault key is added to the file, and
    /// waited for, before any blob is re-wrapped under it.
    Rotate {
        /// Seconds to wait for running servers to load the new key file (0 when none runs).
        #[arg(long, default_value_t = 35)]
        wait_seconds: u64,
        /// Rotate only the vault key.
        #[arg(long, conflicts_with = "signing_only")]
        vault_only: bool,
        /// Rotate only the signing key.
        #[arg(long)]
        signing_only: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// Link every report not linked yet, oldest first.
    Run,
    /// Values that never link (shared NAT, a reporter's own infrastructure, known-good files).
    #[command(subcommand)]
    Exclude(ExcludeCommand),
}

#[derive(Debug, Subcommand)]
pub enum ExcludeCommand {
    /// Add a canonical value (e.g. `ip 203.0.113.1`, `sha256 <hex>`, `email a@b.org`).
    Add {
        kind: String,
        value: String,
        #[arg(long)]
        reason: String,
    },
    Remove {
        kind: String,
        value: String,
    },
    List,
}

fn signing_key_path(global: &GlobalArgs) -> PathBuf {
    global.data_dir.join("keys").join("signing.key")
}

fn sig_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// Writes the package and then its signature, each whole or not at all (a temporary file,
/// flushed to disk, renamed over the name): after a crash the file is either absent, the
/// previous one, or complete; a package and a signature that do not belong together fail
/// `package verify`, they are never silently wrong.
fn write_signed(file: &Path, zip: &[u8], signature: &str) -> anyhow::Result<()> {
    write_atomically(file, zip)?;
    write_atomically(&sig_path(file), signature.as_bytes())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut temp_name = path.as_os_str().to_owned();
    temp_name.push(format!(".tmp-{}", std::process::id()));
    let temp = PathBuf::from(temp_name);
    let written = (|| {
        let mut f = std::fs::File::create(&temp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.with_context(|| format!("writing {}", path.display()))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

pub async fn package(global: GlobalArgs, cmd: PackageCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PackageCommand::Verify {
            file,
            key,
            signature,
        } => {
            let key_text = if Path::new(&key).is_file() {
                std::fs::read_to_string(&key).with_context(|| format!("reading {key}"))?
            } else {
                key
            };
            let public = parse_public_key(&key_text)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let sig = signature.unwrap_or_else(|| sig_path(&file));
            let sig_text = std::fs::read_to_string(&sig)
                .with_context(|| format!("reading {}", sig.display()))?;
            match verify_file(&bytes, &sig_text, &public) {
                Ok(()) => {
                    println!("valid: {} is signed by that key", file.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("INVALID: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        PackageCommand::Build { to, output, mmdb } => {
            let store = runtime::open_store(&global).await?;
            let (key, _) = load_or_create_signing_key(&signing_key_path(&global))?;
            let to_org = store.org_by_name(&to).await?;
            let Some(home) = store.home_org().await? else {
                bail!("no hotline or coordinator organisation on this instance");
            };
            // ISP requests are grouped by the operator the geolocation data names.
            let mut geo = Geolocator::builder().data_dir(&global.data_dir);
            for path in mmdb {
                geo = geo.mmdb(path);
            }
            let geo = geo.build().context("loading geolocation data")?;
            let built = build_package(&store, home.id, to_org.id, &geo, &key, "cli").await?;
            let file = output.unwrap_or_else(|| PathBuf::from(format!("package-{}.zip", built.id)));
            write_signed(&file, &built.zip, &built.signature)?;
            println!(
                "package {} ({} reports, ISP cost {} cents) written to {} and {}",
                built.id,
                built.document.reports.len(),
                built.document.isp_cost_total_cents,
                file.display(),
                sig_path(&file).display()
            );
            Ok(ExitCode::SUCCESS)
        }
        PackageCommand::Export { id, output } => {
            let store = runtime::open_store(&global).await?;
            let (key, _) = load_or_create_signing_key(&signing_key_path(&global))?;
            let stored = store.package(id).await?;
            let doc: PackageDocument = serde_json::from_value(stored.manifest)
                .context("the stored package document does not match the schema")?;
            let zip = package_zip(&doc)?;
            write_signed(&output, &zip, &sign_file(&key, &zip))?;
            // An export carries report data out of the instance: it is audited like a read.
            store
                .append_audit(&safeguard_domain::audit::AuditEvent {
                    actor_user: None,
                    actor: "cli".into(),
                    action: "package.export".into(),
                    object_kind: "package".into(),
                    object_id: id.to_string(),
                    detail: output.display().to_string(),
                })
                .await?;
            println!("package {id} written to {}", output.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn keys(global: &GlobalArgs, cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCommand::Signing => {
            use base64::Engine as _;
            let path = signing_key_path(global);
            let (key, created) = load_or_create_signing_key(&path)?;
            let public = key.verifying_key().to_bytes();
            if created {
                eprintln!("created {}", path.display());
            }
            println!("ed25519 public key (hex):    {}", hex::encode(public));
            println!(
                "ed25519 public key (base64): {}",
                base64::engine::general_purpose::STANDARD.encode(public)
            );
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Rotate {
            wait_seconds,
            vault_only,
            signing_only,
        } => {
            if !vault_only {
                rotate_signing_key(global)?;
            }
            if !signing_only {
                return super::vault::rotate_live(
                    global,
                    std::time::Duration::from_secs(wait_seconds),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Replaces the signing key with a fresh one; the old public key goes to DATA/keys/retired/.
fn rotate_signing_key(global: &GlobalArgs) -> anyhow::Result<()> {
    let path = signing_key_path(global);
    let (old, created) = load_or_create_signing_key(&path)?;
    if created {
        println!("signing key created (nothing to rotate)");
        return Ok(());
    }
    let retired = global.data_dir.join("keys").join("retired");
    std::fs::create_dir_all(&retired)?;
    let public = hex::encode(old.verifying_key().to_bytes());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let retired_path = retired.join(format!("{now}-{}.pub", &public[..16]));
    std::fs::write(&retired_path, format!("{public}\n"))?;
    // The new key is written beside the old and renamed over it, so a crash leaves one of them.
    let staged = path.with_extension("key.new");
    let _ = std::fs::remove_file(&staged);
    let (new, _) = load_or_create_signing_key(&staged)?;
    std::fs::rename(&staged, &path)?;
    println!(
        "signing key rotated: new public key {}; the old one ({public}) is kept in {}",
        hex::encode(new.verifying_key().to_bytes()),
        retired_path.display()
    );
    Ok(())
}

pub async fn link(global: GlobalArgs, cmd: LinkCommand) -> anyhow::Result<ExitCode> {
    let store = runtime::open_store(&global).await?;
    match cmd {
        LinkCommand::Run => {
            let config = LinkConfig::default();
            let mut linked = 0usize;
            let mut links = 0usize;
            loop {
                let batch = store.unlinked_reports(1_000).await?;
                if batch.is_empty() {
                    break;
                }
                for id in batch {
                    // With the files' own IP events and the PDQ groups the pipeline filed.
                    links += safeguard_engine::pipeline::link_report_by_id(&store, id, &config)
                        .await?
                        .links
                        .len();
                    linked += 1;
                }
            }
            println!("linked {linked} reports, {links} new links");
        }
        LinkCommand::Exclude(ExcludeCommand::Add {
            kind,
            value,
            reason,
        }) => {
            let kind: KeyKind = kind.parse()?;
            store.add_exclusion(kind, &value, &reason).await?;
            println!("excluded {kind} {value}");
        }
        LinkCommand::Exclude(ExcludeCommand::Remove { kind, value }) => {
            let kind: KeyKind = kind.parse()?;
            if !store.remove_exclusion(kind, &value).await? {
                bail!("{kind} {value} was not excluded");
            }
            println!("removed {kind} {value}");
        }
        LinkCommand::Exclude(ExcludeCommand::List) => {
            for e in store.exclusions().await? {
                println!("{}\t{}\t{}", e.kind, e.value, e.reason);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
