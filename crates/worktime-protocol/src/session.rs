//! The session body of the v1 contract: one review of one pull request on one
//! device, as the extension sends it and the server stores it.

use crate::ids::{LocalId, PrRef};
use crate::time::{UnixMillis, rfc3339};
use serde::{Deserialize, Serialize};

/// Whether a session is still running. `Ended` is final: merging never turns
/// an ended session back into an active one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// The pull request is still open in at least one tab.
    Active,
    /// The last tab closed (or the session was closed for it).
    Ended,
}

/// One review session, exactly as it travels in `PUT /api/v1/sessions/{id}`
/// and `POST /api/v1/sessions/batch`.
///
/// Timestamps are RFC 3339 UTC strings on the wire and [`UnixMillis`] in
/// memory. `ended_at` is `null` while the session is active.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// Client-made id; with the user it is the idempotency key.
    pub local_id: LocalId,
    /// Owner of the reviewed repository.
    pub repo_owner: String,
    /// Name of the reviewed repository.
    pub repo_name: String,
    /// Number of the reviewed pull request.
    pub pr_number: u64,
    /// When the first tab on this pull request opened.
    #[serde(with = "rfc3339")]
    pub started_at: UnixMillis,
    /// When the last tab closed; `None` while active.
    #[serde(with = "rfc3339::option", default)]
    pub ended_at: Option<UnixMillis>,
    /// Seconds the pull request was visible (and the user not idle).
    pub active_seconds: u32,
    /// Active or ended.
    pub state: SessionState,
    /// When the client last changed this session; the later one wins a merge.
    #[serde(with = "rfc3339")]
    pub updated_at: UnixMillis,
}

impl Session {
    /// The pull request this session times (unchecked: see
    /// [`crate::validate_session`] for incoming bodies).
    pub fn pr(&self) -> PrRef {
        PrRef {
            owner: self.repo_owner.clone(),
            repo: self.repo_name.clone(),
            number: self.pr_number,
        }
    }

    /// True once the session has ended.
    pub fn is_ended(&self) -> bool {
        self.state == SessionState::Ended
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// A valid ended session for tests.
    pub fn ended(id: &str, start: i64, secs: u32) -> Session {
        Session {
            local_id: LocalId::parse(id).unwrap(),
            repo_owner: "octo".into(),
            repo_name: "hello".into(),
            pr_number: 7,
            started_at: UnixMillis(start),
            ended_at: Some(UnixMillis(start + i64::from(secs) * 1000)),
            active_seconds: secs,
            state: SessionState::Ended,
            updated_at: UnixMillis(start + i64::from(secs) * 1000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_travels_as_the_contract_says() {
        let s = fixtures::ended("abc", 1_795_300_000_000, 90);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "local_id": "abc",
                "repo_owner": "octo",
                "repo_name": "hello",
                "pr_number": 7,
                "started_at": "2026-11-21T22:26:40.000Z",
                "ended_at": "2026-11-21T22:28:10.000Z",
                "active_seconds": 90,
                "state": "ended",
                "updated_at": "2026-11-21T22:28:10.000Z"
            })
        );
        let back: Session = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn unknown_state_and_unknown_fields_are_refused() {
        let mut json = serde_json::to_value(fixtures::ended("abc", 1_795_300_000_000, 9)).unwrap();
        json["state"] = "paused".into();
        assert!(serde_json::from_value::<Session>(json.clone()).is_err());
        json["state"] = "ended".into();
        json["extra"] = 1.into();
        assert!(serde_json::from_value::<Session>(json).is_err());
    }
}
