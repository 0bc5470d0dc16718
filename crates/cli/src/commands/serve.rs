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
    /// Also serve the public "Trace an Object" site on this address (its own listener and
    /// router, holding only the public routes; the address is printed).
    #[arg(long, env = "SAFEGUARD_PUBLIC_LISTEN", value_name = "ADDR")]
    pub public_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub background: super::background::BackgroundArgs,
    /// Do not run the after-acknowledgement pipeline in this process (run `report.finished`
    /// jobs elsewhere, e.g. in a separate worker process).
    #[arg(long, env = "SAFEGUARD_NO_PIPELINE")]
    pub no_pipeline: bool,
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
    let vault = runtime::open_vault(&global.data_dir)?;
    let federation = super::background::spawn_background(
        &global,
        &store,
        &vault,
        args.rules.as_deref(),
        &args.background,
        !args.no_pipeline,
    )
    .await?;
    spawn_key_reload(&global.data_dir, vault.clone());
    serve_with(
        store,
        vault,
        &global.data_dir,
        args.listen,
        args.public_listen,
        None,
        args.max_upload,
        federation,
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

/// Serves until SIGINT or SIGTERM. `banner` is printed after the address.
#[allow(clippy::too_many_arguments)]
pub async fn serve(
    store: Store,
    vault: Arc<Vault>,
    data_dir: &std::path::Path,
    listen: SocketAddr,
    public_listen: Option<SocketAddr>,
    banner: Option<String>,
    max_upload: u64,
    rate_limits: Option<safeguard_server::ratelimit::RateLimits>,
) -> anyhow::Result<ExitCode> {
    serve_with(
        store,
        vault,
        data_dir,
        listen,
        public_listen,
        banner,
        max_upload,
        None,
        rate_limits,
    )
    .await
}

/// [`serve`] with federation (the envelope endpoint answers 503 without it).
#[allow(clippy::too_many_arguments)]
pub async fn serve_with(
    store: Store,
    vault: Arc<Vault>,
    data_dir: &std::path::Path,
    listen: SocketAddr,
    public_listen: Option<SocketAddr>,
    banner: Option<String>,
    max_upload: u64,
    federation: Option<safeguard_federation::Federation>,
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
    // The public site binds first, so both addresses are printed before scripts go on.
    let public = match public_listen {
        Some(addr) => {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr} (public site)"))?;
            let a = l.local_addr()?;
            Some((l, a))
        }
        None => None,
    };
    if let Some((_, a)) = &public {
        println!("Trace an Object (public site) listening on http://{a}");
    }
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
    // Packages built from the web pages are signed with the instance's key (created if absent,
    // as `safeguard keys signing` does).
    let (signing_key, _) = safeguard_engine::packages::load_or_create_signing_key(
        &data_dir.join("keys").join("signing.key"),
    )
    .context("loading the package signing key")?;
    let public_task = public.map(|(l, a)| {
        let state = safeguard_server::public::PublicState::new(
            store.clone(),
            safeguard_server::public::RateLimit::default(),
        );
        let config = ServerConfig {
            secure_cookies: !a.ip().is_loopback(),
            ..ServerConfig::default()
        };
        tokio::spawn(async move {
            if let Err(e) =
                safeguard_server::public::serve(l, state, config, shutdown_signal()).await
            {
                tracing::error!(error = %e, "the public site stopped");
            }
        })
    });
    let state = AppState::new(store.clone(), config)
        .with_media(Arc::new(VaultMedia::new(vault)))
        .with_intake(intake)
        .with_signing_key(Arc::new(signing_key))
        .with_geo_data_dir(data_dir);
    let state = match federation {
        Some(f) => state.with_federation(f),
        None => state,
    };
    safeguard_server::serve(listener, state, shutdown_signal()).await?;
    if let Some(task) = public_task {
        let _ = task.await;
    }
    expiry.abort();
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn shutdown_signal() {
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
