use std::sync::Arc;
use std::time::Duration;

use safeguard_store::Store;

use crate::web::media::{MediaSource, PlaceholderMedia};

/// Limits and switches of the HTTP server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest JSON body accepted, in bytes.
    pub max_json_body: usize,
    /// Longest a request may take before it is answered with 408.
    pub request_timeout: Duration,
    /// Mark the web session cookie `Secure` (on whenever the server is reached over TLS; off
    /// only for plain http on loopback, where browsers would drop a Secure cookie).
    pub secure_cookies: bool,
    /// A web session unused this long is ended.
    pub session_idle: Duration,
    /// A web session ends this long after sign-in, however active.
    pub session_absolute: Duration,
    /// Largest file accepted by the CyberTipline `/ispws/upload`, in bytes.
    pub max_upload: u64,
    /// Token buckets per client address and per account; `None` turns rate limiting off.
    pub rate_limits: Option<crate::ratelimit::RateLimits>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_json_body: 2 * 1024 * 1024,
            request_timeout: Duration::from_secs(60),
            secure_cookies: true,
            session_idle: Duration::from_secs(30 * 60),
            session_absolute: Duration::from_secs(12 * 60 * 60),
            max_upload: safeguard_engine::intake::DEFAULT_MAX_UPLOAD,
            rate_limits: Some(crate::ratelimit::RateLimits::default()),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    /// Where thumbnails and media come from (the evidence vault; a placeholder until it lands).
    pub media: Arc<dyn MediaSource>,
    /// The CyberTipline intake (with the evidence vault); `/ispws` answers 1000 without it.
    pub intake: Option<Arc<safeguard_engine::intake::Intake>>,
    /// The instance's package signing key; building packages from the web answers an error
    /// without it.
    pub signing_key: Option<Arc<safeguard_engine::packages::SigningKey>>,
    /// Federation with peer instances; `/api/v1/federation/envelopes` answers 503 without it.
    pub federation: Option<safeguard_federation::Federation>,
    /// Where geolocation data is read from (the data folder's updated copy, else the bundled
    /// tables), and the geolocator, loaded once on first use.
    geo_data_dir: Option<std::path::PathBuf>,
    geolocator: Arc<tokio::sync::OnceCell<Arc<safeguard_geo::Geolocator>>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State with the placeholder media source.
    pub fn new(store: Store, config: ServerConfig) -> Self {
        Self {
            store,
            config: Arc::new(config),
            media: Arc::new(PlaceholderMedia),
            intake: None,
            signing_key: None,
            federation: None,
            geo_data_dir: None,
            geolocator: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// Geolocation from `data_dir` (a copy written by `safeguard geo update` takes precedence
    /// over the bundled tables).
    pub fn with_geo_data_dir(mut self, data_dir: &std::path::Path) -> Self {
        self.geo_data_dir = Some(data_dir.to_owned());
        self
    }

    /// The geolocator, loaded on first use and kept.
    pub async fn geolocator(
        &self,
    ) -> Result<Arc<safeguard_geo::Geolocator>, safeguard_geo::GeoError> {
        let dir = self.geo_data_dir.clone();
        self.geolocator
            .get_or_try_init(|| async move {
                let loaded = tokio::task::spawn_blocking(move || match dir {
                    Some(dir) => safeguard_geo::Geolocator::builder().data_dir(&dir).build(),
                    None => safeguard_geo::Geolocator::bundled(),
                })
                .await
                .map_err(|e| safeguard_geo::GeoError::Io {
                    context: "loading geolocation data".into(),
                    source: std::io::Error::other(e),
                })??;
                Ok(Arc::new(loaded))
            })
            .await
            .cloned()
    }

    /// The same state with another media source (the evidence vault).
    pub fn with_media(mut self, media: Arc<dyn MediaSource>) -> Self {
        self.media = media;
        self
    }

    /// Enables building packages from the web pages, signed with `key`.
    pub fn with_signing_key(mut self, key: Arc<safeguard_engine::packages::SigningKey>) -> Self {
        self.signing_key = Some(key);
        self
    }

    /// Enables the CyberTipline intake.
    pub fn with_intake(mut self, intake: Arc<safeguard_engine::intake::Intake>) -> Self {
        self.intake = Some(intake);
        self
    }

    /// The same state with federation (peers, signing key).
    pub fn with_federation(mut self, federation: safeguard_federation::Federation) -> Self {
        self.federation = Some(federation);
        self
    }
}
