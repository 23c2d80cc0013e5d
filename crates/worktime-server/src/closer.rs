//! The stale-session closer: a device that went silent must not leave a
//! session "in progress" on the dashboard forever. Every `closer_every`,
//! sessions still active with no update for `stale_after` (by the server's
//! clock) are ended at their last update and marked `closed_by_server`. A
//! later update from the client still merges (an ended version with a later
//! `updated_at` replaces the server's).

use crate::state::AppState;
use crate::store::StoreError;
use worktime_protocol::time::DurationMillis;

/// Closes what is stale now; returns how many sessions were closed.
pub async fn close_stale_now(state: &AppState) -> Result<usize, StoreError> {
    let now = state.clock.now();
    let stale_ms = i64::try_from(state.config.stale_after.as_millis()).unwrap_or(i64::MAX);
    let closed = state
        .store
        .close_stale(now - DurationMillis(stale_ms), now)
        .await?;
    for record in &closed {
        state.hub.publish(record);
    }
    if !closed.is_empty() {
        tracing::info!(count = closed.len(), "closed silent sessions");
    }
    Ok(closed.len())
}

/// Runs [`close_stale_now`] every `closer_every` until shutdown.
pub async fn run(state: AppState) {
    let mut every = tokio::time::interval(state.config.closer_every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = every.tick() => {
                if let Err(e) = close_stale_now(&state).await {
                    tracing::error!(error = %e, "stale-session closer failed");
                }
            }
        }
    }
}
