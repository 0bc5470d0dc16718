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
    /// Routing rule file: when given, a background worker routes finished reports
    /// (`report.finished` jobs) every few seconds and re-reads the file when it changes.
    #[arg(long, env = "SAFEGUARD_ROUTING_RULES", value_name = "FILE")]
    pub rules: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub limits: RateLimitArgs,
}

/// Rate limits: token buckets per client address and per account credential (429 beyond).
#[derive(Debug, Clone, clap::Args)]
pub struct RateLimitArgs {
    /// Requests one address may send at once.
    #[arg(long, env = "SAFEGUARD_RATE_ADDRESS_BURST", default_value_t = 600)]
    pub rate_address_burst: u32,
    /// Requests per second an address regains.
    #[arg(
        long,
        env = "SAFEGUARD_RATE_ADDRESS_PER_SECOND",
        default_value_t = 50.0
    )]
    pub rate_address_per_second: f64,
    /// Requests one account (API token, web session, CyberTipline user) may send at once.
    #[arg(long, env = "SAFEGUARD_RATE_ACCOUNT_BURST", default_value_t = 300)]
    pub rate_account_burst: u32,
    /// Requests per second an account regains.
    #[arg(
        long,
        env = "SAFEGUARD_RATE_ACCOUNT_PER_SECOND",
        default_value_t = 20.0
    )]
    pub rate_account_per_second: f64,
    /// Turns rate limiting off (e.g. behind a proxy that limits already).
    #[arg(long, env = "SAFEGUARD_NO_RATE_LIMIT")]
    pub no_rate_limit: bool,
}

impl Default for RateLimitArgs {
    fn default() -> Self {
        let d = safeguard_server::ratelimit::RateLimits::default();
        Self {
            rate_address_burst: d.per_address.burst,
            rate_address_per_second: d.per_address.per_second,
            rate_account_burst: d.per_account.burst,
            rate_account_per_second: d.per_account.per_second,
            no_rate_limit: false,
        }
    }
}

impl RateLimitArgs {
    /// The limits of the server configuration.
    pub fn limits(&self) -> Option<safeguard_server::ratelimit::RateLimits> {
        use safeguard_server::ratelimit::{Bucket, RateLimits};
        (!self.no_rate_limit).then(|| RateLimits {
            per_address: Bucket {
                burst: self.rate_address_burst.max(1),
                per_second: self.rate_address_per_second.max(0.0),
            },
            per_account: Bucket {
                burst: self.rate_account_burst.max(1),
                per_second: self.rate_account_per_second.max(0.0),
            },
            ..RateLimits::default()
        })
    }
}

pub async fn run(global: GlobalArgs, args: ServeArgs) -> anyhow::Result<ExitCode> {
    runtime::init_logging("info,sqlx=warn,tower_http=warn");
    let store = runtime::open_store(&global).await?;
    if let Some(path) = &args.rules {
        spawn_routing_worker(&store, &global.data_dir, path)?;
    }
    let vault = runtime::open_vault(&global.data_dir)?;
    spawn_key_reload(&global.data_dir, vault.clone());
    serve(
        store,
        vault,
        args.listen,
        None,
        args.max_upload,
        args.limits.limits(),
    )
    .await
}

/// Re-reads the vault key file every 30 seconds, so `safeguard keys rotate` run beside the server
/// needs no restart. Only key ids are logged, never material.
pub fn spawn_key_reload(data_dir: &std::path::Path, vault: Arc<Vault>) {
    let data_dir = data_dir.to_owned();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
        loop {
            tick.tick().await;
            match safeguard_vault::KeyRing::load(&data_dir) {
                Ok((ring, _)) => match vault.refresh_keys(&ring) {
                    Ok(true) => tracing::info!(
                        active = vault.active_key_id().as_str(),
                        "vault keys reloaded"
                    ),
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "vault key reload refused"),
                },
                Err(e) => tracing::error!(error = %e, "vault key file unreadable"),
            }
        }
    });
}

/// Starts the background worker that routes finished reports (`report.finished` jobs) every few
/// seconds with the rules in `rules` (re-read when the file changes). It ends with the runtime;
/// jobs left half-done are claimed again when their lease expires.
pub fn spawn_routing_worker(
    store: &Store,
    data_dir: &std::path::Path,
    rules: &std::path::Path,
) -> anyhow::Result<()> {
    let rules = safeguard_engine::routing::RulesFile::load(rules)?;
    let geo = safeguard_geo::Geolocator::builder()
        .data_dir(data_dir)
        .build()
        .context("loading geolocation data")?;
    tokio::spawn(safeguard_engine::routing::run_worker(
        store.clone(),
        Arc::new(geo),
        Arc::new(rules),
        std::time::Duration::from_secs(5),
        std::future::pending(),
    ));
    Ok(())
}

/// Serves until SIGINT or SIGTERM. `banner` is printed after the address.
pub async fn serve(
    store: Store,
    vault: Arc<Vault>,
    listen: SocketAddr,
    banner: Option<String>,
    max_upload: u64,
    rate_limits: Option<safeguard_server::ratelimit::RateLimits>,
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
        rate_limits,
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
