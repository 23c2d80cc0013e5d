//! The one state every handler shares: storage, clock, event hub, rate
//! limiters, stream slots, metrics, configuration and the shutdown signal.

use crate::clock::Clock;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::ratelimit::{AddressLimiter, RateLimit, RateLimiter};
use crate::store::Store;
use crate::streams::StreamSlots;
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
    /// Per-address limit of requests without a valid token; `None` disables it.
    pub unauthenticated_rate_limit: Option<RateLimit>,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` name the client
    /// for that limit (none by default: the TCP peer is the client).
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// An active session is closed by the server once its device has sent
    /// nothing for this long (and the server has run at least this long).
    pub stale_after: Duration,
    /// How often the stale-session closer runs.
    pub closer_every: Duration,
    /// Interval of SSE keep-alive comments.
    pub keep_alive: Duration,
    /// How often an open SSE stream re-checks that its token still works
    /// (revocations by the CLI, from another process, are seen this way).
    pub token_recheck: Duration,
    /// Complete request headers must arrive within this time.
    pub header_timeout: Duration,
    /// A request body must arrive completely within this time (else 408).
    pub body_timeout: Duration,
    /// A request must be answered within this time (else 503).
    pub request_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// Requests handled at once; more are shed with 503 and `Retry-After`.
    pub max_in_flight: usize,
    /// Event streams one device token may hold open.
    pub streams_per_token: usize,
    /// Event streams the server holds open in total.
    pub streams_total: usize,
    /// Session writes (PUT or batch) one device token may have waiting for
    /// the database at once; more are answered 503 with `Retry-After`, so
    /// one flooding device cannot fill the writer's queue and starve the
    /// others (the extension sends one sync at a time).
    pub writes_per_device: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            allow_origins: Vec::new(),
            rate_limit: Some(RateLimit::default()),
            unauthenticated_rate_limit: Some(RateLimit::UNAUTHENTICATED),
            trusted_proxies: crate::client_addr::TrustedProxies::default(),
            // Twice the extension's own 10-minute end of sessions without
            // active time: a living device has updated an open session by then.
            stale_after: Duration::from_secs(20 * 60),
            closer_every: Duration::from_secs(60),
            keep_alive: Duration::from_secs(15),
            token_recheck: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_in_flight: 256,
            streams_per_token: 8,
            streams_total: 256,
            writes_per_device: 2,
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
    /// Per-address limiter of requests without a valid token.
    pub unauthenticated: AddressLimiter,
    /// Open event streams.
    pub streams: StreamSlots,
    /// Session writes in progress, per device.
    pub writes: StreamSlots,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// When this server started, by its clock (the closer waits
    /// `stale_after` from here before its first sweep).
    pub started_at: UnixMillis,
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
        let started_at = clock.now();
        let hub = Hub::default();
        let announce = hub.clone();
        if !store.on_change(Arc::new(move |record| announce.publish(record))) {
            tracing::warn!("the store already announces its changes elsewhere");
        }
        // Revocations by other instances on a shared database end this
        // instance's streams of those tokens at once.
        let revoked = hub.clone();
        store.on_revoke(Arc::new(move |ids| revoked.revoked(ids)));
        AppState(Arc::new(Inner {
            store,
            clock,
            hub,
            limiter: RateLimiter::new(config.rate_limit),
            unauthenticated: AddressLimiter::new(config.unauthenticated_rate_limit),
            streams: StreamSlots::new(config.streams_per_token, config.streams_total),
            writes: StreamSlots::new(config.writes_per_device, usize::MAX),
            metrics: Metrics::default(),
            started_at,
            config,
            shutdown: CancellationToken::new(),
            last_seen: Mutex::new(HashMap::new()),
        }))
    }

    /// Records that `device_id` was used now, without waiting and at most
    /// once a minute per device (a write per request would cost throughput);
    /// the stale-session closer tells living devices from dead ones by it.
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
            let state = self.clone();
            tokio::spawn(async move {
                if let Err(e) = state.store.touch_device(device_id, now).await {
                    tracing::warn!(error = %e, device_id, "could not record last use of a device");
                    // Try again on the device's next request: the closer
                    // reads this to tell a living device from a dead one.
                    if let Ok(mut seen) = state.last_seen.lock() {
                        seen.remove(&device_id);
                    }
                }
            });
        }
    }
}
