//! The one state every handler shares: storage, clock, event hub, rate
//! limiter, configuration and the shutdown signal.

use crate::clock::Clock;
use crate::hub::Hub;
use crate::ratelimit::{RateLimit, RateLimiter};
use crate::store::Store;
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use worktime_protocol::UnixMillis;

/// Tunables of a running server; [`ServerConfig::default`] is production.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Origins allowed by CORS besides every `chrome-extension://` origin.
    pub allow_origins: Vec<String>,
    /// Per-token limit; `None` disables it (benchmarks).
    pub rate_limit: Option<RateLimit>,
    /// An active session silent this long is closed by the server.
    pub stale_after: Duration,
    /// How often the stale-session closer runs.
    pub closer_every: Duration,
    /// Interval of SSE keep-alive comments.
    pub keep_alive: Duration,
    /// How often an open SSE stream re-checks that its token still works
    /// (revocations by the CLI, from another process, are seen this way).
    pub token_recheck: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            allow_origins: Vec::new(),
            rate_limit: Some(RateLimit::default()),
            stale_after: Duration::from_secs(10 * 60),
            closer_every: Duration::from_secs(60),
            keep_alive: Duration::from_secs(15),
            token_recheck: Duration::from_secs(30),
        }
    }
}

/// Shared server state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What [`AppState`] holds.
pub struct Inner {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Live events.
    pub hub: Hub,
    /// Per-token request limiter.
    pub limiter: RateLimiter,
    /// Tunables.
    pub config: ServerConfig,
    /// Cancelled when the server shuts down; long-lived streams end on it.
    pub shutdown: CancellationToken,
    last_seen: Mutex<HashMap<i64, UnixMillis>>,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// `last_seen_at` is written at most this often per device.
const TOUCH_EVERY_MS: i64 = 60_000;

impl AppState {
    /// Assembles the state from its parts.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: ServerConfig) -> Self {
        AppState(Arc::new(Inner {
            store,
            clock,
            hub: Hub::default(),
            limiter: RateLimiter::new(config.rate_limit),
            config,
            shutdown: CancellationToken::new(),
            last_seen: Mutex::new(HashMap::new()),
        }))
    }

    /// Records that `device_id` was used now, without waiting and at most
    /// once a minute per device (a write per request would cost throughput).
    pub fn touch_device(&self, device_id: i64) {
        let now = self.clock.now();
        let due = match self.last_seen.lock() {
            Ok(mut seen) => {
                let due = seen
                    .get(&device_id)
                    .is_none_or(|at| now.0 - at.0 >= TOUCH_EVERY_MS);
                if due {
                    seen.insert(device_id, now);
                }
                due
            }
            Err(_) => false,
        };
        if due {
            let store = Arc::clone(&self.store);
            tokio::spawn(async move {
                if let Err(e) = store.touch_device(device_id, now).await {
                    tracing::warn!(error = %e, device_id, "could not record last use of a device");
                }
            });
        }
    }
}
