//! Prometheus metrics (`prometheus-client`): requests by route and status,
//! latency histograms by route, and, read when scraped, the writer queue
//! depth, open event streams and sessions stored.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;

/// Labels of a finished request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// HTTP method.
    pub method: String,
    /// The route's pattern (`/api/v1/sessions/{local_id}`), or `unmatched`.
    pub route: String,
    /// Response status code.
    pub status: u16,
}

/// Labels of a latency observation.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// HTTP method.
    pub method: String,
    /// The route's pattern, or `unmatched`.
    pub route: String,
}

/// Latency buckets: 0.5 ms doubling to about 8 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// Every metric the server exports, registered once.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// Jobs waiting for the database writer.
    pub writer_queue: Gauge,
    /// Open event streams.
    pub sse_clients: Gauge,
    /// Sessions stored (all users).
    pub sessions_stored: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("worktime");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let writer_queue = Gauge::default();
        let sse_clients = Gauge::default();
        let sessions_stored = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to the response headers, by method and route",
            latency.clone(),
        );
        registry.register(
            "writer_queue_depth",
            "Write jobs waiting for the database writer",
            writer_queue.clone(),
        );
        registry.register("sse_clients", "Open event streams", sse_clients.clone());
        registry.register(
            "sessions_stored",
            "Sessions stored, every user's",
            sessions_stored.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            requests,
            latency,
            writer_queue,
            sse_clients,
            sessions_stored,
        }
    }
}

impl Metrics {
    /// Counts one answered request and its time to the response headers.
    pub fn observe(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "could not encode metrics");
        }
        out
    }
}
