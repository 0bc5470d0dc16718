//! `safeguard serve`.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use safeguard_server::{AppState, ServerConfig};
use safeguard_store::Store;

use super::{runtime, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, env = "SAFEGUARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Routing rule file: when given, a background worker routes finished reports
    /// (`report.finished` jobs) every few seconds and re-reads the file when it changes.
    #[arg(long, env = "SAFEGUARD_ROUTING_RULES", value_name = "FILE")]
    pub rules: Option<std::path::PathBuf>,
}

pub async fn run(global: GlobalArgs, args: ServeArgs) -> anyhow::Result<ExitCode> {
    runtime::init_logging("info,sqlx=warn,tower_http=warn");
    let store = runtime::open_store(&global).await?;
    if let Some(path) = &args.rules {
        let rules = safeguard_engine::routing::RulesFile::load(path)?;
        let geo = safeguard_geo::Geolocator::builder()
            .data_dir(&global.data_dir)
            .build()
            .context("loading geolocation data")?;
        // Ends with the runtime when the server stops; jobs left half-done are re-claimed
        // when their lease expires.
        tokio::spawn(safeguard_engine::routing::run_worker(
            store.clone(),
            std::sync::Arc::new(geo),
            std::sync::Arc::new(rules),
            std::time::Duration::from_secs(5),
            std::future::pending(),
        ));
    }
    serve(store, args.listen, None).await
}

/// Serves until SIGINT or SIGTERM. `banner` is printed after the address.
pub async fn serve(
    store: Store,
    listen: SocketAddr,
    banner: Option<String>,
) -> anyhow::Result<ExitCode> {
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
    let state = AppState::new(store.clone(), ServerConfig::default());
    safeguard_server::serve(listener, state, shutdown_signal()).await?;
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
