//! `GET /api/v1/events`: server-sent events of session upserts.
//!
//! Each stored change is an event named `session` whose data is the session
//! JSON exactly as `GET /api/v1/sessions` shows it. Non-admins see their own
//! user's sessions, admins everyone's. A comment line is sent every
//! keep-alive interval. A stream that falls more than 1024 events behind
//! gets a `lagged` event (data: how many were missed) and should reload.
//! The stream ends when its token is revoked (at once when revoked through
//! the API, within the re-check interval when revoked by the CLI) and when
//! the server shuts down.

use super::extract::EventsCaller;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use std::convert::Infallible;
use tokio::sync::broadcast::error::RecvError;

/// The event route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/events", get(events))
}

async fn events(
    State(state): State<AppState>,
    EventsCaller(caller): EventsCaller,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribe before answering, so every change after the response
    // headers reach the client is delivered.
    let mut sub = state.hub.subscribe();
    let keep_alive = KeepAlive::new().interval(state.config.keep_alive);
    let stream = async_stream::stream! {
        let mut recheck = tokio::time::interval(state.config.token_recheck);
        recheck.tick().await;
        loop {
            tokio::select! {
                () = state.shutdown.cancelled() => break,
                event = sub.sessions.recv() => match event {
                    Ok(event) => {
                        if caller.admin || event.user == caller.user {
                            yield Ok(Event::default().event("session").data(event.json.as_str()));
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        yield Ok(Event::default().event("lagged").data(missed.to_string()));
                    }
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
    Sse::new(stream).keep_alive(keep_alive)
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
