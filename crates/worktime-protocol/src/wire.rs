//! Request and response envelopes of the v1 API other than the session body.

use crate::session::Session;
use serde::{Deserialize, Serialize};

/// Most sessions one `POST /api/v1/sessions/batch` may carry.
pub const MAX_BATCH_ITEMS: usize = 500;

/// Body of `POST /api/v1/sessions/batch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRequest {
    /// Up to [`MAX_BATCH_ITEMS`] sessions, each upserted independently.
    pub sessions: Vec<Session>,
}

/// Answer to a batch: one result per item, in the order sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    /// Per-item outcomes.
    pub results: Vec<ItemResult>,
}

/// Whether one item of a batch was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Stored (or already stored: upserts are idempotent).
    Ok,
    /// Refused for good; `error` says why. Retrying the same body will not help.
    Rejected,
}

/// The outcome for one item of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemResult {
    /// The item's `local_id` as sent (may be invalid text when that is the fault).
    pub local_id: String,
    /// Stored or refused.
    pub status: ItemStatus,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// The error object of every non-2xx answer and every rejected item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `invalid_field`, `unauthorized`.
    pub code: String,
    /// Human-readable explanation, safe to show to the user.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `{"error": {...}}`: the body of every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// What went wrong.
    pub error: ErrorBody,
}

/// Answer to `GET /api/v1/me`: who the presented token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// The user's name.
    pub user: String,
    /// The device (token) label.
    pub device: String,
    /// The device's id, as used by `DELETE /api/v1/devices/{id}`.
    pub device_id: i64,
    /// Whether the user may read every user's sessions.
    pub admin: bool,
}

/// One of a user's devices (API tokens), never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Id for `DELETE /api/v1/devices/{id}`.
    pub id: i64,
    /// Label given at `token create --device`.
    pub label: String,
    /// When the token was created (RFC 3339).
    pub created_at: String,
    /// When the token was last used (RFC 3339), if ever.
    pub last_seen_at: Option<String>,
    /// Whether this is the token that asked.
    pub current: bool,
}

/// Answer to `GET /api/v1/sessions`: a page, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsPage {
    /// The sessions of this page.
    pub sessions: Vec<Session>,
    /// Cursor for the next page, `None` at the end.
    pub next: Option<String>,
}
