//! The in-process event hub: stored changes fan out, in commit order (the
//! store announces them from its writer), to every open `/api/v1/events`
//! stream, and revocations reach the streams of the revoked tokens so they
//! end at once.

use crate::store::SessionRecord;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Events a slow stream may fall behind before it is told it lagged.
const CAPACITY: usize = 1024;

/// One stored change, serialised once for every subscriber.
#[derive(Debug)]
pub struct SessionEvent {
    /// Owner's user name: non-admin streams only see their own.
    pub user: String,
    /// The change's sequence number (the SSE `id`).
    pub seq: i64,
    /// The session as `GET /api/v1/sessions` shows it, as JSON.
    pub json: String,
}

/// Fan-out of session changes and token revocations.
#[derive(Debug, Clone)]
pub struct Hub {
    sessions: broadcast::Sender<Arc<SessionEvent>>,
    revoked: broadcast::Sender<Arc<Vec<i64>>>,
}

/// What one stream listens to.
#[derive(Debug)]
pub struct Subscription {
    /// Session changes.
    pub sessions: broadcast::Receiver<Arc<SessionEvent>>,
    /// Ids of devices just revoked.
    pub revoked: broadcast::Receiver<Arc<Vec<i64>>>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            sessions: broadcast::channel(CAPACITY).0,
            revoked: broadcast::channel(64).0,
        }
    }
}

impl Hub {
    /// Starts listening; events published after this call are delivered.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            sessions: self.sessions.subscribe(),
            revoked: self.revoked.subscribe(),
        }
    }

    /// Announces a stored change (serialised only if someone listens).
    pub fn publish(&self, record: &SessionRecord) {
        if self.sessions.receiver_count() == 0 {
            return;
        }
        match serde_json::to_string(record) {
            Ok(json) => {
                let _ = self.sessions.send(Arc::new(SessionEvent {
                    user: record.user.clone(),
                    seq: record.seq,
                    json,
                }));
            }
            Err(e) => tracing::error!(error = %e, "could not serialise a session event"),
        }
    }

    /// Tells the streams of these devices to end.
    pub fn revoked(&self, device_ids: Vec<i64>) {
        if !device_ids.is_empty() {
            let _ = self.revoked.send(Arc::new(device_ids));
        }
    }
}
