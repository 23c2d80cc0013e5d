//! `GET /api/v1/totals`: review time summed by day, repository or pull
//! request, aggregated by the database, for the dashboard's charts.

use super::error::ApiError;
use super::extract::{ApiQuery, Caller};
use super::params;
use super::zone::Zone;
use crate::state::AppState;
use crate::store::{QUARTER_HOUR_MS, SessionFilter, TotalKey, TotalsGroup, TotalsQuery};
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
    tz: Option<String>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    tz: Option<String>,
    tz_offset_minutes: i32,
    rows: Vec<Row>,
}

/// The zone of `tz=` or `tz_offset_minutes=` (not both); UTC by default.
fn zone(q: &TotalsParams) -> Result<Zone, ApiError> {
    match (q.tz.as_deref(), q.tz_offset_minutes.as_deref()) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "tz",
            "give tz or tz_offset_minutes, not both",
        )),
        (Some(name), None) => Zone::named(name),
        (None, Some(text)) => text
            .parse::<i32>()
            .ok()
            .filter(|m| m.abs() <= MAX_OFFSET_MINUTES)
            .map(Zone::Offset)
            .ok_or_else(|| {
                ApiError::invalid(
                    "tz_offset_minutes",
                    "must be whole minutes from -840 to 840",
                )
            }),
        (None, None) => Ok(Zone::Offset(0)),
    }
}

async fn totals(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<TotalsParams>,
) -> Result<Json<Totals>, ApiError> {
    let (group, group_name) = match q.group.as_deref().unwrap_or("day") {
        "day" => (TotalsGroup::QuarterHour, "day"),
        "repo" => (TotalsGroup::Repo, "repo"),
        "pr" => (TotalsGroup::Pr, "pr"),
        _ => return Err(ApiError::invalid("group", "must be day, repo or pr")),
    };
    let zone = zone(&q)?;
    let to = match q.to.as_deref() {
        Some(text) => params::bound("to", text, &zone, true)?,
        None => state.clock.now(),
    };
    let from = match q.from.as_deref() {
        Some(text) => params::bound("from", text, &zone, false)?,
        None => zone.day_start(zone.day_of(UnixMillis(to.0 - 1)) - (DEFAULT_DAYS - 1)),
    };
    if from >= to {
        return Err(ApiError::invalid("to", "must be after from"));
    }
    let first_day = zone.day_of(from);
    let last_day = zone.day_of(UnixMillis(to.0 - 1));
    if group == TotalsGroup::QuarterHour && last_day - first_day >= MAX_DAYS {
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
    let found = state.store.totals(&TotalsQuery { filter, group }).await?;
    let rows = if group == TotalsGroup::QuarterHour {
        // Quarter hours summed into local days; one row per day of the
        // range, oldest first, zero where nothing was.
        let mut by_day = std::collections::HashMap::<i64, (i64, i64)>::new();
        for row in found {
            if let TotalKey::QuarterHour(quarter) = row.key {
                let day = zone.day_of(UnixMillis(quarter * QUARTER_HOUR_MS));
                let sum = by_day.entry(day).or_default();
                sum.0 += row.seconds;
                sum.1 += row.sessions;
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
                    TotalKey::QuarterHour(q) => {
                        params::day_key(zone.day_of(UnixMillis(q * QUARTER_HOUR_MS)))
                    }
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
        tz: zone.name().map(str::to_owned),
        tz_offset_minutes: zone.fixed_minutes(),
        rows,
    }))
}
