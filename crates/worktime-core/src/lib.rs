//! The WorkTime Sync engine: a sans-IO state machine that times pull-request
//! reviews and gets every session to the server — write-ahead, retried with
//! backoff, never counted twice — without touching a clock, a socket, storage
//! or a random source itself.
//!
//! The same engine runs natively in `cargo test` (and in the deterministic
//! simulator, `worktime-sim`) and in the browser, inside the wasm shell that
//! carries out its decisions. Modelled on quinn-proto and str0m.
//!
//! # Inputs and outputs
//!
//! Everything that happens is one [`Input`], and every input carries `now`,
//! the wall-clock time (Unix milliseconds) the shell read when it happened:
//! page visible/hidden/closed, tab left its PR, tab removed, user idle,
//! network hints, the fallback alarm, the engine's own wake-up, the outcome
//! of a request, and the user's commands. Randomness comes in once, as 128 bits in
//! [`Input::Started`]; every local id and jitter value derives from it.
//!
//! Everything the shell must do is one [`Output`]:
//! - [`Output::Persist`]: writes to apply as **one atomic transaction**
//!   (stores map 1:1 to IndexedDB object stores, see [`store`]);
//! - [`Output::Send`]: an HTTP request of the v1 contract — method, path and
//!   JSON body. The shell adds the base URL and the `Authorization` header:
//!   the engine never sees the token, only whether one is configured. The
//!   outcome comes back as [`Input::Response`] with the same
//!   [`RequestId`]; build it with [`HttpOutcome::from_response`] (or pass
//!   [`HttpOutcome::NetworkError`] / [`HttpOutcome::Timeout`]). Outcomes for
//!   ids the engine does not wait for are ignored;
//! - [`Output::WakeAt`] / [`Output::CancelWake`]: the next timer. The shell
//!   also keeps a 1-minute fallback alarm ([`Input::AlarmFired`]), because a
//!   killed worker loses its timers;
//! - [`Output::Event`]: UI events ([`UiEvent`]): sync started, completed or
//!   failed, queue updated, session updated, the answer to "Sync now";
//! - [`Output::StatusChanged`]: a new [`SyncView`] for the popup (also
//!   available any time from [`Engine::view`]).
//!
//! # The drain rule
//!
//! After **every** [`Engine::handle`], call [`Engine::poll_output`] until it
//! returns `None`, and carry the outputs out **in order**. A
//! [`Output::Persist`] must have committed before any output after it is
//! carried out (write-ahead: a session is durable before it is sent, and an
//! item is deleted only after the server acknowledged it). If the worker dies
//! anywhere in between, restart from storage: the engine is built so that
//! any prefix of committed persists is a consistent state.
//!
//! Start with [`Input::Started`] carrying everything decoded from storage
//! ([`StoredState`]; records that failed to decode are the shell's to
//! quarantine and never reach the engine); inputs before it are ignored.
//! Right after it, send [`Input::UserIdle`] with `chrome.idle`'s current
//! state (the engine restores the last one it stored, which may be stale).
//!
//! # What the shell must deliver at least once
//!
//! A worker can die while it handles an input, before the input's writes are
//! committed; that input is then lost. Browser events (`tabs.onRemoved`,
//! `idle.onStateChanged`, `online`) are recovered from the state the shell
//! passes at start (`open_tabs`, the idle query, `online`). Messages whose
//! sender waits for an answer — page reports from the content script,
//! commands from the popup and options page — must be **answered only after
//! the drain**, and sent again by their sender when no answer comes. That is
//! safe: a page report carries its page showing's `doc` and a `seq` counted
//! within it, and a report whose `seq` is not above the last one stored for
//! its showing (a resend, a duplicate, or one overtaken by a later report),
//! or that comes from a showing its tab has moved on from, changes nothing;
//! commands are idempotent.
//!
//! ```no_run
//! use worktime_core::{Engine, HttpOutcome, Input, Output, StoredState, UnixMillis};
//!
//! # fn now() -> UnixMillis { UnixMillis(0) }
//! # fn load_everything() -> StoredState { StoredState::default() }
//! # fn commit_transaction(_: Vec<worktime_core::Write>) {}
//! # fn start_fetch(_: worktime_core::RequestId, _: worktime_core::Request) {}
//! # fn set_timer(_: UnixMillis) {}
//! # fn clear_timer() {}
//! # fn notify_ui<T>(_: T) {}
//! # fn next_browser_event() -> Input { Input::TimerDue { now: now() } }
//! let mut engine = Engine::new();
//! engine.handle(Input::Started {
//!     now: now(),
//!     stored: load_everything(),
//!     open_tabs: vec![],
//!     new_browser_run: false,
//!     has_token: true,
//!     online: true,
//!     entropy: 0x5eed, // crypto.getRandomValues in the browser
//!     utc_offset_minutes: 60,
//! });
//! loop {
//!     // The drain rule: everything, in order, each persist committed first.
//!     while let Some(output) = engine.poll_output() {
//!         match output {
//!             Output::Persist { writes } => commit_transaction(writes), // await it
//!             Output::Send { request_id, request } => start_fetch(request_id, request),
//!             Output::WakeAt { at } => set_timer(at),
//!             Output::CancelWake => clear_timer(),
//!             Output::Event { event } => notify_ui(event),
//!             Output::StatusChanged { view } => notify_ui(view),
//!         }
//!     }
//!     // Page events, tab removals, alarms, timers, and finished fetches
//!     // (`Input::Response { now, request_id, outcome:
//!     // HttpOutcome::from_response(status, retry_after, body, now) }`).
//!     engine.handle(next_browser_event());
//! }
//! ```
//!
//! # What it promises
//!
//! - **Sessions** ([`tracker`]): one per pull request per device (owner and
//!   repository in canonical lower case, see `worktime_protocol::page`),
//!   shared by its tabs; it ends at once when its last tab is removed or
//!   leaves the PR inside the tab (the tab is not retired: it is timed again
//!   on the next PR it shows); a page that goes away (`pagehide`) keeps its
//!   tab in the session for a short grace, so a reload or back/forward
//!   continues it; a page never visible starts none. Active time runs only
//!   while a tab is visible and the user is not idle, checkpointed every
//!   30 s; at start, a session whose tabs are gone ends at its last
//!   checkpoint.
//! - **Queue** ([`queue`](crate::store::QueueEntry)): persisted before sent;
//!   changes to one session compact into its latest state; ended before
//!   started before activity; up to 500 per request (one `PUT` for a single
//!   item, else `POST /api/v1/sessions/batch`). An item stays queued until
//!   the server acknowledges *its revision*; after a restart it is simply
//!   sent again (at least once on the wire, exactly once in effect thanks to
//!   the server's merge).
//! - **Retries** ([`retry`]): backoff 1 s × 2 capped at 30 s, ±25 % jitter;
//!   timeouts, 408, 429 and 5xx retry, `Retry-After` is honoured (≤ 1 h); a
//!   network error while offline costs no attempt; after 5 transient failures
//!   an item is parked (no timers) until the fallback alarm's probe
//!   (`GET /api/v1/me`) or any other exchange succeeds; 401/403 pause sync as
//!   signed out until [`Command::TokenSet`]; the server-wide `Retry-After`
//!   hold is persisted, so a restarted worker honours it too.
//! - **Server problem** ([`Status::ServerProblem`]): any other non-success of
//!   a whole request (404/405/400 naming no field, a redirect, which the
//!   shell must not follow, an HTML page where the API's JSON belongs)
//!   pauses sync with every item kept and no attempt counted; the fallback
//!   alarm probes while something is pending; any success or
//!   [`Command::TokenSet`] resumes.
//! - **Failed list** ([`failed`]): the server's verdict on an *item* only (a
//!   per-item rejection, or a `PUT` refused with the contract's error naming
//!   it: 400 with a field, 422, 413), at most 50, oldest evicted first and
//!   counted.
//! - **Clock** ([`clock`]): timestamps on the wire are moved onto the
//!   server's clock, learnt from its `Date` headers ([`Input::ServerClock`]);
//!   a refusal of our timestamps that the answer's own `Date` explains goes
//!   again at once, corrected; times a local step back left in our future
//!   or out of order are made consistent before a session is queued.
//! - **Coordination** ([`coord`]): one request at a time under a 60 s lease;
//!   triggers meanwhile collapse into one follow-up; "Sync now" has a 5 s
//!   cooldown and is answered "queued" while a sync runs; push before pull;
//!   pulls on popup open at most every 15 minutes.
//! - **Idle**: with nothing pending and nothing visible, no request and no
//!   wake-up at all (the fallback alarm is the shell's).

pub mod clock;
pub mod coord;
pub mod engine;
pub mod failed;
pub mod ids;
pub mod input;
#[cfg(feature = "mutants")]
pub mod mutant;
pub mod outcome;
pub mod output;
pub mod page;
pub mod presentation;
pub mod privacy;
pub mod queue;
pub mod retry;
mod rng;
pub mod status;
pub mod store;
mod timers;
mod today;
pub mod tracker;

pub use engine::{ACTIVITY_INTERVAL, Engine};
pub use ids::{DocId, RequestId, TabId};
pub use input::{Command, Input, PageEvent};
pub use outcome::HttpOutcome;
pub use output::{Method, Output, Request, SyncNowReply, UiEvent};
pub use status::{CurrentReview, FailedItem, ServerProblem, Status, SyncView};
pub use store::{
    FailedEntry, Priority, QueueEntry, Record, SessionRecord, StoreName, StoredState, SyncMeta,
    TabPresence, TodayTotals, Write,
};
pub use worktime_protocol::{DurationMillis, LocalId, PrRef, Session, SessionState, UnixMillis};
