//! Rate limits: token buckets in memory, one per client address and one per account credential
//! (API token, web session, CyberTipline Basic user name), checked before any handler runs. A
//! request over either limit is answered 429 with `Retry-After`, in the envelope of the part it
//! was sent to: the JSON error for `/api`, a `reportResponse` for `/ispws`, a page for the web.
//!
//! Credentials are keyed by their SHA-256, so the table holds no secret. The table is bounded:
//! when it grows past [`RateLimits::max_keys`], buckets that have refilled are dropped (they are
//! indistinguishable from new ones), and if it is still full the oldest are.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::web::session::{cookie, SESSION_COOKIE};

/// One bucket's shape: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub burst: u32,
    pub per_second: f64,
}

/// The limits of the server (`ServerConfig::rate_limits`; `None` there turns them off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    /// Per client address (the TCP peer).
    pub per_address: Bucket,
    /// Per account credential.
    pub per_account: Bucket,
    /// Most buckets kept in memory.
    pub max_keys: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            per_address: Bucket {
                burst: 600,
                per_second: 50.0,
            },
            per_account: Bucket {
                burst: 300,
                per_second: 20.0,
            },
            max_keys: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct State {
    tokens: f64,
    at: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Address(IpAddr),
    Account([u8; 32]),
}

/// The buckets of a running server.
#[derive(Debug)]
pub struct Limiter {
    limits: RateLimits,
    buckets: Mutex<HashMap<Key, State>>,
}

impl Limiter {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from each bucket the request falls in; on refusal, how long to wait.
    fn take(&self, keys: &[(Key, Bucket)], now: Instant) -> Result<(), Duration> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= self.limits.max_keys {
            Self::evict(&mut buckets, &self.limits, now);
        }
        // Refill every bucket first, then take from all or none.
        let mut wait = Duration::ZERO;
        let mut refilled = Vec::with_capacity(keys.len());
        for (key, shape) in keys {
            let capacity = f64::from(shape.burst);
            let state = buckets.get(key).copied().unwrap_or(State {
                tokens: capacity,
                at: now,
            });
            let elapsed = now.saturating_duration_since(state.at).as_secs_f64();
            let tokens = (state.tokens + elapsed * shape.per_second).min(capacity);
            if tokens < 1.0 {
                let secs = if shape.per_second > 0.0 {
                    (1.0 - tokens) / shape.per_second
                } else {
                    3600.0
                };
                wait = wait.max(Duration::from_secs_f64(secs.min(3600.0)));
            }
            refilled.push((*key, tokens));
        }
        if wait > Duration::ZERO {
            for (key, tokens) in refilled {
                buckets.insert(key, State { tokens, at: now });
            }
            return Err(wait);
        }
        for (key, tokens) in refilled {
            buckets.insert(
                key,
                State {
                    tokens: tokens - 1.0,
                    at: now,
                },
            );
        }
        Ok(())
    }

    fn evict(buckets: &mut HashMap<Key, State>, limits: &RateLimits, now: Instant) {
        let full_after = |key: &Key| {
            let shape = match key {
                Key::Address(_) => limits.per_address,
                Key::Account(_) => limits.per_account,
            };
            Duration::from_secs_f64(
                f64::from(shape.burst) / shape.per_second.max(f64::MIN_POSITIVE),
            )
        };
        buckets.retain(|k, s| now.saturating_duration_since(s.at) < full_after(k));
        if buckets.len() >= limits.max_keys {
            let mut ages: Vec<(Key, Instant)> = buckets.iter().map(|(k, s)| (*k, s.at)).collect();
            ages.sort_by_key(|(_, at)| *at);
            for (k, _) in ages.iter().take(buckets.len() - limits.max_keys / 2) {
                buckets.remove(k);
            }
        }
    }

    /// Number of buckets held (for tests).
    pub fn len(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The account credential a request carries, hashed: a Bearer token, a Basic user name, or the
/// web session cookie.
fn account_key(req: &Request) -> Option<[u8; 32]> {
    let headers = req.headers();
    let credential = if let Some(auth) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        if let Some(basic) = auth
            .strip_prefix("Basic ")
            .or_else(|| auth.strip_prefix("basic "))
        {
            // The user name only: every password guess for one account shares its bucket.
            use base64::Engine as _;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(basic.trim())
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            format!("basic:{}", text.split(':').next()?.to_lowercase())
        } else {
            format!("auth:{auth}")
        }
    } else {
        format!("session:{}", cookie(headers, SESSION_COOKIE)?)
    };
    Some(Sha256::digest(credential.as_bytes()).into())
}

fn address(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The 429 answer, in the envelope of the part of the site that was called.
pub fn too_many(path: &str, wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let message = format!("too many requests; retry after {secs} seconds");
    let mut response = if path.starts_with("/api/") || path == "/healthz" {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message).into_response()
    } else if path.starts_with("/ispws/") {
        let body = safeguard_formats::cybertipline::ReportResponse {
            response_code: safeguard_formats::cybertipline::ResponseCode::ServerError.code(),
            response_description: message,
            report_id: None,
            file_id: None,
            hash: None,
        };
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(
                CONTENT_TYPE,
                HeaderValue::from_static("application/xml; charset=UTF-8"),
            )],
            body.to_xml(),
        )
            .into_response()
    } else {
        crate::web::too_many_page(message)
    };
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(RETRY_AFTER, v);
    }
    response
}

/// The middleware: checks both buckets, then runs the request.
pub async fn limit(limiter: Arc<Limiter>, req: Request, next: Next) -> Response {
    let mut keys = Vec::with_capacity(2);
    if let Some(ip) = address(&req) {
        keys.push((Key::Address(ip), limiter.limits.per_address));
    }
    if let Some(account) = account_key(&req) {
        keys.push((Key::Account(account), limiter.limits.per_account));
    }
    if let Err(wait) = limiter.take(&keys, Instant::now()) {
        tracing::warn!(path = req.uri().path(), "rate limited");
        return too_many(req.uri().path(), wait);
    }
    next.run(req).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn limits(burst: u32, per_second: f64) -> RateLimits {
        RateLimits {
            per_address: Bucket { burst, per_second },
            per_account: Bucket { burst, per_second },
            max_keys: 4,
        }
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let limiter = Limiter::new(limits(3, 2.0));
        let key = [(Key::Account([1; 32]), limiter.limits.per_account)];
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take(&key, t0).is_ok());
        }
        let wait = limiter.take(&key, t0).unwrap_err();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
        // Half a second later, one token (2 per second) is back.
        let t1 = t0 + Duration::from_millis(500);
        assert!(limiter.take(&key, t1).is_ok());
        assert!(limiter.take(&key, t1).is_err());
        // Another account is not affected.
        let other = [(Key::Account([2; 32]), limiter.limits.per_account)];
        assert!(limiter.take(&other, t1).is_ok());
    }

    #[test]
    fn a_refused_request_takes_nothing_from_the_other_bucket() {
        let limiter = Limiter::new(limits(1, 1.0));
        let t0 = Instant::now();
        let ip = Key::Address("192.0.2.1".parse().unwrap());
        let a = Key::Account([1; 32]);
        let shape = limiter.limits.per_account;
        assert!(limiter.take(&[(ip, shape), (a, shape)], t0).is_ok());
        // The address is empty: refused, and the account's bucket is not charged for it.
        assert!(limiter.take(&[(ip, shape)], t0).is_err());
    }

    #[test]
    fn the_table_stays_bounded() {
        let limiter = Limiter::new(limits(2, 1.0));
        let t0 = Instant::now();
        for i in 0..50u8 {
            let key = [(Key::Account([i; 32]), limiter.limits.per_account)];
            assert!(limiter.take(&key, t0).is_ok());
            assert!(limiter.len() <= 4, "{}", limiter.len());
        }
    }
}
