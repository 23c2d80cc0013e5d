//! The HTTP API: one router per resource, merged here, with the layers every
//! request passes (CORS for the extension, body limit, a request timeout, a
//! limit on requests in flight that sheds the rest with 503 and
//! `Retry-After`, metrics, request logging that never records a query
//! string or a header). Health checks pass outside the limits.

pub mod assets;
pub mod changes;
pub mod devices;
pub mod error;
pub mod events;
pub mod extract;
pub mod ops;
mod params;
pub mod sessions;
pub mod totals;
pub mod zone;

use crate::state::AppState;
use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, Request, header};
use std::time::Duration;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// Largest request body accepted (1 MiB); larger ones get 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// How long browsers may cache a CORS preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(2 * 60 * 60);

/// The whole application, ready for [`crate::serve`] or a test client.
pub fn router(state: AppState) -> Router {
    let (max_in_flight, request_timeout) =
        (state.config.max_in_flight, state.config.request_timeout);
    Router::new()
        .merge(sessions::routes())
        .merge(changes::routes())
        .merge(devices::routes())
        .merge(events::routes())
        .merge(totals::routes())
        .merge(ops::metrics_routes())
        .merge(assets::routes())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // One limit for the whole server (a `GlobalConcurrencyLimitLayer`:
        // `Router::layer` wraps each route on its own). An event stream
        // holds its place only until its headers are sent.
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(error::refused))
                .load_shed()
                .layer(GlobalConcurrencyLimitLayer::new(max_in_flight))
                .timeout(request_timeout),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::track,
        ))
        .merge(ops::health_routes())
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // API answers are private and always current: no cache keeps them.
        // (Said by the server, so the extension need not ask with
        // `cache: no-store`, which also turns off the browser's CORS
        // preflight cache.) The dashboard's assets set their own policy.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(cors(&state.config.allow_origins))
        .layer(
            // The span holds the method and the path only: never the query
            // and never a header (Authorization).
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// CORS: every `chrome-extension://` origin (so the extension needs no host
/// permission) plus the origins given with `--allow-origin`.
fn cors(extra: &[String]) -> CorsLayer {
    let extra: Vec<HeaderValue> = extra
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            origin.as_bytes().starts_with(b"chrome-extension://") || extra.contains(origin)
        }))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        // Date: the extension puts its sessions' times on the server's
        // clock (a client clock wrong by hours must not make them invalid).
        .expose_headers([header::RETRY_AFTER, header::DATE])
        .max_age(PREFLIGHT_MAX_AGE)
}
