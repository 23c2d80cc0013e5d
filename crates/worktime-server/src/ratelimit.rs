//! Rate limiting with `governor`'s keyed token buckets: one per device
//! token for authenticated requests (burst 20, 10 per second by default),
//! and one per client address for requests that carry no valid token.
//! Either answers 429 with `Retry-After` when its bucket is empty.

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

/// Bucket size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests allowed at once after a quiet period.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: 10.0,
            burst: 20,
        }
    }
}

impl RateLimit {
    /// The limit for requests without a valid token, per client address:
    /// a few mistakes pass (a pasted token with a typo), a flood does not.
    pub const UNAUTHENTICATED: RateLimit = RateLimit {
        per_second: 1.0,
        burst: 10,
    };

    fn quota(self) -> Quota {
        let period = Duration::from_secs_f64(1.0 / self.per_second.max(1e-6));
        let burst = NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst)
    }
}

/// A token bucket per key; a `None` limit never refuses.
pub struct Keyed<K: Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for Keyed<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyed")
            .field("limited", &self.limiter.is_some())
            .finish()
    }
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    /// A limiter with `limit`, or none at all.
    pub fn new(limit: Option<RateLimit>) -> Self {
        Keyed {
            limiter: limit.map(|l| governor::RateLimiter::keyed(l.quota())),
        }
    }

    /// Takes one request from `key`'s bucket, or says how long until one
    /// is available.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets buckets that are full again (call now and then, so the map
    /// does not grow with every key ever seen).
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// Per-device limiter of authenticated requests.
pub type RateLimiter = Keyed<i64>;

/// Per-address limiter of requests without a valid token.
pub type AddressLimiter = Keyed<IpAddr>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_requests_wait_for_refill() {
        let limiter = RateLimiter::new(Some(RateLimit::default()));
        for _ in 0..20 {
            assert_eq!(limiter.check(&1), Ok(()));
        }
        let wait = limiter.check(&1).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(100));
    }

    #[test]
    fn keys_have_separate_buckets() {
        let limiter = RateLimiter::new(Some(RateLimit {
            per_second: 1.0,
            burst: 1,
        }));
        assert_eq!(limiter.check(&1), Ok(()));
        assert!(limiter.check(&1).is_err());
        assert_eq!(limiter.check(&2), Ok(()));
    }

    #[test]
    fn no_limit_never_refuses() {
        let limiter = RateLimiter::new(None);
        assert!((0..1000).all(|_| limiter.check(&1).is_ok()));
    }
}
