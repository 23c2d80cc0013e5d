//! Everything the engine asks the shell to do, as one enum, and the HTTP
//! request it describes (method, path and JSON body of the v1 contract; the
//! shell adds the base URL and the `Authorization` header).

use crate::ids::RequestId;
use crate::status::SyncView;
use crate::store::Write;
use serde::{Deserialize, Serialize};
use worktime_protocol::{PrRef, SessionState, UnixMillis};

/// One effect for the shell to carry out, from [`crate::Engine::poll_output`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Output {
    /// Apply these writes as one atomic transaction, and wait until it has
    /// committed before carrying out any later output (write-ahead).
    Persist {
        /// The writes, in order.
        writes: Vec<Write>,
    },
    /// Send this request; report how it ended with
    /// [`crate::Input::Response`] carrying `request_id`.
    Send {
        /// Names the request for its outcome.
        request_id: RequestId,
        /// What to send.
        request: Request,
    },
    /// Deliver [`crate::Input::TimerDue`] at `at` (replaces any earlier
    /// wake-up). Keep the 1-minute fallback alarm as well.
    WakeAt {
        /// When.
        at: UnixMillis,
    },
    /// The engine needs no wake-up any more (the fallback alarm stays).
    CancelWake,
    /// Something the UI may want to show.
    Event {
        /// The event.
        event: UiEvent,
    },
    /// The popup's snapshot changed; here it is.
    StatusChanged {
        /// The new snapshot (live seconds as of the input's `now`).
        view: Box<SyncView>,
    },
}

/// The HTTP method of a [`Request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET`.
    Get,
    /// `PUT`.
    Put,
    /// `POST`.
    Post,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
        }
    }
}

/// One request of the v1 contract, without base URL or credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// Path and query, e.g. `/api/v1/sessions/batch`.
    pub path: String,
    /// JSON body (`Content-Type: application/json`), if any.
    pub body: Option<String>,
}

/// Events for the UI (popup, badge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum UiEvent {
    /// A sync run sent its first request.
    SyncStarted,
    /// A sync run ended with nothing left it could send.
    SyncCompleted {
        /// Sessions the server acknowledged during the run.
        delivered: usize,
        /// Sessions the server refused for good during the run.
        rejected: usize,
    },
    /// A request of the run failed; the queue keeps the items.
    SyncError {
        /// What went wrong, in plain words.
        message: String,
    },
    /// The queue or the failed list changed.
    QueueUpdated {
        /// Items waiting for the server.
        pending: usize,
        /// Items in the failed list.
        failed: usize,
    },
    /// A session started, changed visibility, was checkpointed or ended.
    SessionUpdated {
        /// Its pull request.
        pr: PrRef,
        /// Active seconds so far.
        active_seconds: u32,
        /// Active or ended.
        state: SessionState,
    },
    /// The answer to [`crate::Command::SyncNow`].
    SyncNow {
        /// Started, queued behind the running sync, or refused.
        reply: SyncNowReply,
    },
}

/// How "Sync now" was handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum SyncNowReply {
    /// A sync started.
    Started,
    /// A sync is running; one more will follow it.
    Queued {
        /// Why it did not start at once.
        reason: String,
    },
    /// Not now.
    Refused {
        /// Why.
        reason: String,
        /// When it may be asked again, if that is a matter of time.
        retry_at: Option<UnixMillis>,
    },
}
