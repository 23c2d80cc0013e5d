//! The WorkTime Sync reference server: the v1 API over SQLite, device
//! tokens, an admin CLI, live events and the dashboard, in one binary.
//!
//! `main.rs` only parses the command line ([`cli`]); everything else is
//! here, so tests start the real server with [`serve`] on `127.0.0.1:0`.
//!
//! # Running it
//!
//! ```text
//! worktime-server serve [--addr 127.0.0.1:8787] [--db ./worktime.db]
//!                       [--allow-origin ORIGIN]... [--rate-per-second 10] [--rate-burst 20]
//!                       [--no-rate-limit] [--log-format text|json]
//! worktime-server user add NAME [--admin] [--db PATH]
//! worktime-server user list [--db PATH]
//! worktime-server token create --user NAME --device LABEL [--db PATH]   # token alone on the last stdout line
//! worktime-server token list --user NAME [--db PATH]
//! worktime-server token revoke ID [--db PATH]
//! ```
//!
//! `serve` prints `listening on http://ADDR` on standard output (port 0
//! picks a free port), logs with `tracing` to standard error (`RUST_LOG`,
//! default `info`), applies the embedded migrations at start, and stops
//! gracefully on SIGINT/SIGTERM (open event streams end). The CLI
//! subcommands may run while the server runs on the same file.
//!
//! # API v1
//!
//! Every `/api/v1` request carries `Authorization: Bearer <token>` (for
//! `GET /api/v1/events` the token may instead be the `access_token` query
//! parameter, see below). Bodies are JSON (`Content-Type: application/json`,
//! at most 1 MiB). Timestamps are RFC 3339 UTC. Errors are
//! `{"error": {"code", "message", "field"?}}`:
//!
//! | status | code | when |
//! | --- | --- | --- |
//! | 400 | `invalid_field` | a field or parameter breaks a rule; `field` names it |
//! | 400 | `malformed_json` | the body is not JSON of the right shape; `field` is the path when known |
//! | 401 | `unauthorized` | no token, unknown or revoked token (with `WWW-Authenticate: Bearer`) |
//! | 403 | `forbidden` | a non-admin asked for another user's data |
//! | 404 | `not_found` | no such path, device or user |
//! | 405 | `method_not_allowed` | the path does not take that method |
//! | 413 | `payload_too_large` / `batch_too_large` | body over 1 MiB / batch over 500 sessions |
//! | 415 | `unsupported_media_type` | the body is not declared as JSON |
//! | 422 | `conflict` | the `local_id` already belongs to another pull request |
//! | 429 | `rate_limited` | the token's bucket (burst 20, 10/s) is empty; `Retry-After` says when to retry |
//! | 500 | `internal` | storage failed (the cause is logged, not returned) |
//!
//! A failed request changes nothing.
//!
//! ## Sessions
//!
//! - `PUT /api/v1/sessions/{local_id}` — body: one session of the contract
//!   (`local_id` equal to the path's). Validated with
//!   [`worktime_protocol::validate_session`] (GitHub owner/repo names,
//!   `pr_number` > 0, `active_seconds` 0..=86400 and not longer than the
//!   session + 5 s, timestamps at most 5 min ahead of the server, `state`
//!   `active` or `ended`), then merged with [`worktime_protocol::merge`] into
//!   the caller's user's row: idempotent by `(user, local_id)`, `ended`
//!   never reverts. Answers 200 with the stored session (server view below).
//! - `POST /api/v1/sessions/batch` — `{"sessions": [...]}` (≤ 500) →
//!   `{"results": [{"local_id", "status": "ok" | "rejected", "error"?}]}`,
//!   one per item, in order. A bad item is rejected on its own (with the
//!   same error object as above) and the rest are stored, all in one
//!   transaction.
//! - `GET /api/v1/sessions?since=&state=&limit=&cursor=&from=&to=&repo=&user=`
//!   → `{"sessions": [...], "next": cursor-or-null}`, newest `started_at`
//!   first. `since`: `updated_at` at or after (RFC 3339); `state`:
//!   `active`|`ended`; `limit`: 1..=500 (default 100); `cursor`: the `next`
//!   of the previous page; `from`/`to`: `started_at` in `[from, to)`, RFC 3339
//!   or `YYYY-MM-DD` (UTC days; a date as `to` includes that day); `repo`:
//!   `owner/name`; `user`: a user name (admins: anyone; others: only their
//!   own, else 403), or `*` for every user's (admins only). Without `user`,
//!   everyone, admins included, reads their own: the contract's "the
//!   caller's user's sessions", so an admin's extension counts only its own.
//!
//! The server view of a session (GET, events, PUT answer) is the contract's
//! body plus `user`, `device` (label of the token that wrote the stored
//! version), `closed_by_server` and `received_at` (server clock, last
//! change).
//!
//! ## Totals
//!
//! `GET /api/v1/totals?group=day|repo|pr&from=&to=&repo=&user=&tz_offset_minutes=`
//! → `{"group", "from", "to", "tz_offset_minutes", "rows": [{"key",
//! "seconds", "sessions"}]}`, aggregated in SQL over sessions whose
//! `started_at` is in `[from, to)`. `seconds` sums `active_seconds`.
//! `group=day` (default): one row per local day of the range, oldest first,
//! zeros included, key `YYYY-MM-DD`, at most 366 days; `repo`/`pr`: the top
//! 10 by seconds, keys `owner/name` and `owner/name#12`.
//! `tz_offset_minutes` is local time minus UTC (`-new
//! Date().getTimezoneOffset()` in a browser; −840..=840, default 0) and sets
//! both the day boundaries and what a `YYYY-MM-DD` bound means. Defaults: `to`
//! now, `from` the start of the local day six days before `to` (seven day
//! rows). `repo` and `user` filter as for sessions.
//!
//! ## Identity and devices
//!
//! - `GET /api/v1/me` → `{"user", "device", "device_id", "admin"}`; 401 once
//!   the token is revoked.
//! - `GET /api/v1/devices` → `[{"id", "label", "created_at", "last_seen_at",
//!   "current"}]`: the caller's user's live tokens (never the token itself;
//!   `last_seen_at` is updated at most once a minute).
//! - `DELETE /api/v1/devices/{id}` → 204; 404 unless it is a live device of
//!   the caller's user.
//! - `DELETE /api/v1/devices` → 204: sign out everywhere; every token of the
//!   user is revoked, the caller's included, and their event streams end.
//!
//! ## Live events
//!
//! `GET /api/v1/events` is a `text/event-stream`: each stored change
//! (upserts and server closes) is an event named `session` whose data is the
//! session JSON exactly as `GET /api/v1/sessions` shows it; non-admins get
//! their own user's, admins everyone's. A keep-alive comment comes every
//! 15 s; a stream that falls over 1024 events behind gets a `lagged` event
//! (data: how many were missed) and should reload. The stream ends when its
//! token is revoked (at once through the API; within 30 s when revoked by
//! the CLI from another process) and on shutdown.
//!
//! **Authentication for `EventSource`.** Browsers' `EventSource` cannot set
//! headers, so this endpoint — and only this one — also accepts the token as
//! `?access_token=<token>` (`new EventSource("/api/v1/events?access_token="
//! + encodeURIComponent(token))`). The request log records the path only,
//! never the query string, and the dashboard page sends no `Referer`
//! (`Referrer-Policy: no-referrer`). The header form works too.
//!
//! ## Dashboard and CORS
//!
//! `GET /` serves `assets/index.html` and `GET /assets/{file}` the other
//! files of `crates/worktime-server/assets/`, embedded in the binary, with
//! `Content-Security-Policy: default-src 'self'; connect-src 'self'; img-src
//! 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors
//! 'none'; base-uri 'none'; form-action 'self'`, their content type and an
//! `ETag`. CORS allows every `chrome-extension://` origin (GET, POST, PUT,
//! DELETE; `Authorization` and `Content-Type`; preflight cached 2 h;
//! `Retry-After` exposed) plus each `--allow-origin`.
//!
//! ## Stale sessions
//!
//! Every minute, sessions still `active` that the server has not heard about
//! for 10 minutes (by its own clock) are ended at their last `updated_at` and
//! marked `closed_by_server: true` (see [`closer`]); a later ended version
//! from the client still merges and clears the mark.
//!
//! # Storage
//!
//! [`store::Store`] is the one storage trait; [`store::SqliteStore`] is the
//! embedded implementation (WAL, `synchronous = FULL`, a single writer thread
//! with group commit, a small pool of read-only connections). Tokens are
//! stored as SHA-256 hashes only ([`token`]).

pub mod cli;
pub mod clock;
pub mod closer;
pub mod http;
pub mod hub;
pub mod listen;
pub mod logging;
pub mod metrics;
pub mod ratelimit;
pub mod state;
pub mod store;
pub mod streams;
pub mod token;

pub use state::{AppState, ServerConfig};

use std::future::Future;
use tokio::net::TcpListener;

/// Serves the API on `listener` until `shutdown` resolves, with the
/// stale-session closer running beside it. On shutdown, open event streams
/// end and in-flight requests finish (within the drain time) before this
/// returns.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let closer = tokio::spawn(closer::run(state.clone()));
    let stop = state.shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = shutdown => stop.cancel(),
            () = stop.cancelled() => {}
        }
    });
    let result = listen::run(
        listener,
        http::router(state.clone()),
        conn_limits(&state.config),
        state.shutdown.clone(),
    )
    .await;
    state.shutdown.cancel();
    let _ = closer.await;
    result
}

/// Serves `GET /metrics` without a token (and the health checks) on a
/// listener of its own, until the server shuts down.
pub async fn serve_metrics(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let limits = conn_limits(&state.config);
    let stop = state.shutdown.clone();
    listen::run(listener, http::ops::metrics_listener(state), limits, stop).await
}

/// The connection limits of `config`.
fn conn_limits(config: &ServerConfig) -> listen::ConnLimits {
    listen::ConnLimits {
        header_timeout: config.header_timeout,
        max_connections: config.max_connections,
        drain: DRAIN,
    }
}

/// How long shutdown waits for open connections.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(10);
