//! `GET /api/v1/events`: server-sent events of stored changes.
//!
//! Each stored change (upserts and server closes) is an event named
//! `session` with `id: <seq>` whose data is the session JSON exactly as
//! `GET /api/v1/changes` shows it, in sequence order. Non-admins see their
//! own user's sessions, admins everyone's. A client reconnecting with
//! `Last-Event-ID: <seq>` first gets every change after that id from the
//! database, then the live ones, so a dropped connection misses nothing. A
//! stream opened without it starts with an event named `ready` whose id
//! (and data, `{"seq"}`) is the latest change committed before it began:
//! a client that saw no change yet still has an id to resume from. A
//! stream that falls behind the live fan-out catches up from the database
//! the same way. A comment line is sent every keep-alive interval. The
//! stream ends when its token is revoked (at once when revoked through the
//! API, within the re-check interval when revoked by the CLI) and when the
//! server shuts down. Each token may hold a few streams, the server a
//! bounded number in all (429 / 503 with `Retry-After` beyond).

use super::error::ApiError;
use super::extract::Caller;
use crate::state::AppState;
use crate::store::SessionRecord;
use crate::streams::StreamRefused;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use std::convert::Infallible;
use tokio::sync::broadcast::error::RecvError;

/// Changes read from the database per page while catching up.
const CATCH_UP_PAGE: u32 = 500;

/// The event route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/events", get(events))
}

/// The `Last-Event-ID` header: a sequence number, or 400 naming it.
fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .ok()
        .filter(|seq| *seq >= 0)
        .map(Some)
        .ok_or_else(|| {
            ApiError::invalid(
                "Last-Event-ID",
                "expected the id of an event this server sent",
            )
        })
}

fn event_of(seq: i64, json: &str) -> Event {
    Event::default()
        .event("session")
        .id(seq.to_string())
        .data(json)
}

/// Every change after `after` visible to the stream, from the database.
async fn catch_up(
    state: &AppState,
    user_id: Option<i64>,
    after: i64,
) -> Result<Vec<SessionRecord>, ApiError> {
    let mut all = Vec::new();
    let mut from = after;
    loop {
        let page = state
            .store
            .list_changes(user_id, from, CATCH_UP_PAGE)
            .await?;
        let full = page.len() == CATCH_UP_PAGE as usize;
        if let Some(last) = page.last() {
            from = last.seq;
        }
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}

async fn events(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resume = last_event_id(&headers)?;
    let slot = state.streams.open(caller.device_id).map_err(|e| match e {
        StreamRefused::PerToken(_) => ApiError::TooManyStreams(e.to_string()),
        StreamRefused::Total(_) => ApiError::Overloaded(e.to_string()),
    })?;
    // Subscribe before reading the database, so every change committed
    // after the catch-up's read is delivered live (duplicates are skipped
    // by sequence number).
    let mut sub = state.hub.subscribe();
    // Read after subscribing: every change after `head` reaches this stream.
    let head = match resume {
        Some(_) => None,
        None => Some(state.store.head_seq().await?),
    };
    let scope = (!caller.admin).then_some(caller.user_id);
    let keep_alive = KeepAlive::new().interval(state.config.keep_alive);
    let stream = async_stream::stream! {
        let _slot = slot;
        // The highest sequence number this stream has delivered.
        // A fresh stream starts at the head it announced: a change the
        // store announces late (another instance's, through the feed) that
        // is not above it was committed before the stream began.
        let mut sent = resume.or(head).unwrap_or(0);
        let mut pending = resume;
        let mut recheck = tokio::time::interval(state.config.token_recheck);
        recheck.tick().await;
        if let Some(head) = head {
            yield Ok(Event::default()
                .event("ready")
                .id(head.to_string())
                .data(format!("{{\"seq\":{head}}}")));
        }
        loop {
            if let Some(after) = pending.take() {
                match catch_up(&state, scope, after).await {
                    Ok(records) => {
                        for record in records {
                            if record.seq > sent
                                && let Ok(json) = serde_json::to_string(&record)
                            {
                                sent = record.seq;
                                yield Ok(event_of(record.seq, &json));
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "an event stream could not catch up; ending it");
                        break;
                    }
                }
            }
            tokio::select! {
                () = state.shutdown.cancelled() => break,
                event = sub.sessions.recv() => match event {
                    Ok(event) => {
                        if event.seq > sent && (caller.admin || event.user == caller.user) {
                            sent = event.seq;
                            yield Ok(event_of(event.seq, &event.json));
                        }
                    }
                    // Fell behind the live fan-out: read what was missed
                    // from the database instead.
                    Err(RecvError::Lagged(_)) => pending = Some(sent),
                    Err(RecvError::Closed) => break,
                },
                revoked = sub.revoked.recv() => match revoked {
                    Ok(ids) if ids.contains(&caller.device_id) => break,
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => {
                        if !still_valid(&state, &caller.token_hash).await {
                            break;
                        }
                    }
                    Err(RecvError::Closed) => break,
                },
                _ = recheck.tick() => {
                    if !still_valid(&state, &caller.token_hash).await {
                        break;
                    }
                }
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(keep_alive))
}

/// Whether the token behind a stream still authenticates.
async fn still_valid(state: &AppState, token_hash: &str) -> bool {
    match state.store.authenticate(token_hash).await {
        Ok(found) => found.is_some(),
        Err(e) => {
            tracing::warn!(error = %e, "could not re-check an event stream's token");
            true
        }
    }
}
