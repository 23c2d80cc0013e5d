//! The popup's snapshot: status, counts, times and the review being timed.

use serde::{Deserialize, Serialize};
use worktime_protocol::{LocalId, PrRef, UnixMillis};

/// The one-word sync status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nothing is being sent (the popup shows "Synced" or "N pending").
    Idle,
    /// A request is in flight.
    Syncing,
    /// The network is down; the queue waits for it.
    Offline,
    /// No token, or the server refused it: sync is paused.
    SignedOut,
    /// The last exchange failed or items are parked; retries are scheduled or
    /// wait for the server to come back.
    Error,
    /// Something answers at the server's address, but not as the WorkTime
    /// API does (a wrong URL or path prefix, a proxy's own error page, a
    /// redirect): sync is paused, every item is kept, the fallback alarm
    /// probes, and sync resumes by itself once the server answers properly
    /// or the settings change. See [`SyncView::server_problem`].
    ServerProblem,
}

/// What the server's address answered instead of the API, as persisted and
/// shown while sync is paused for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerProblem {
    /// The status code (0 for a redirect that was not followed).
    pub status: u16,
    /// What was answered, in plain words.
    pub detail: String,
    /// The request it answered (`PUT /api/v1/sessions/…`), path below the
    /// configured server URL.
    pub request: String,
    /// When it was first answered so (kept while the problem lasts).
    pub since: UnixMillis,
}

/// One failed item as the popup lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedItem {
    /// The session's id (for retry/discard).
    pub local_id: LocalId,
    /// Its pull request.
    pub pr: PrRef,
    /// Active seconds of the refused version.
    pub active_seconds: u32,
    /// The server's reason.
    pub reason: String,
    /// Times it was sent.
    pub attempts: u32,
    /// When it was refused.
    pub failed_at: UnixMillis,
}

/// The review being timed now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentReview {
    /// The session's id.
    pub local_id: LocalId,
    /// Its pull request.
    pub pr: PrRef,
    /// When it started.
    pub started_at: UnixMillis,
    /// Active seconds as of the snapshot's time.
    pub active_seconds: u32,
    /// Whether time is running (a tab is visible and the user not idle); if
    /// so the popup may tick the counter itself.
    pub running: bool,
}

/// Everything the popup shows, from [`crate::Engine::view`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncView {
    /// The snapshot's time.
    pub at: UnixMillis,
    /// The one-word status.
    pub status: Status,
    /// Items waiting for the server (including parked and in-flight ones).
    pub pending: usize,
    /// Items currently being sent.
    pub in_flight: usize,
    /// Items that used up their retries and wait for the server to answer.
    pub parked: usize,
    /// Since when the oldest parked item has waited ("server unavailable
    /// since …").
    pub unavailable_since: Option<UnixMillis>,
    /// The failed list, oldest first.
    pub failed: Vec<FailedItem>,
    /// Failed items dropped because the list was full.
    pub evictions: u64,
    /// When a request last went out.
    pub last_attempted: Option<UnixMillis>,
    /// When the server last answered with success.
    pub last_successful: Option<UnixMillis>,
    /// The last error, in plain words.
    pub last_error: Option<String>,
    /// Set while sync is paused because the server's address does not
    /// answer as the API does ([`Status::ServerProblem`]).
    pub server_problem: Option<ServerProblem>,
    /// When the next automatic retry is due.
    pub next_retry: Option<UnixMillis>,
    /// Whether a token is configured and accepted.
    pub signed_in: bool,
    /// The network hint.
    pub online: bool,
    /// "Sync now" is refused before this time (5 s cooldown).
    pub sync_now_cooldown_until: Option<UnixMillis>,
    /// The review being timed, if any.
    pub current: Option<CurrentReview>,
    /// Today's review time in seconds (all this user's sessions that started
    /// today, local and pulled, each counted once).
    pub today_seconds: u64,
}
