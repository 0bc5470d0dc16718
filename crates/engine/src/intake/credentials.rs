//! HTTP Basic credentials of reporter accounts, with successful checks remembered briefly.
//!
//! argon2 is slow on purpose (tens of milliseconds of CPU); a reporting client sends the same
//! credentials on every call of a report's flow, so a short-lived in-memory cache of
//! `(username, SHA-256(password))` → principal keeps the flow from being dominated by password
//! hashing. Only successes are cached (a wrong password is re-checked every time, so guessing
//! stays slow); an entry lives [`CredentialCache::ttl`] at most, so a disabled account or a
//! changed password takes effect within that time. Concurrent first calls with the same
//! credentials (a client opening many connections at once) wait for one check instead of each
//! hashing the password.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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
    /// Checks under way, one gate per key: later callers with the same key wait for it.
    in_flight: Mutex<HashMap<CredentialKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl CredentialCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
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
        let gate = {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            in_flight.entry(key.clone()).or_default().clone()
        };
        let _turn = gate.lock().await;
        // A check that finished while this call waited answers it.
        if let Some(p) = self.lookup(&key) {
            return Ok(p);
        }
        let checked = self.check(store, &key, username, password).await;
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
        checked
    }

    async fn check(
        &self,
        store: &Store,
        key: &CredentialKey,
        username: &str,
        password: &str,
    ) -> Result<Principal, IntakeError> {
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
        entries.insert(key.clone(), (principal.clone(), Instant::now()));
        Ok(principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safeguard_domain::account::{OrgKind, Role};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_first_calls_share_one_check_and_wrong_passwords_stay_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::connect(
            &Store::default_url(dir.path()),
            safeguard_store::StoreOptions::default(),
        )
        .await
        .expect("store");
        crate::accounts::add_org(&store, "Company", OrgKind::Reporter, None, "test")
            .await
            .expect("org");
        crate::accounts::add_user(
            &store,
            "Company",
            "company",
            Role::Reporter,
            "a long test password",
            "test",
        )
        .await
        .expect("user");
        let cache = Arc::new(CredentialCache::new(Duration::from_secs(60)));
        let calls: Vec<_> = (0..16)
            .map(|_| {
                let (cache, store) = (cache.clone(), store.clone());
                tokio::spawn(async move {
                    cache
                        .authenticate(&store, "company", "a long test password")
                        .await
                })
            })
            .collect();
        for call in calls {
            let principal = call.await.expect("task").expect("authenticated");
            assert_eq!(principal.username.as_str(), "company");
        }
        // One gate per key while a check runs, none left afterwards.
        assert!(cache
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty());
        assert_eq!(
            cache
                .entries
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .len(),
            1,
            "one remembered success"
        );
        for _ in 0..2 {
            let refused = cache
                .authenticate(&store, "company", "not the password")
                .await
                .expect_err("a wrong password is refused every time");
            assert_eq!(
                refused.code,
                safeguard_formats::cybertipline::ResponseCode::AuthenticationRequired
            );
        }
    }
}
