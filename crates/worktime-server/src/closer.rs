//! The stale-session closer: a device that died must not leave a session
//! "in progress" on the dashboard forever, and a living device's quiet
//! review (a hidden tab) must stay open.
//!
//! Every `closer_every`, an active session is ended at its last update and
//! marked `closed_by_server` only when its device has sent nothing at all —
//! no change to the session, no other request — for `stale_after` (by the
//! server's clock). The extension itself ends a session without active time
//! after 10 minutes, so a living device always updates an open session well
//! within the default 20. Nothing is closed until the server has run for
//! `stale_after` itself: after an outage, clients get that long to resend.
//! The close is provisional: the device's own version at least as new as
//! the one closed replaces it (see
//! [`worktime_protocol::merge::merge_over_server_close`]). Closes reach the
//! change feed and the event streams like any other change.

use crate::state::AppState;
use crate::store::StoreError;
use worktime_protocol::time::DurationMillis;

/// Closes what is stale now; returns how many sessions were closed (none
/// while the server has run for less than `stale_after`).
pub async fn close_stale_now(state: &AppState) -> Result<usize, StoreError> {
    let now = state.clock.now();
    let stale_ms = i64::try_from(state.config.stale_after.as_millis()).unwrap_or(i64::MAX);
    if now.0 - state.started_at.0 < stale_ms {
        return Ok(0);
    }
    let closed = state
        .store
        .close_stale(now - DurationMillis(stale_ms), now)
        .await?;
    if !closed.is_empty() {
        tracing::info!(count = closed.len(), "closed sessions of silent devices");
    }
    Ok(closed.len())
}

/// Runs [`close_stale_now`] every `closer_every` until shutdown, and now
/// and then lets the rate limiters forget idle clients.
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
                state.limiter.forget_idle();
                state.unauthenticated.forget_idle();
            }
        }
    }
}
