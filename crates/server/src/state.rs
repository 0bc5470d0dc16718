use std::sync::Arc;
use std::time::Duration;

use safeguard_store::Store;

/// Limits and switches of the HTTP server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest JSON body accepted, in bytes.
    pub max_json_body: usize,
    /// Longest a request may take before it is answered with 408.
    pub request_timeout: Duration,
    /// Largest file accepted by the CyberTipline `/ispws/upload`, in bytes.
    pub max_upload: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_json_body: 2 * 1024 * 1024,
            request_timeout: Duration::from_secs(60),
            max_upload: safeguard_engine::intake::DEFAULT_MAX_UPLOAD,
        }
    }
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    /// The CyberTipline intake (with the evidence vault); `/ispws` answers 1000 without it.
    pub intake: Option<Arc<safeguard_engine::intake::Intake>>,
}

impl AppState {
    pub fn new(store: Store, config: ServerConfig) -> Self {
        Self {
            store,
            config: Arc::new(config),
            intake: None,
        }
    }

    /// Enables the CyberTipline intake.
    pub fn with_intake(mut self, intake: Arc<safeguard_engine::intake::Intake>) -> Self {
        self.intake = Some(intake);
        self
    }
}
