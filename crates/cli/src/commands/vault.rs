//! `safeguard vault verify|rotate`: the integrity sweep and master-key rotation of the evidence
//! vault in `<data-dir>/vault` (keys from `SAFEGUARD_VAULT_KEY` or `<data-dir>/keys/vault.key`).

use std::process::ExitCode;

use anyhow::Context;
use safeguard_vault::{KeyId, KeyRing, KeySource, MasterKey, Vault, VaultConfig};

use super::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum VaultCommand {
    /// Decrypt every blob and check its digests; lists stray files. Exit code 1 on a problem.
    Verify,
    /// Make a fresh master key active and re-wrap every blob header under it (the content is
    /// not re-encrypted). The key file keeps the old key too until you remove it.
    Rotate,
}

pub fn run(global: &GlobalArgs, cmd: VaultCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        VaultCommand::Verify => {
            let vault = super::runtime::open_vault(&global.data_dir)?;
            let report = vault.verify_all().context("verifying the vault")?;
            println!(
                "{} blobs checked, {} ok, {} bytes verified",
                report.checked, report.ok, report.bytes
            );
            for p in &report.problems {
                println!("PROBLEM {}: {}", p.path.display(), p.error);
            }
            Ok(if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        VaultCommand::Rotate => {
            let (keys, source) =
                KeyRing::load(&global.data_dir).context("loading the vault keys")?;
            let path = match source {
                KeySource::KeyFile(p) | KeySource::CreatedKeyFile(p) => p,
                KeySource::Environment => anyhow::bail!(
                    "the keys come from SAFEGUARD_VAULT_KEY: add a new key to the variable \
                     (id:key, first entry active) instead; rotation needs a key file to update"
                ),
            };
            let dir = global.data_dir.join("vault");
            let vault = Vault::open(&dir, keys.clone(), VaultConfig::default())
                .with_context(|| format!("opening the evidence vault {}", dir.display()))?;
            let new_key = MasterKey::generate(KeyId::generate());
            let new_id = new_key.id().clone();
            // The new key is persisted first (beside the old, still active one), so a crash
            // mid-rotation never leaves blobs wrapped under a key that exists nowhere.
            let mut ring = keys;
            ring.insert(new_key.clone())?;
            ring.replace_key_file(&path).context("saving the new key")?;
            let report = vault.rotate(new_key).context("rotating")?;
            ring.set_active(&new_id)?;
            ring.replace_key_file(&path)
                .context("making the new key active in the key file")?;
            println!(
                "active key is now {}: {} blob headers re-wrapped, {} already current, {} failed",
                new_id.as_str(),
                report.rewrapped,
                report.already_current,
                report.failed.len()
            );
            for (p, e) in &report.failed {
                println!("FAILED {}: {e}", p.display());
            }
            Ok(if report.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// Rotates the vault key while servers run on the same vault: the new key is added to the key
/// file (the old one still active) and servers are given `wait` to load it; then every header is
/// re-wrapped, the new key made active in the file, and after another `wait` a second pass
/// re-wraps what servers wrote under the old key meanwhile.
pub fn rotate_live(global: &GlobalArgs, wait: std::time::Duration) -> anyhow::Result<ExitCode> {
    let (keys, source) = KeyRing::load(&global.data_dir).context("loading the vault keys")?;
    let path = match source {
        KeySource::KeyFile(p) | KeySource::CreatedKeyFile(p) => p,
        KeySource::Environment => anyhow::bail!(
            "the keys come from SAFEGUARD_VAULT_KEY: add a new key to the variable (id:key, first \
             entry active) and restart; rotation needs a key file to update"
        ),
    };
    let new_key = MasterKey::generate(KeyId::generate());
    let new_id = new_key.id().clone();
    let mut ring = keys;
    ring.insert(new_key.clone())?;
    ring.replace_key_file(&path).context("saving the new key")?;
    if !wait.is_zero() {
        println!(
            "new vault key {} added; waiting {} s for running servers to load it",
            new_id.as_str(),
            wait.as_secs()
        );
        std::thread::sleep(wait);
    }
    let dir = global.data_dir.join("vault");
    let vault = Vault::open(&dir, ring.clone(), VaultConfig::default())
        .with_context(|| format!("opening the evidence vault {}", dir.display()))?;
    let mut report = vault.rotate(new_key.clone()).context("rotating")?;
    ring.set_active(&new_id)?;
    ring.replace_key_file(&path)
        .context("making the new key active in the key file")?;
    if !wait.is_zero() {
        std::thread::sleep(wait);
        let second = vault.rotate(new_key).context("rotating (second pass)")?;
        report.rewrapped += second.rewrapped;
        report.failed.extend(second.failed);
    }
    println!(
        "active vault key is now {}: {} blob headers re-wrapped, {} failed",
        new_id.as_str(),
        report.rewrapped,
        report.failed.len()
    );
    for (p, e) in &report.failed {
        println!("FAILED {}: {e}", p.display());
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
