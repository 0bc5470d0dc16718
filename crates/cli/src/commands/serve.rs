//! `safeguard serve`.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use std::sync::Arc;

use safeguard_server::web::media::VaultMedia;
use safeguard_server::{AppState, ServerConfig};
use safeguard_store::Store;
use safeguard_vault::Vault;

use super::{runtime, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, env = "SAFEGUARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Largest file accepted by the CyberTipline upload (`/ispws/upload`), in bytes.
    #[arg(long, env = "SAFEGUARD_MAX_UPLOAD", default_value_t = safeguard_engine::intake::DEFAULT_MAX_UPLOAD)]
    pub max_upload: u64,
    /// Routing rule file: when given, the background pipeline also routes finished reports
    /// (priority, candidates, referrals) and re-reads the file when it changes. Without it the
    /// pipeline matches and links only.
    #[arg(long, env = "SAFEGUARD_ROUTING_RULES", value_name = "FILE")]
    pub rules: Option<std::path::PathBuf>,
    /// Do not run the after-acknowledgement pipeline in this process (run `report.finished`
    /// jobs elsewhere, e.g. in a separate worker process).
    #[arg(long, env = "SAFEGUARD_NO_PIPELINE")]
    pub no_pipeline: bool,
}

pub async fn run(global: GlobalArgs, args: ServeArgs) -> anyhow::Result<ExitCode> {
    runtime::init_logging("info,sqlx=warn,tower_http=warn");
    let store = runtime::open_store(&global).await?;
    let vault = runtime::open_vault(&global.data_dir)?;
    if !args.no_pipeline {
        spawn_pipeline(&store, &vault, &global.data_dir, args.rules.as_deref())?;
    }
    serve(store, vault, args.listen, None, args.max_upload).await
}

/// Starts the after-acknowledgement pipeline (`engine::pipeline`) in the background: every
/// `report.finished` job is matched against known material, routed with the rules in `rules`
/// (when given; re-read when the file changes) and linked. The rules and geolocation data are
/// checked here; the match index loads in the background and then follows later imports by
/// itself. Jobs left half-done at shutdown are claimed again when their lease expires.
pub fn spawn_pipeline(
    store: &Store,
    vault: &Vault,
    data_dir: &std::path::Path,
    rules: Option<&std::path::Path>,
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
    // The match index loads in the background (minutes for millions of hashes): the server
    // answers meanwhile and jobs wait in the queue. A failed start is retried.
    let (store, vault) = (store.clone(), vault.clone());
    tokio::spawn(async move {
        let pipeline = loop {
            match Pipeline::start(
                store.clone(),
                vault.clone(),
                routing.clone(),
                PipelineConfig::default(),
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

/// Serves until SIGINT or SIGTERM. `banner` is printed after the address.
pub async fn serve(
    store: Store,
    vault: Arc<Vault>,
    listen: SocketAddr,
    banner: Option<String>,
    max_upload: u64,
) -> anyhow::Result<ExitCode> {
    // The CyberTipline intake (with its expiry task) over the evidence vault.
    let intake = std::sync::Arc::new(safeguard_engine::intake::Intake::new(
        store.clone(),
        vault.clone(),
    ));
    let expiry = safeguard_engine::intake::expiry::spawn_expiry_task(
        store.clone(),
        vault.clone(),
        std::time::Duration::from_secs(60),
    );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let local = listener.local_addr()?;
    // Printed (and flushed) only once the socket accepts connections: scripts wait for this line.
    println!("Safeguard listening on http://{local}");
    if let Some(banner) = banner {
        println!("{banner}");
    }
    use std::io::Write as _;
    std::io::stdout().flush()?;
    // The server speaks plain http; TLS is terminated by a proxy in front of it. Session cookies
    // are marked Secure unless the server listens on loopback, where a browser reaches it over
    // plain http and would drop a Secure cookie.
    let config = ServerConfig {
        secure_cookies: !local.ip().is_loopback(),
        max_upload,
        ..ServerConfig::default()
    };
    let state = AppState::new(store.clone(), config)
        .with_media(Arc::new(VaultMedia::new(vault)))
        .with_intake(intake);
    safeguard_server::serve(listener, state, shutdown_signal()).await?;
    expiry.abort();
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing open requests");
}
