//! The fake server: stores sessions with the real merge rule and validation,
//! and answers the v1 requests the engine sends. Faults are decided by the
//! simulator, not here.

use std::collections::{BTreeMap, BTreeSet};
use worktime_core::{Method, Request};
use worktime_protocol::{
    BatchRequest, BatchResponse, ErrorBody, ErrorEnvelope, ItemResult, ItemStatus, LocalId, Me,
    Session, SessionsPage, UnixMillis, merge, validate_session,
};

/// Pull-request numbers the server refuses per item (a stand-in for any
/// permanent, per-item rejection).
pub const POISON_PR: u64 = 13;

/// What the server answered: status, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Response body.
    pub body: String,
}

/// The stored sessions and the bookkeeping the invariants need.
#[derive(Debug, Clone, Default)]
pub struct FakeServer {
    /// Stored rows by id.
    pub rows: BTreeMap<LocalId, Session>,
    /// Sum of `active_seconds` over all rows.
    pub total_seconds: u64,
    /// Requests applied (including duplicates that changed nothing).
    pub applied_requests: u64,
    /// Session versions that changed a row.
    pub changing_writes: u64,
    /// Larger batches are refused with 413 (0 = the contract's 500).
    pub max_batch: usize,
    /// Sessions this server refused item by item (its verdict on them).
    pub rejected: BTreeSet<LocalId>,
}

impl FakeServer {
    /// Handles `request` as the real server would, at server time `now`.
    pub fn apply(&mut self, request: &Request, now: UnixMillis) -> Answer {
        self.applied_requests += 1;
        let path = request.path.as_str();
        match (request.method, path) {
            (Method::Get, "/api/v1/me") => ok(&Me {
                user: "sim".into(),
                device: "sim-device".into(),
                device_id: 1,
                admin: false,
            }),
            (Method::Get, p) if p.starts_with("/api/v1/sessions?") => {
                let since = p
                    .split_once("since=")
                    .and_then(|(_, rest)| rest.split('&').next())
                    .and_then(worktime_protocol::time::rfc3339::parse)
                    .unwrap_or(UnixMillis(0));
                let mut sessions: Vec<Session> = self
                    .rows
                    .values()
                    .filter(|s| s.started_at >= since)
                    .cloned()
                    .collect();
                sessions.sort_by_key(|s| std::cmp::Reverse(s.started_at));
                sessions.truncate(500);
                ok(&SessionsPage {
                    sessions,
                    next: None,
                })
            }
            (Method::Post, "/api/v1/sessions/batch") => {
                let Some(batch) = request
                    .body
                    .as_deref()
                    .and_then(|b| serde_json::from_str::<BatchRequest>(b).ok())
                else {
                    return error(400, "invalid_body", "not a batch");
                };
                let limit = if self.max_batch == 0 {
                    worktime_protocol::MAX_BATCH_ITEMS
                } else {
                    self.max_batch
                };
                if batch.sessions.len() > limit {
                    return error(413, "too_large", "too many sessions in one batch");
                }
                let results = batch
                    .sessions
                    .iter()
                    .map(|s| match self.upsert(s, now) {
                        Ok(()) => ItemResult {
                            local_id: s.local_id.to_string(),
                            status: ItemStatus::Ok,
                            error: None,
                        },
                        Err(e) => ItemResult {
                            local_id: s.local_id.to_string(),
                            status: ItemStatus::Rejected,
                            error: Some(e),
                        },
                    })
                    .collect();
                ok(&BatchResponse { results })
            }
            (Method::Put, p) if p.starts_with("/api/v1/sessions/") => {
                let Some(session) = request
                    .body
                    .as_deref()
                    .and_then(|b| serde_json::from_str::<Session>(b).ok())
                else {
                    return error(400, "invalid_body", "not a session");
                };
                if p.trim_start_matches("/api/v1/sessions/") != session.local_id.as_str() {
                    return error(400, "invalid_field", "local_id differs from the path");
                }
                match self.upsert(&session, now) {
                    Ok(()) => ok(&self.rows.get(&session.local_id)),
                    Err(e) => Answer {
                        status: 400,
                        body: serde_json::to_string(&ErrorEnvelope { error: e })
                            .unwrap_or_default(),
                    },
                }
            }
            _ => error(404, "not_found", "no such endpoint"),
        }
    }

    fn upsert(&mut self, s: &Session, now: UnixMillis) -> Result<(), ErrorBody> {
        let verdict = self.judge(s, now);
        if verdict.is_err() {
            self.rejected.insert(s.local_id.clone());
        }
        verdict
    }

    fn judge(&mut self, s: &Session, now: UnixMillis) -> Result<(), ErrorBody> {
        validate_session(s, now).map_err(|e| ErrorBody {
            code: "invalid_field".into(),
            message: e.to_string(),
            field: Some(e.field.into()),
        })?;
        if s.pr_number == POISON_PR {
            return Err(ErrorBody {
                code: "invalid_field".into(),
                message: "pull request 13 is refused by this server".into(),
                field: Some("pr_number".into()),
            });
        }
        match self.rows.get(&s.local_id) {
            Some(existing) => {
                let merged = merge(existing, s).map_err(|e| ErrorBody {
                    code: "conflict".into(),
                    message: e.to_string(),
                    field: Some("local_id".into()),
                })?;
                if merged != *existing {
                    self.changing_writes += 1;
                    self.total_seconds = self.total_seconds - u64::from(existing.active_seconds)
                        + u64::from(merged.active_seconds);
                    self.rows.insert(s.local_id.clone(), merged);
                }
            }
            None => {
                self.changing_writes += 1;
                self.total_seconds += u64::from(s.active_seconds);
                self.rows.insert(s.local_id.clone(), s.clone());
            }
        }
        Ok(())
    }
}

fn ok<T: serde::Serialize>(body: &T) -> Answer {
    Answer {
        status: 200,
        body: serde_json::to_string(body).unwrap_or_default(),
    }
}

/// An error answer with the contract's envelope.
pub fn error(status: u16, code: &str, message: &str) -> Answer {
    Answer {
        status,
        body: serde_json::to_string(&ErrorEnvelope {
            error: ErrorBody {
                code: code.into(),
                message: message.into(),
                field: None,
            },
        })
        .unwrap_or_default(),
    }
}
