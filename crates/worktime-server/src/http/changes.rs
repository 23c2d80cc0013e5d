//! `GET /api/v1/changes?after=<seq>&limit=<n>&user=`: the change feed.
//! Every stored change (upserts, server closes) has a sequence number that
//! increases in commit order; the feed lists sessions whose latest change
//! is after `after`, in that order, each with its `seq`, and `next` to ask
//! with next time. Scoped like `GET /api/v1/sessions`.

use super::error::ApiError;
use super::extract::{ApiQuery, Caller};
use super::params;
use crate::state::AppState;
use crate::store::SessionRecord;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// Default and largest page of the feed.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

/// The feed's route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/changes", get(changes))
}

#[derive(Debug, Deserialize)]
struct ChangesParams {
    after: Option<String>,
    limit: Option<String>,
    user: Option<String>,
}

/// One page of the feed.
#[derive(Debug, Serialize)]
struct Page {
    changes: Vec<SessionRecord>,
    /// The `after` of the next request: the last `seq` here, or the
    /// request's `after` when nothing is new.
    next: i64,
}

async fn changes(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ChangesParams>,
) -> Result<Json<Page>, ApiError> {
    let after = match q.after.as_deref() {
        None => 0,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::invalid("after", "must be a sequence number (0 or more)"))?,
    };
    let limit = params::limit(q.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
    let user_id = params::scope(&state, &caller, q.user.as_deref()).await?;
    let changes = state.store.list_changes(user_id, after, limit).await?;
    let next = changes.last().map_or(after, |r| r.seq);
    Ok(Json(Page { changes, next }))
}
