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

/// Answer to `GET /api/v1/sessions`: a page, newest first. The server's rows
/// carry fields of its own next to the session's (`user`, `device`,
/// `closed_by_server`, `received_at`); a client reads the session and
/// ignores the rest, while [`Session`] itself stays strict for bodies a
/// server accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsPage {
    /// The sessions of this page.
    #[serde(deserialize_with = "listed::deserialize")]
    pub sessions: Vec<Session>,
    /// Cursor for the next page, `None` at the end.
    pub next: Option<String>,
}

/// Reads the rows of a [`SessionsPage`]: the session's fields, nothing else.
mod listed {
    use crate::ids::LocalId;
    use crate::session::{Session, SessionState};
    use crate::time::{UnixMillis, rfc3339};
    use serde::{Deserialize, Deserializer};

    /// A listed row: [`Session`]'s fields without `deny_unknown_fields`.
    #[derive(Deserialize)]
    struct Row {
        local_id: LocalId,
        repo_owner: String,
        repo_name: String,
        pr_number: u64,
        #[serde(with = "rfc3339")]
        started_at: UnixMillis,
        #[serde(with = "rfc3339::option", default)]
        ended_at: Option<UnixMillis>,
        active_seconds: u32,
        state: SessionState,
        #[serde(with = "rfc3339")]
        updated_at: UnixMillis,
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Session>, D::Error> {
        Ok(Vec::<Row>::deserialize(d)?
            .into_iter()
            .map(|r| Session {
                local_id: r.local_id,
                repo_owner: r.repo_owner,
                repo_name: r.repo_name,
                pr_number: r.pr_number,
                started_at: r.started_at,
                ended_at: r.ended_at,
                active_seconds: r.active_seconds,
                state: r.state,
                updated_at: r.updated_at,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_page_reads_the_sessions_and_ignores_the_servers_own_fields() {
        let body = r#"{"sessions":[{"local_id":"abc","repo_owner":"octo","repo_name":"hello",
            "pr_number":7,"started_at":"2026-11-21T10:00:00Z","ended_at":"2026-11-21T10:01:00Z",
            "active_seconds":42,"state":"ended","updated_at":"2026-11-21T10:01:00Z",
            "user":"ana","device":"laptop","closed_by_server":false,
            "received_at":"2026-11-21T10:01:01Z"}],"next":null}"#;
        let page: SessionsPage = serde_json::from_str(body).unwrap();
        assert_eq!(page.sessions.len(), 1);
        assert_eq!(page.sessions[0].active_seconds, 42);
        assert_eq!(page.sessions[0].pr_number, 7);
        assert!(page.sessions[0].is_ended());
        assert_eq!(page.next, None);
    }

    #[test]
    fn a_listed_row_missing_a_session_field_is_refused() {
        let body = r#"{"sessions":[{"local_id":"abc","repo_owner":"octo","repo_name":"hello",
            "started_at":"2026-11-21T10:00:00Z","active_seconds":1,"state":"active",
            "updated_at":"2026-11-21T10:01:00Z"}],"next":null}"#;
        let err = serde_json::from_str::<SessionsPage>(body).unwrap_err();
        assert!(err.to_string().contains("pr_number"), "{err}");
    }

    #[test]
    fn a_page_survives_its_own_round_trip() {
        let page = SessionsPage {
            sessions: vec![crate::session::fixtures::ended(
                "abc",
                1_795_300_000_000,
                30,
            )],
            next: Some("c1".into()),
        };
        let text = serde_json::to_string(&page).unwrap();
        assert_eq!(serde_json::from_str::<SessionsPage>(&text).unwrap(), page);
    }
}
