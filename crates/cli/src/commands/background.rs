//! The background work of a node, shared by `safeguard serve` and `safeguard worker`: the job
//! queue workers (the after-acknowledgement pipeline) and the federation worker. Several nodes on one PostgreSQL
//! database each run them; the queue hands every job to one node at a time.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use safeguard_federation::{Federation, FederationConfig};
use safeguard_store::Store;
use safeguard_vault::Vault;

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
    /// Retention file (TOML: days per data class, see `config/retention.example.toml`): the
    /// node purges what is due every hour. Without it nothing is ever deleted by age.
    #[arg(long, env = "SAFEGUARD_RETENTION", value_name = "FILE")]
    pub retention: Option<PathBuf>,
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

/// Starts the node's background work: the after-acknowledgement pipeline (matching, routing
/// when `rules` is given, linking) unless `pipeline` is false, and the federation worker when a
/// federation file is given. Returns the federation for the HTTP server.
pub async fn spawn_background(
    global: &GlobalArgs,
    store: &Store,
    vault: &Vault,
    rules: Option<&Path>,
    args: &BackgroundArgs,
    pipeline: bool,
) -> anyhow::Result<Option<Federation>> {
    if pipeline {
        spawn_pipeline(store, vault, &global.data_dir, rules, args.job_lease_secs)?;
    }
    if let Some(file) = &args.retention {
        let policy = safeguard_engine::retention::RetentionPolicy::load(file)?;
        for (class, period) in policy.periods() {
            tracing::info!(class = class.as_str(), period = %period, "retention");
        }
        safeguard_engine::retention::spawn_retention_task(
            store.clone(),
            Arc::new(vault.clone()),
            policy,
            std::time::Duration::from_secs(3600),
        );
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

/// Starts the after-acknowledgement pipeline (`engine::pipeline`) in the background: every
/// `report.finished` job is matched against known material, routed with the rules in `rules`
/// (when given; re-read when the file changes) and linked. The rules and geolocation data are
/// checked here; the match index loads in the background and then follows later imports by
/// itself. Jobs are leased to this node for `lease_secs`: those of a node that died are claimed
/// again when their lease expires.
pub fn spawn_pipeline(
    store: &Store,
    vault: &Vault,
    data_dir: &Path,
    rules: Option<&Path>,
    lease_secs: u32,
) -> anyhow::Result<()> {
    use safeguard_engine::pipeline::{Pipeline, PipelineConfig, RoutingSetup};
    let routing = match rules {
        Some(rules) => Some(RoutingSetup {
            rules: Arc::new(safeguard_engine::routing::RulesFile::load(rules)?),
            geolocator: Arc::new(
                safeguard_geo::Geolocator::builder()
                    .data_dir(data_dir)
                    .build()
                    .context("loading geolocation data")?,
            ),
        }),
        None => None,
    };
    let config = PipelineConfig {
        batch: 20,
        lease: time::Duration::seconds(i64::from(lease_secs.max(1))),
        ..PipelineConfig::default()
    };
    // The match index loads in the background (minutes for millions of hashes): the server
    // answers meanwhile and jobs wait in the queue. A failed start is retried.
    let (store, vault) = (store.clone(), vault.clone());
    tokio::spawn(async move {
        let pipeline = loop {
            match Pipeline::start(
                store.clone(),
                vault.clone(),
                routing.clone(),
                config.clone(),
            )
            .await
            {
                Ok(p) => break p,
                Err(e) => {
                    tracing::error!(error = %e, "the report pipeline did not start; retrying in 30 s");
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                }
            }
        };
        tracing::info!(
            known_pdqs = pipeline.index().len(),
            "report pipeline started"
        );
        Arc::new(pipeline)
            .run(std::time::Duration::from_secs(1), std::future::pending())
            .await;
    });
    Ok(())
}
