//! The background work of a node, shared by `safeguard serve` and `safeguard worker`: the job
//! queue workers (routing today) and the federation worker. Several nodes on one PostgreSQL
//! database each run them; the queue hands every job to one node at a time.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use safeguard_federation::{Federation, FederationConfig};
use safeguard_store::Store;

use super::GlobalArgs;

/// Options of the background work.
#[derive(Debug, Clone, clap::Args)]
pub struct BackgroundArgs {
    /// How long a claimed job stays leased to this node, in seconds: when a node dies, its jobs
    /// go to another node once their lease has expired.
    #[arg(long, env = "SAFEGUARD_JOB_LEASE_SECS", default_value_t = 300)]
    pub job_lease_secs: u32,
    /// Federation file (TOML: this instance's name and its `[[peers]]`); see
    /// `config/federation.example.toml`.
    #[arg(long, env = "SAFEGUARD_FEDERATION", value_name = "FILE")]
    pub federation: Option<PathBuf>,
}

/// Loads the federation file with the instance's signing key (DATA/keys/signing.key).
pub async fn load_federation(
    global: &GlobalArgs,
    store: &Store,
    file: &Path,
) -> anyhow::Result<Federation> {
    let config = FederationConfig::load(file)?;
    let (key, _) = safeguard_engine::packages::load_or_create_signing_key(
        &global.data_dir.join("keys").join("signing.key"),
    )
    .context("loading the signing key")?;
    let federation = Federation::new(config, key)?;
    federation.check_organisations(store).await?;
    Ok(federation)
}

/// Starts the node's background work: the routing worker when `rules` is given, the federation
/// worker when a federation file is. Returns the federation for the HTTP server.
pub async fn spawn_background(
    global: &GlobalArgs,
    store: &Store,
    rules: Option<&Path>,
    args: &BackgroundArgs,
) -> anyhow::Result<Option<Federation>> {
    if let Some(rules) = rules {
        spawn_job_workers(store, &global.data_dir, rules, args.job_lease_secs)?;
    }
    let Some(file) = &args.federation else {
        return Ok(None);
    };
    let federation = load_federation(global, store, file).await?;
    tokio::spawn(safeguard_federation::run_worker(
        federation.clone(),
        store.clone(),
        std::future::pending(),
    ));
    Ok(Some(federation))
}

/// Starts the job-queue workers of this node (today: routing finished reports with the rules in
/// `rules`, re-read when the file changes). Jobs left half-done by a node that died are claimed
/// again when their lease expires.
pub fn spawn_job_workers(
    store: &Store,
    data_dir: &Path,
    rules: &Path,
    lease_secs: u32,
) -> anyhow::Result<()> {
    let rules = safeguard_engine::routing::RulesFile::load(rules)?;
    let geo = safeguard_geo::Geolocator::builder()
        .data_dir(data_dir)
        .build()
        .context("loading geolocation data")?;
    tokio::spawn(safeguard_engine::routing::run_worker_leased(
        store.clone(),
        Arc::new(geo),
        Arc::new(rules),
        std::time::Duration::from_secs(1),
        time::Duration::seconds(i64::from(lease_secs.max(1))),
        std::future::pending(),
    ));
    Ok(())
}
