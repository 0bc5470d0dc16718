//! HTTP Basic credentials of reporter accounts, with successful checks remembered briefly.
//!
//! argon2 is slow on purpose (tens of milliseconds of CPU); a reporting client sends the same
//! credentials on every call of a report's flow, so a short-lived in-memory cache of
//! `(username, SHA-256(password))` → principal keeps the flow from being dominated by password
//! hashing. Only successes are cached (a wrong password is re-checked every time, so guessing
//! stays slow); an entry lives [`CredentialCache::ttl`] at most, so a disabled account or a
//! changed password takes effect within that time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use safeguard_domain::account::Principal;
use safeguard_store::Store;
use sha2::{Digest, Sha256};

use super::IntakeError;

/// Most entries kept; beyond it the cache is emptied (a burst of distinct accounts).
const MAX_ENTRIES: usize = 10_000;

/// `(username, SHA-256 of the password)`.
type CredentialKey = (String, [u8; 32]);

/// Remembered successful password checks.
#[derive(Debug)]
pub struct CredentialCache {
    ttl: Duration,
    entries: Mutex<HashMap<CredentialKey, (Principal, Instant)>>,
}

impl CredentialCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How long a successful check is remembered.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn lookup(&self, key: &CredentialKey) -> Option<Principal> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(p, _)| p.clone())
    }

    /// The principal of these credentials (2000 when they do not verify).
    pub async fn authenticate(
        &self,
        store: &Store,
        username: &str,
        password: &str,
    ) -> Result<Principal, IntakeError> {
        let key = (
            username.to_owned(),
            <[u8; 32]>::from(Sha256::digest(password.as_bytes())),
        );
        if let Some(p) = self.lookup(&key) {
            return Ok(p);
        }
        let principal =
            match crate::accounts::authenticate_password(store, username, password).await {
                Ok(p) => p,
                Err(crate::EngineError::Unauthenticated(why)) => {
                    return Err(IntakeError::new(
                        safeguard_formats::cybertipline::ResponseCode::AuthenticationRequired,
                        why,
                    ))
                }
                Err(e) => return Err(e.into()),
            };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (principal.clone(), Instant::now()));
        Ok(principal)
    }
}
