//! What the commands share: the async runtime, logging and opening the store.

use std::future::Future;
use std::process::ExitCode;

use anyhow::Context;
use safeguard_store::{Store, StoreOptions};

use super::GlobalArgs;

pub fn block_on(fut: impl Future<Output = anyhow::Result<ExitCode>>) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(fut)
}

/// Logs to standard error; `RUST_LOG` overrides the level.
pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The database URL in force: the flag or environment, else SQLite in the data folder.
pub fn database_url(global: &GlobalArgs) -> anyhow::Result<String> {
    match &global.database_url {
        Some(url) => Ok(url.clone()),
        None => {
            std::fs::create_dir_all(&global.data_dir).with_context(|| {
                format!("creating the data folder {}", global.data_dir.display())
            })?;
            Ok(Store::default_url(&global.data_dir))
        }
    }
}

/// Opens (and migrates) the store.
pub async fn open_store(global: &GlobalArgs) -> anyhow::Result<Store> {
    let url = database_url(global)?;
    Store::connect(&url, StoreOptions::default())
        .await
        .with_context(|| format!("opening the database {}", redact(&url)))
}

/// Opens the evidence vault of the data folder (`DIR/vault`), with its key from
/// `SAFEGUARD_VAULT_KEY` or `DIR/keys/vault.key` (created on first use).
pub fn open_vault(
    data_dir: &std::path::Path,
) -> anyhow::Result<std::sync::Arc<safeguard_vault::Vault>> {
    let (keys, _) = safeguard_vault::KeyRing::load(data_dir).context("loading the vault key")?;
    let dir = data_dir.join("vault");
    let vault = safeguard_vault::Vault::open(&dir, keys, safeguard_vault::VaultConfig::default())
        .with_context(|| format!("opening the evidence vault {}", dir.display()))?;
    Ok(std::sync::Arc::new(vault))
}

/// A database URL fit for messages: any password replaced.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://sg:secret@db:5432/sg"),
            "postgres://sg:***@db:5432/sg"
        );
        assert_eq!(redact("postgres://sg@db/sg"), "postgres://sg@db/sg");
        assert_eq!(
            redact("sqlite://data/safeguard.db"),
            "sqlite://data/safeguard.db"
        );
    }
}
