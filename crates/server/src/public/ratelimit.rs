//! A per-address token bucket for the public site, in memory only. Addresses are never stored:
//! each is replaced by a keyed hash (SHA-256 over a random per-process key and the address),
//! kept only while its bucket is not full again (a few minutes at most), and the key dies with
//! the process, so the table cannot be turned back into addresses afterwards.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use sha2::{Digest, Sha256};

/// How many tips an address may send in a burst, and how fast the allowance comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Tips allowed at once.
    pub burst: u32,
    /// One more tip is allowed after this long.
    pub refill_every: Duration,
    /// Most addresses tracked at once; past it, new addresses are refused until entries expire
    /// (a flood from many addresses must not exhaust memory).
    pub max_tracked: usize,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            burst: 5,
            refill_every: Duration::from_secs(60),
            max_tracked: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The limiter.
pub struct RateLimiter {
    limit: RateLimit,
    key: [u8; 32],
    buckets: Mutex<HashMap<[u8; 16], Bucket>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self {
            limit,
            key,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn pseudonym(&self, ip: IpAddr) -> [u8; 16] {
        // IPv4 and IPv4-mapped IPv6 are one address.
        let canonical = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(canonical.to_string().as_bytes());
        let digest = h.finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        out
    }

    fn refill(&self, b: &mut Bucket, now: Instant) {
        let every = self.limit.refill_every.as_secs_f64().max(1e-3);
        let gained = now.saturating_duration_since(b.at).as_secs_f64() / every;
        b.tokens = (b.tokens + gained).min(f64::from(self.limit.burst));
        b.at = now;
    }

    /// Takes one token for `ip` at `now`; `false` when the address must wait.
    pub fn allow_at(&self, ip: IpAddr, now: Instant) -> bool {
        let id = self.pseudonym(ip);
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !buckets.contains_key(&id) && buckets.len() >= self.limit.max_tracked {
            self.forget_full(&mut buckets, now);
            if buckets.len() >= self.limit.max_tracked {
                return false;
            }
        }
        let bucket = buckets.entry(id).or_insert(Bucket {
            tokens: f64::from(self.limit.burst),
            at: now,
        });
        self.refill(bucket, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Takes one token for `ip` now.
    pub fn allow(&self, ip: IpAddr) -> bool {
        self.allow_at(ip, Instant::now())
    }

    /// Drops the buckets that are full again: nothing about those addresses is kept.
    fn forget_full(&self, buckets: &mut HashMap<[u8; 16], Bucket>, now: Instant) {
        let burst = f64::from(self.limit.burst);
        buckets.retain(|_, b| {
            let mut b2 = *b;
            self.refill(&mut b2, now);
            b2.tokens < burst
        });
    }

    /// Forgets every address whose bucket is full again (called now and then).
    pub fn sweep(&self) {
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        self.forget_full(&mut buckets, Instant::now());
    }

    /// Addresses currently tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_then_refilled() {
        let limiter = RateLimiter::new(RateLimit {
            burst: 3,
            refill_every: Duration::from_secs(10),
            max_tracked: 10,
        });
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        let other: IpAddr = "2001:db8::1".parse().expect("ip");
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.allow_at(ip, t0)));
        assert!(!limiter.allow_at(ip, t0), "the fourth is refused");
        assert!(
            limiter.allow_at(other, t0),
            "another address has its own bucket"
        );
        assert!(!limiter.allow_at(ip, t0 + Duration::from_secs(9)));
        assert!(limiter.allow_at(ip, t0 + Duration::from_secs(21)));
        // IPv4-mapped IPv6 is the same address: it takes the last whole token of that bucket.
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert!(limiter.allow_at(mapped, t0 + Duration::from_secs(21)));
        assert!(!limiter.allow_at(ip, t0 + Duration::from_secs(21)));
        // Once full again, an address is forgotten.
        limiter.forget_full(
            &mut limiter.buckets.lock().expect("lock"),
            t0 + Duration::from_secs(100),
        );
        assert_eq!(limiter.tracked(), 0);
    }

    #[test]
    fn the_table_is_bounded() {
        let limiter = RateLimiter::new(RateLimit {
            burst: 2,
            refill_every: Duration::from_secs(3600),
            max_tracked: 4,
        });
        let t0 = Instant::now();
        for i in 0..4u8 {
            assert!(limiter.allow_at(IpAddr::from([198, 51, 100, i]), t0));
        }
        assert!(!limiter.allow_at(IpAddr::from([198, 51, 100, 200]), t0));
        assert_eq!(limiter.tracked(), 4);
        // Nothing of the address itself is kept.
        let keys: Vec<[u8; 16]> = limiter
            .buckets
            .lock()
            .expect("lock")
            .keys()
            .copied()
            .collect();
        assert!(keys.iter().all(|k| !k.starts_with(&[198, 51, 100])));
    }
}
