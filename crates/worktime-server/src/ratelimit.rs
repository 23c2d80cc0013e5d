//! Per-token rate limiting: a token bucket per device (burst 20, 10 per
//! second by default), answered with 429 and `Retry-After` when empty.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One bucket per key (a device id); `None` limit means unlimited.
#[derive(Debug)]
pub struct RateLimiter {
    limit: Option<RateLimit>,
    buckets: Mutex<HashMap<i64, Bucket>>,
}

/// Buckets kept before full, idle ones are forgotten.
const PRUNE_ABOVE: usize = 10_000;

impl RateLimiter {
    /// A limiter with `limit`, or none at all.
    pub fn new(limit: Option<RateLimit>) -> Self {
        RateLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket, or says how long until one is
    /// available.
    pub fn check(&self, key: i64, now: Instant) -> Result<(), Duration> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let burst = f64::from(limit.burst.max(1));
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * limit.per_second < burst
            });
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * limit.per_second;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / limit.per_second.max(f64::MIN_POSITIVE);
            Err(Duration::from_secs_f64(wait.min(3600.0)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_requests_wait_for_refill() {
        let limiter = RateLimiter::new(Some(RateLimit::default()));
        let t0 = Instant::now();
        for _ in 0..20 {
            assert_eq!(limiter.check(1, t0), Ok(()));
        }
        let wait = limiter.check(1, t0).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(100));
        assert_eq!(limiter.check(1, t0 + Duration::from_millis(100)), Ok(()));
        assert!(limiter.check(1, t0 + Duration::from_millis(100)).is_err());
    }

    #[test]
    fn keys_have_separate_buckets() {
        let limiter = RateLimiter::new(Some(RateLimit {
            per_second: 1.0,
            burst: 1,
        }));
        let t0 = Instant::now();
        assert_eq!(limiter.check(1, t0), Ok(()));
        assert!(limiter.check(1, t0).is_err());
        assert_eq!(limiter.check(2, t0), Ok(()));
    }

    #[test]
    fn no_limit_never_refuses() {
        let limiter = RateLimiter::new(None);
        let t0 = Instant::now();
        assert!((0..1000).all(|_| limiter.check(1, t0).is_ok()));
    }
}
