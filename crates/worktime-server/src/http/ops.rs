//! What operators use: `GET /healthz` (the process answers) and
//! `GET /readyz` (the database answers), both without a token, Prometheus
//! metrics at `GET /metrics` (admin token; or without one on the separate
//! `--metrics-addr` listener), and the middleware that counts requests.

use super::error::ApiError;
use super::extract::Caller;
use crate::state::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::time::Instant;

/// Content type of the Prometheus text format.
const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `/healthz` and `/readyz`.
pub fn health_routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// `/metrics` behind an admin token.
pub fn metrics_routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics_for_admin))
}

/// The router of the separate metrics listener: `/metrics` without a token
/// (bind it where only the scraper reaches), plus the health checks.
pub fn metrics_listener(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_open))
        .merge(health_routes())
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

async fn metrics_for_admin(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    if !caller.admin {
        return Err(ApiError::Forbidden("metrics are for admins".into()));
    }
    Ok(metrics_open(State(state)).await)
}

async fn metrics_open(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    m.writer_queue
        .set(i64::try_from(state.store.writer_queue_depth()).unwrap_or(i64::MAX));
    m.sse_clients
        .set(i64::try_from(state.streams.open_now()).unwrap_or(i64::MAX));
    match state.store.count_sessions().await {
        Ok(n) => {
            m.sessions_stored.set(n);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not count sessions"),
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(METRICS_CONTENT_TYPE),
        )],
        m.encode(),
    )
        .into_response()
}

/// Counts every answered request by method, route pattern and status, and
/// its time to the response headers.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
