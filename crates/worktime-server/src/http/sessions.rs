//! Sessions: `PUT /api/v1/sessions/{local_id}`, `POST /api/v1/sessions/batch`
//! and `GET /api/v1/sessions`. Writes validate with the protocol's rules and
//! merge with its merge rule, so they are idempotent by `(user, local_id)`.

use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, Caller, parse_json};
use super::params;
use super::zone::Zone;
use crate::state::AppState;
use crate::store::{Cursor, SessionFilter, SessionQuery, SessionRecord, UpsertOutcome};
use crate::streams::StreamSlot;
use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use worktime_protocol::{
    BatchResponse, ItemResult, ItemStatus, LocalId, MAX_BATCH_ITEMS, Session, SessionState,
    UnixMillis, validate_session,
};

/// Default and largest page of `GET /api/v1/sessions`.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 500;

/// The session routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sessions", get(list))
        .route("/api/v1/sessions/batch", post(batch))
        .route("/api/v1/sessions/{local_id}", put(upsert_one))
}

/// Checks a parsed session against the contract at the server's `now`, and
/// folds owner and repository to the canonical lower case they are stored
/// in (GitHub's names are case-insensitive).
fn validated(mut session: Session, now: UnixMillis) -> Result<Session, ApiError> {
    validate_session(&session, now).map_err(|e| ApiError::invalid(e.field, e.message))?;
    session.repo_owner.make_ascii_lowercase();
    session.repo_name.make_ascii_lowercase();
    Ok(session)
}

/// One of the device's few places for writes in progress: a device that
/// floods gets 503 with `Retry-After` instead of crowding out the others.
fn write_share(state: &AppState, caller: &Caller) -> Result<StreamSlot, ApiError> {
    state.writes.open(caller.device_id).map_err(|_| {
        ApiError::Overloaded(format!(
            "this device already has {} writes in progress; retry shortly",
            state.config.writes_per_device
        ))
    })
}

async fn upsert_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(local_id): Path<String>,
    ApiJson(session): ApiJson<Session>,
) -> Result<Json<SessionRecord>, ApiError> {
    let local_id =
        LocalId::parse(&local_id).map_err(|e| ApiError::invalid("local_id", e.to_string()))?;
    if session.local_id != local_id {
        return Err(ApiError::invalid(
            "local_id",
            "the body's local_id differs from the one in the path",
        ));
    }
    let now = state.clock.now();
    let session = validated(session, now)?;
    let _share = write_share(&state, &caller)?;
    let outcome = state
        .store
        .upsert_sessions(&caller, vec![session], now)
        .await?
        .pop();
    match outcome {
        Some(UpsertOutcome::Stored { record, .. }) => Ok(Json(record)),
        Some(UpsertOutcome::Refused(why)) => Err(ApiError::Conflict(why.to_string())),
        None => Err(ApiError::Internal(crate::store::StoreError::WriterGone)),
    }
}

/// `{"sessions": [...]}` with each item kept raw, so one bad item is a
/// per-item rejection instead of a failed batch.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    sessions: Vec<Box<RawValue>>,
}

/// The `local_id` of an item that did not parse, as sent when it is text.
fn local_id_as_sent(raw: &RawValue) -> String {
    #[derive(Deserialize)]
    struct Probe {
        local_id: Option<serde_json::Value>,
    }
    match serde_json::from_str::<Probe>(raw.get()) {
        Ok(Probe {
            local_id: Some(serde_json::Value::String(id)),
        }) => id,
        _ => String::new(),
    }
}

fn rejected(local_id: String, error: &ApiError) -> ItemResult {
    ItemResult {
        local_id,
        status: ItemStatus::Rejected,
        error: Some(error.body()),
    }
}

async fn batch(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<BatchBody>,
) -> Result<Json<BatchResponse>, ApiError> {
    if body.sessions.len() > MAX_BATCH_ITEMS {
        return Err(ApiError::TooLarge {
            code: "batch_too_large",
            message: format!(
                "a batch carries at most {MAX_BATCH_ITEMS} sessions, not {}",
                body.sessions.len()
            ),
        });
    }
    let now = state.clock.now();
    let mut results: Vec<Option<ItemResult>> = vec![None; body.sessions.len()];
    let mut accepted = Vec::with_capacity(body.sessions.len());
    let mut slots = Vec::with_capacity(body.sessions.len());
    for (i, raw) in body.sessions.iter().enumerate() {
        match parse_json::<Session>(raw.get().as_bytes()).and_then(|s| validated(s, now)) {
            Ok(session) => {
                slots.push(i);
                accepted.push(session);
            }
            Err(e) => results[i] = Some(rejected(local_id_as_sent(raw), &e)),
        }
    }
    let ids: Vec<String> = accepted.iter().map(|s| s.local_id.to_string()).collect();
    let outcomes = if accepted.is_empty() {
        Vec::new()
    } else {
        let _share = write_share(&state, &caller)?;
        state.store.upsert_sessions(&caller, accepted, now).await?
    };
    for ((slot, local_id), outcome) in slots.into_iter().zip(ids).zip(outcomes) {
        results[slot] = Some(match outcome {
            UpsertOutcome::Stored { .. } => ItemResult {
                local_id,
                status: ItemStatus::Ok,
                error: None,
            },
            UpsertOutcome::Refused(why) => rejected(local_id, &ApiError::Conflict(why.to_string())),
        });
    }
    let results = results
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or(ApiError::Internal(crate::store::StoreError::WriterGone))?;
    Ok(Json(BatchResponse { results }))
}

/// Query of `GET /api/v1/sessions`; every value is checked by hand so that
/// errors name the parameter.
#[derive(Debug, Deserialize)]
struct ListParams {
    since: Option<String>,
    state: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    repo: Option<String>,
    user: Option<String>,
}

/// A page of sessions with the server-side fields.
#[derive(Debug, Serialize)]
struct Page {
    sessions: Vec<SessionRecord>,
    next: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListParams>,
) -> Result<Json<Page>, ApiError> {
    let limit = params::limit(q.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
    let session_state = match q.state.as_deref() {
        None => None,
        Some("active") => Some(SessionState::Active),
        Some("ended") => Some(SessionState::Ended),
        Some(_) => {
            return Err(ApiError::invalid(
                "state",
                "must be \"active\" or \"ended\"",
            ));
        }
    };
    let after = q
        .cursor
        .as_deref()
        .map(|c| {
            Cursor::decode(c)
                .ok_or_else(|| ApiError::invalid("cursor", "not a cursor this server gave out"))
        })
        .transpose()?;
    let filter = SessionFilter {
        user_id: params::scope(&state, &caller, q.user.as_deref()).await?,
        since: q
            .since
            .as_deref()
            .map(|t| params::instant("since", t))
            .transpose()?,
        state: session_state,
        from: q
            .from
            .as_deref()
            .map(|t| params::bound("from", t, &Zone::Offset(0), false))
            .transpose()?,
        to: q
            .to
            .as_deref()
            .map(|t| params::bound("to", t, &Zone::Offset(0), true))
            .transpose()?,
        repo: q.repo.as_deref().map(params::repo).transpose()?,
    };
    let page = state
        .store
        .list_sessions(&SessionQuery {
            filter,
            limit,
            after,
        })
        .await?;
    Ok(Json(Page {
        sessions: page.records,
        next: page.next.map(Cursor::encode),
    }))
}
