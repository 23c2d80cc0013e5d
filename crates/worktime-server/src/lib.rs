//! The WorkTime Sync reference server: the v1 API over SQLite, device
//! tokens, an admin CLI, live events and the dashboard, in one binary.
//!
//! `main.rs` only parses the command line ([`cli`]); everything else is
//! here, so tests start the real server with [`serve`] on `127.0.0.1:0`.
//!
//! # Running it
//!
//! ```text
//! worktime-server serve [--addr 127.0.0.1:8787] [--db ./worktime.db | --db postgres://…]
//!                       [--allow-origin ORIGIN]... [--rate-per-second 10] [--rate-burst 20]
//!                       [--no-rate-limit] [--trusted-proxy CIDR]... [--log-format text|json]
//!                       [--metrics-addr ADDR] [--max-in-flight 256] [--max-connections 1024]
//!                       [--writer-queue 64] [--stale-after-secs 1200]
//! worktime-server backup --to FILE [--db PATH]          # SQLite: online, while the server runs
//! worktime-server migrate-db --from FILE --to postgres://user:pass@host/db   # into an empty database
//! worktime-server user add NAME [--admin] [--db PATH]
//! worktime-server user list [--db PATH]
//! worktime-server user rename NAME NEW_NAME [--db PATH]
//! worktime-server user admin NAME on|off [--db PATH]
//! worktime-server user export NAME [--db PATH]          # everything about NAME, as JSON
//! worktime-server user delete NAME --yes [--db PATH]    # NAME, their sessions and tokens (alias: remove)
//! worktime-server token create --user NAME --device LABEL [--db PATH]   # token alone on the last stdout line
//! worktime-server token list --user NAME [--db PATH]
//! worktime-server token revoke ID [--db PATH]
//! ```
//!
//! `--db` defaults to `$WORKTIME_DB`, then `./worktime.db`; a value starting
//! with `postgres://` or `postgresql://` is a PostgreSQL database (see
//! [`store::postgres`]), anything else an SQLite file.
//!
//! `serve` prints `listening on http://ADDR` on standard output (port 0
//! picks a free port), logs with `tracing` to standard error (`RUST_LOG`,
//! default `info`), applies the embedded migrations at start, and stops
//! gracefully on SIGINT/SIGTERM (open event streams end). The CLI
//! subcommands may run while the server runs on the same file.
//!
//! # API v1
//!
//! Every `/api/v1` request carries `Authorization: Bearer <token>`; a token
//! is never accepted in the URL (URLs end up in proxy logs and browser
//! history). Bodies are JSON (`Content-Type: application/json`, at most
//! 1 MiB). Timestamps are RFC 3339 UTC. Errors are
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
//! | 408 | `body_timeout` | the body did not arrive completely within 20 s (the connection is closed) |
//! | 413 | `payload_too_large` / `batch_too_large` | body over 1 MiB / batch over 500 sessions |
//! | 415 | `unsupported_media_type` | the body is not declared as JSON |
//! | 422 | `conflict` | the `local_id` already belongs to another pull request |
//! | 429 | `rate_limited` | the token's bucket (burst 20, 10/s) is empty, or, for requests without a valid token, the client address's (burst 10, 1/s; the TCP peer, or what a `--trusted-proxy` forwarded); `Retry-After` says when to retry |
//! | 429 | `too_many_streams` | the token already holds 8 event streams; `Retry-After` |
//! | 500 | `internal` | storage failed (the cause is logged, not returned) |
//! | 503 | `overloaded` | 256 requests are in flight, the writer's queue is full, the device already has 2 session writes in progress, or 256 event streams are open; `Retry-After: 1` |
//! | 503 | `timeout` | the request was not answered within 30 s; `Retry-After: 1` |
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
//! `repo_owner` and `repo_name` are case-insensitive, as on GitHub: they are
//! stored in canonical lower case, and `repo=` filters match in any case.
//!
//! The server view of a session (GET, feed, events, PUT answer) is the
//! contract's body plus `user`, `device` (label of the token that wrote the
//! stored version), `closed_by_server`, `received_at` (server clock, last
//! change) and `seq` (the number of its latest change, see the change feed).
//!
//! ## Totals
//!
//! `GET /api/v1/totals?group=day|repo|pr&from=&to=&repo=&user=&tz=&tz_offset_minutes=`
//! → `{"group", "from", "to", "tz"?, "tz_offset_minutes", "rows": [{"key",
//! "seconds", "sessions"}]}`, aggregated in SQL over sessions whose
//! `started_at` is in `[from, to)`. `seconds` sums `active_seconds`.
//! `group=day` (default): one row per local day of the range, oldest first,
//! zeros included, key `YYYY-MM-DD`, at most 366 days; `repo`/`pr`: the top
//! 10 by seconds, keys `owner/name` and `owner/name#12`.
//! `tz_offset_minutes` is local time minus UTC (`-new
//! Date().getTimezoneOffset()` in a browser; −840..=840, default 0) and sets
//! both the day boundaries and what a `YYYY-MM-DD` bound means. `tz` (an
//! IANA zone such as `Europe/Berlin`, instead of `tz_offset_minutes`) does
//! the same with the zone's rules, so days are right across daylight-saving
//! changes (a 23- or 25-hour day is one row). Defaults: `to`
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
//! ## Change feed
//!
//! Every stored change (an upsert that changed something, a server close)
//! gets a sequence number, increasing in commit order. `GET
//! /api/v1/changes?after=<seq>&limit=<n>&user=` → `{"changes": [...],
//! "next": <seq>}`: the sessions whose latest change is after `after`
//! (default 0), in sequence order, as stored and each with its `seq`;
//! `limit` 1..=1000 (default 100); `next` is the last `seq` returned (or
//! `after` when nothing is new): ask with it next time. Scoped like `GET
//! /api/v1/sessions` (`user=NAME`, `user=*` for admins). A session changed
//! twice appears once, at its latest change, so a follower that asks again
//! from `next` ends with every session as stored. Following it from a shell:
//!
//! ```text
//! after=0
//! while :; do
//!   page=$(curl -s -H "Authorization: Bearer $TOKEN" "$SERVER/api/v1/changes?after=$after&limit=500")
//!   echo "$page" | jq -c '.changes[]'
//!   after=$(echo "$page" | jq .next)
//!   sleep 5
//! done
//! ```
//!
//! ## Live events
//!
//! `GET /api/v1/events` is a `text/event-stream`: each stored change is an
//! event named `session` with `id: <seq>` whose data is the session JSON as
//! the feed shows it, in sequence order; non-admins get their own user's,
//! admins everyone's. A client that reconnects with `Last-Event-ID: <seq>`
//! (`curl -N -H "Last-Event-ID: 41" ...`) first gets every change after it,
//! then the live ones: a dropped connection misses nothing. A stream opened
//! without `Last-Event-ID` starts with an event named `ready`, `id:` and
//! data `{"seq"}` the latest change committed before it began, so a client
//! that has seen no session yet can resume too. A stream that
//! falls behind the live fan-out catches up from the database the same way.
//! A keep-alive comment comes every 15 s. The stream ends when its token is
//! revoked (at once through the API; within 30 s when revoked by the CLI
//! from another process) and on shutdown. A token may hold 8 streams, the
//! server 256 in all.
//!
//! ## Operations
//!
//! - `GET /healthz` → 200 `ok` while the process answers; `GET /readyz` →
//!   200 `ready` when the database answers a query, else 503. No token.
//! - `GET /metrics` → Prometheus/OpenMetrics text, with an admin token (403
//!   for others), or without a token on the `--metrics-addr` listener:
//!   `worktime_http_requests_total{method,route,status}`,
//!   `worktime_http_request_duration_seconds{method,route}` (histogram, to
//!   the response headers), `worktime_writer_queue_depth`,
//!   `worktime_sse_clients`, `worktime_sessions_stored`.
//!
//! ## Limits
//!
//! Complete request headers within 10 s (else the connection is closed),
//! the body within 20 s (408), an answer within 30 s (503); at most 1024
//! open connections (more wait in the accept queue) and 256 requests in
//! flight (503 `overloaded` beyond, with `Retry-After`); the database
//! writer holds 64 waiting jobs and answers 503 beyond, never buffering
//! without bound. Health checks pass outside the in-flight limit.
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
//! A session still `active` whose device has sent nothing at all for 20
//! minutes (`--stale-after-secs`; by the server's clock; no change to the
//! session and no other request) is ended at its last `updated_at` and
//! marked `closed_by_server: true` (see [`closer`]). The extension ends a
//! session without active time itself after 10 minutes, so a living
//! device's quiet review (a hidden tab) is never closed. Nothing is closed
//! in the first 20 minutes after a start, so clients can resend after an
//! outage. The close is provisional: the device's own version at least as
//! new as the one closed — active or ended — replaces it and clears the mark.
//!
//! # Storage
//!
//! [`store::Store`] is the one storage trait; [`store::SqliteStore`] is the
//! embedded implementation (WAL, `synchronous = FULL`, a single writer thread
//! with group commit, a small pool of read-only connections), and
//! [`store::PgStore`] the PostgreSQL one for several instances on one
//! database (the merge as one `INSERT … ON CONFLICT … WHERE` statement, change
//! numbers in commit order, `LISTEN/NOTIFY` for live events and revocations
//! across instances, the closer under an advisory lock). Tokens are
//! stored as SHA-256 hashes only ([`token`]).

pub mod cli;
pub mod client_addr;
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
