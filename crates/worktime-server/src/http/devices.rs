//! Who am I and my devices: `GET /api/v1/me`, `GET /api/v1/devices`,
//! `DELETE /api/v1/devices/{id}` and `DELETE /api/v1/devices` (sign out
//! everywhere, the caller's own token included).

use super::error::ApiError;
use super::extract::Caller;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use worktime_protocol::time::rfc3339;
use worktime_protocol::{Device, Me};

/// The identity and device routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/devices", get(list).delete(revoke_all))
        .route("/api/v1/devices/{id}", delete(revoke_one))
}

async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        user: caller.user.clone(),
        device: caller.device.clone(),
        device_id: caller.device_id,
        admin: caller.admin,
    })
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Device>>, ApiError> {
    let devices = state.store.list_devices(caller.user_id, false).await?;
    Ok(Json(
        devices
            .into_iter()
            .map(|d| Device {
                id: d.id,
                current: d.id == caller.device_id,
                label: d.label,
                created_at: rfc3339::format(d.created_at).unwrap_or_default(),
                last_seen_at: d.last_seen_at.and_then(rfc3339::format),
            })
            .collect(),
    ))
}

async fn revoke_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::invalid("id", "a device id is a whole number"))?;
    let now = state.clock.now();
    match state
        .store
        .revoke_device(Some(caller.user_id), id, now)
        .await?
    {
        Some(_) => {
            tracing::info!(user = %caller.user, device_id = id, "device revoked");
            state.hub.revoked(vec![id]);
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::NotFound(format!("you have no live device {id}"))),
    }
}

async fn revoke_all(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    let now = state.clock.now();
    let ids = state.store.revoke_all_devices(caller.user_id, now).await?;
    tracing::info!(user = %caller.user, devices = ids.len(), "signed out everywhere");
    state.hub.revoked(ids);
    Ok(StatusCode::NO_CONTENT)
}
