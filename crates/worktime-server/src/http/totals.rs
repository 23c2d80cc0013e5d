//! `GET /api/v1/totals`: review time summed by day, repository or pull
//! request, aggregated by the database, for the dashboard's charts.

use super::error::ApiError;
use super::extract::{ApiQuery, Caller};
use super::params::{self, DAY_MS};
use crate::state::AppState;
use crate::store::{SessionFilter, TotalKey, TotalsGroup, TotalsQuery};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use worktime_protocol::UnixMillis;
use worktime_protocol::time::rfc3339;

/// Longest range of day rows one request may ask for.
const MAX_DAYS: i64 = 366;
/// Days covered when `from` is not given (today and the six before).
const DEFAULT_DAYS: i64 = 7;
/// Largest `|tz_offset_minutes|` (UTC-14:00 .. UTC+14:00).
const MAX_OFFSET_MINUTES: i32 = 14 * 60;

/// The totals route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/totals", get(totals))
}

#[derive(Debug, Deserialize)]
struct TotalsParams {
    from: Option<String>,
    to: Option<String>,
    group: Option<String>,
    repo: Option<String>,
    user: Option<String>,
    tz_offset_minutes: Option<String>,
}

/// One row: `key` is `YYYY-MM-DD`, `owner/name` or `owner/name#12`.
#[derive(Debug, Serialize)]
struct Row {
    key: String,
    seconds: i64,
    sessions: i64,
}

#[derive(Debug, Serialize)]
struct Totals {
    group: &'static str,
    #[serde(with = "rfc3339")]
    from: UnixMillis,
    #[serde(with = "rfc3339")]
    to: UnixMillis,
    tz_offset_minutes: i32,
    rows: Vec<Row>,
}

async fn totals(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<TotalsParams>,
) -> Result<Json<Totals>, ApiError> {
    let (group, group_name) = match q.group.as_deref().unwrap_or("day") {
        "day" => (TotalsGroup::Day, "day"),
        "repo" => (TotalsGroup::Repo, "repo"),
        "pr" => (TotalsGroup::Pr, "pr"),
        _ => return Err(ApiError::invalid("group", "must be day, repo or pr")),
    };
    let offset = match q.tz_offset_minutes.as_deref() {
        None => 0,
        Some(text) => text
            .parse::<i32>()
            .ok()
            .filter(|m| m.abs() <= MAX_OFFSET_MINUTES)
            .ok_or_else(|| {
                ApiError::invalid(
                    "tz_offset_minutes",
                    "must be whole minutes from -840 to 840",
                )
            })?,
    };
    let offset_ms = i64::from(offset) * 60_000;
    let to = match q.to.as_deref() {
        Some(text) => params::bound("to", text, offset, true)?,
        None => state.clock.now(),
    };
    let from = match q.from.as_deref() {
        Some(text) => params::bound("from", text, offset, false)?,
        None => {
            let last_day = (to.0 - 1 + offset_ms).div_euclid(DAY_MS);
            UnixMillis((last_day - (DEFAULT_DAYS - 1)) * DAY_MS - offset_ms)
        }
    };
    if from >= to {
        return Err(ApiError::invalid("to", "must be after from"));
    }
    let first_day = (from.0 + offset_ms).div_euclid(DAY_MS);
    let last_day = (to.0 - 1 + offset_ms).div_euclid(DAY_MS);
    if group == TotalsGroup::Day && last_day - first_day >= MAX_DAYS {
        return Err(ApiError::invalid(
            "from",
            format!("day totals cover at most {MAX_DAYS} days"),
        ));
    }
    let filter = SessionFilter {
        user_id: params::scope(&state, &caller, q.user.as_deref()).await?,
        from: Some(from),
        to: Some(to),
        repo: q.repo.as_deref().map(params::repo).transpose()?,
        ..SessionFilter::default()
    };
    let found = state
        .store
        .totals(&TotalsQuery {
            filter,
            group,
            tz_offset_minutes: offset,
        })
        .await?;
    let rows = if group == TotalsGroup::Day {
        // One row per day of the range, oldest first, zero where nothing was.
        let mut by_day = std::collections::HashMap::new();
        for row in found {
            if let TotalKey::Day(day) = row.key {
                by_day.insert(day, (row.seconds, row.sessions));
            }
        }
        (first_day..=last_day)
            .map(|day| {
                let (seconds, sessions) = by_day.get(&day).copied().unwrap_or((0, 0));
                Row {
                    key: params::day_key(day),
                    seconds,
                    sessions,
                }
            })
            .collect()
    } else {
        found
            .into_iter()
            .map(|row| Row {
                key: match row.key {
                    TotalKey::Day(day) => params::day_key(day),
                    TotalKey::Repo { owner, name } => format!("{owner}/{name}"),
                    TotalKey::Pr {
                        owner,
                        name,
                        number,
                    } => format!("{owner}/{name}#{number}"),
                },
                seconds: row.seconds,
                sessions: row.sessions,
            })
            .collect()
    };
    Ok(Json(Totals {
        group: group_name,
        from,
        to,
        tz_offset_minutes: offset,
        rows,
    }))
}
