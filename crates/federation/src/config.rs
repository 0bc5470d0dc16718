//! The federation file (TOML): this instance's name, the organisation that stands for it, the
//! deconfliction key, and its peers. See `config/federation.example.toml`.

use std::path::Path;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::FederationError;

/// What a peer receives from this instance for a referral to its organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Deliver {
    /// The report and the referral (to an intermediary, which forwards it).
    #[default]
    Referral,
    /// A signed intelligence package (to a national agency).
    Package,
}

/// One peer instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// The name the peer calls itself (its `instance`).
    pub name: String,
    /// Its base URL (`https://…`; `http://` only on loopback, for tests).
    pub url: String,
    /// Its Ed25519 public key (64 hex digits or base64), from `safeguard keys signing` there.
    pub public_key: String,
    /// The API token this instance uses at the peer (a user of the peer's organisation for this
    /// instance, with the analyst role: it needs to submit).
    pub token: String,
    /// The local organisation that stands for the peer: referrals to it are delivered to the
    /// peer, and what the peer sends arrives from it. Users of the peer at this instance belong
    /// to it.
    pub org: String,
    #[serde(default)]
    pub deliver: Deliver,
}

/// The federation file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationConfig {
    /// This instance's name in the federation.
    pub instance: String,
    /// The local organisation that receives what peers send.
    pub org: String,
    /// The key the federation agreed on for private deconfliction (64 hex digits).
    #[serde(default)]
    pub federation_key: Option<String>,
    /// Forward received referrals along their route without waiting for an analyst.
    #[serde(default)]
    pub auto_forward: bool,
    /// How often the federation worker looks for work, in milliseconds.
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
}

fn default_poll_ms() -> u64 {
    500
}

impl FederationConfig {
    /// Reads and checks a federation file.
    pub fn load(path: &Path) -> Result<Self, FederationError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| FederationError::Config(format!("reading {}: {e}", path.display())))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and checks the text of a federation file.
    pub fn parse(text: &str, file: &str) -> Result<Self, FederationError> {
        let config: Self = toml::from_str(text)
            .map_err(|e| FederationError::Config(format!("{file}: {}", e.message())))?;
        config.validate().map_err(|e| match e {
            FederationError::Config(m) => FederationError::Config(format!("{file}: {m}")),
            other => other,
        })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), FederationError> {
        let bad = |m: String| Err(FederationError::Config(m));
        if !valid_name(&self.instance) {
            return bad(format!(
                "instance name {:?}: use letters, digits, '-', '_' or '.'",
                self.instance
            ));
        }
        if let Some(key) = &self.federation_key {
            match hex::decode(key.trim()) {
                Ok(bytes) if bytes.len() == 32 => {}
                _ => return bad("federation_key: expected 64 hex digits".into()),
            }
        }
        let mut names = std::collections::HashSet::new();
        for (i, p) in self.peers.iter().enumerate() {
            if !valid_name(&p.name) || p.name == self.instance {
                return bad(format!(
                    "peers[{i}].name {:?} is not a valid peer name",
                    p.name
                ));
            }
            if !names.insert(p.name.as_str()) {
                return bad(format!("peers[{i}].name {:?} appears twice", p.name));
            }
            if !(p.url.starts_with("https://") || p.url.starts_with("http://")) {
                return bad(format!("peers[{i}].url must start with https://"));
            }
            if p.url.starts_with("http://") && !is_loopback_url(&p.url) {
                return bad(format!(
                    "peers[{i}].url: plain http is only allowed on loopback; use https://"
                ));
            }
            safeguard_engine::packages::parse_public_key(&p.public_key)
                .map_err(|e| FederationError::Config(format!("peers[{i}].public_key: {e}")))?;
            if p.token.trim().is_empty() {
                return bad(format!("peers[{i}].token is empty"));
            }
        }
        Ok(())
    }

    /// A peer by name.
    pub fn peer(&self, name: &str) -> Option<&PeerConfig> {
        self.peers.iter().find(|p| p.name == name)
    }

    /// The peer's verifying key (checked at load).
    pub fn peer_key(&self, peer: &PeerConfig) -> Result<VerifyingKey, FederationError> {
        safeguard_engine::packages::parse_public_key(&peer.public_key)
            .map_err(|e| FederationError::Config(format!("peer {}: {e}", peer.name)))
    }

    /// The deconfliction key, if configured.
    pub fn federation_key(&self) -> Option<[u8; 32]> {
        let bytes = hex::decode(self.federation_key.as_deref()?.trim()).ok()?;
        bytes.try_into().ok()
    }

    /// The file's text with one more peer (for `safeguard federation peer-add`).
    pub fn with_peer(mut self, peer: PeerConfig) -> Result<Self, FederationError> {
        self.peers.retain(|p| p.name != peer.name);
        self.peers.push(peer);
        self.validate()?;
        Ok(self)
    }

    /// The configuration as TOML text.
    pub fn to_toml(&self) -> Result<String, FederationError> {
        toml::to_string_pretty(self).map_err(|e| FederationError::Config(e.to_string()))
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn is_loopback_url(url: &str) -> bool {
    let rest = url.trim_start_matches("http://");
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    matches!(host, "localhost" | "[::1]") || host.starts_with("127.")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";

    fn peer(url: &str) -> String {
        format!(
            "instance = \"hotline\"\norg = \"Hotline\"\n[[peers]]\nname = \"coord\"\nurl = \"{url}\"\n\
             public_key = \"{KEY}\"\ntoken = \"t\"\norg = \"Coordinator\"\n"
        )
    }

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(FederationConfig::parse(&peer("http://127.0.0.1:9000"), "f").is_ok());
        assert!(FederationConfig::parse(&peer("https://coord.example"), "f").is_ok());
        let e = FederationConfig::parse(&peer("http://coord.example"), "f").expect_err("http");
        assert!(e.to_string().contains("loopback"), "{e}");
    }

    #[test]
    fn bad_keys_and_names_are_refused() {
        let text = peer("https://c.example").replace(KEY, "zz");
        assert!(FederationConfig::parse(&text, "f").is_err());
        let text = peer("https://c.example").replace("\"coord\"", "\"a b\"");
        assert!(FederationConfig::parse(&text, "f").is_err());
        let text = format!(
            "{}federation_key = \"00\"\n",
            "instance = \"x\"\norg = \"X\"\n"
        );
        assert!(FederationConfig::parse(&text, "f").is_err());
        let text = "instance = \"x\"\norg = \"X\"\ncolour = 1\n";
        assert!(FederationConfig::parse(text, "f").is_err());
    }

    #[test]
    fn adding_a_peer_replaces_one_of_the_same_name() {
        let config = FederationConfig::parse(&peer("https://c.example"), "f").expect("parses");
        let mut p = config.peers[0].clone();
        p.url = "https://other.example".into();
        let config = config.with_peer(p).expect("valid");
        assert_eq!(config.peers.len(), 1);
        let again =
            FederationConfig::parse(&config.to_toml().expect("toml"), "f").expect("round trip");
        assert_eq!(again.peers[0].url, "https://other.example");
    }

    #[test]
    fn the_example_file_loads() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/federation.example.toml");
        let config = FederationConfig::load(&path).expect("example loads");
        assert_eq!(config.peers.len(), 1);
        assert!(config.federation_key().is_some());
    }
}
