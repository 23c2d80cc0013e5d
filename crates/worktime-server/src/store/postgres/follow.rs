//! Follows the database's changes for this instance's event streams:
//! `LISTEN worktime_changes` wakes it, and it then reads the change feed
//! after the last number it announced, so every change — from this
//! instance or another — reaches the listener once, in number order, with
//! nothing skipped even across a lost connection (it catches up from the
//! feed after reconnecting). `LISTEN worktime_revoked` carries revocations
//! from every instance.

use super::reads;
use super::writes::{CHANGES_CHANNEL, REVOKED_CHANNEL};
use crate::store::{ChangeListener, RevokeListener, StoreError};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Changes read from the feed per query while catching up.
const PAGE: u32 = 1000;
/// Wait before reconnecting after the database refused.
const BACKOFF: Duration = Duration::from_secs(1);

/// Where the follower reports.
pub(super) struct Listeners {
    pub(super) changes: OnceLock<ChangeListener>,
    pub(super) revoked: OnceLock<RevokeListener>,
}

/// Announces every change numbered above `after`; returns the last number.
async fn catch_up(pool: &PgPool, listeners: &Listeners, mut after: i64) -> Result<i64, StoreError> {
    loop {
        let page = reads::list_changes(pool, None, after, PAGE).await?;
        let Some(last) = page.last().map(|r| r.seq) else {
            return Ok(after);
        };
        if let Some(listener) = listeners.changes.get() {
            page.iter().for_each(|record| listener(record));
        }
        after = last;
        if page.len() < PAGE as usize {
            return Ok(after);
        }
    }
}

/// Runs until the task is aborted (the store is dropped): announces the
/// changes after `after`, then each new one as it commits.
pub(super) async fn run(pool: PgPool, listeners: Arc<Listeners>, mut after: i64) {
    loop {
        match follow(&pool, &listeners, &mut after).await {
            Ok(()) => {}
            Err(e) => {
                tracing::warn!(error = %e, "lost the database's change notifications; reconnecting");
                tokio::time::sleep(BACKOFF).await;
            }
        }
    }
}

/// One connection's worth of following; returns when the connection is lost.
async fn follow(pool: &PgPool, listeners: &Listeners, after: &mut i64) -> Result<(), StoreError> {
    let mut listen = PgListener::connect_with(pool).await?;
    listen
        .listen_all([CHANGES_CHANNEL, REVOKED_CHANNEL])
        .await?;
    // Anything committed before LISTEN took effect is in the feed.
    *after = catch_up(pool, listeners, *after).await?;
    while let Some(note) = listen.try_recv().await? {
        if note.channel() == REVOKED_CHANNEL {
            let ids: Vec<i64> = note
                .payload()
                .split(',')
                .filter_map(|id| id.parse().ok())
                .collect();
            if let Some(listener) = listeners.revoked.get() {
                listener(ids);
            }
            continue;
        }
        let head: i64 = note.payload().parse().unwrap_or(i64::MAX);
        if head > *after {
            *after = catch_up(pool, listeners, *after).await?;
        }
    }
    // The connection dropped: notifications may have been lost meanwhile;
    // the next round catches up from the feed.
    Ok(())
}
