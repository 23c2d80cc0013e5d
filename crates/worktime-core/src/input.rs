//! Everything that can happen to the engine, as one enum. Every input carries
//! `now`, the wall-clock time the shell read when it happened: the engine
//! reads no clock of its own.

use crate::ids::{DocId, RequestId, TabId};
use crate::outcome::HttpOutcome;
use crate::store::StoredState;
use serde::{Deserialize, Serialize};
use worktime_protocol::{LocalId, PrRef, UnixMillis};

/// One thing that happened, for [`crate::Engine::handle`].
// `Started` carries all of storage and comes once per worker: its size
// costs nothing worth boxing it (and changing every caller) for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Input {
    /// The worker started and loaded storage. Must be the first input of an
    /// engine; inputs before it are ignored.
    Started {
        /// Current time.
        now: UnixMillis,
        /// Everything decoded from storage (undecodable records left out).
        stored: StoredState,
        /// The tabs that exist now (`chrome.tabs.query({})`); sessions whose
        /// tabs are all gone end at their last checkpoint. Empty on the
        /// first start of a browser run: Chrome reuses tab ids after a
        /// restart, so stored ids name other tabs.
        open_tabs: Vec<TabId>,
        /// The first start of a browser run: the browser was down since the
        /// last checkpoint (closed, crashed, the machine off), so a session
        /// whose tabs are gone ends at its checkpoint with none of that time,
        /// unlike a tab closed while only the worker was stopped.
        #[serde(default)]
        new_browser_run: bool,
        /// Whether an API token is configured (the engine never sees it).
        has_token: bool,
        /// `navigator.onLine`: a hint, not a promise.
        online: bool,
        /// 128 random bits (`crypto.getRandomValues`): the only source of
        /// local ids and jitter.
        entropy: u128,
        /// Minutes east of UTC (`-new Date().getTimezoneOffset()`), for
        /// "today".
        utc_offset_minutes: i32,
    },
    /// A pull-request page reported in (content script).
    Page {
        /// Current time.
        now: UnixMillis,
        /// The tab the page is in.
        tab: TabId,
        /// The pull request the page shows.
        pr: PrRef,
        /// What happened.
        event: PageEvent,
        /// The showing of the page that reports (see [`DocId`]). A report
        /// from a showing the tab has moved on from is ignored.
        #[serde(default)]
        doc: DocId,
        /// Counts the reports of one showing (content.js: 1, 2, 3, …). A
        /// report whose `seq` is not above the last one seen from its
        /// showing was duplicated or overtaken and is ignored.
        seq: u64,
    },
    /// The tab now shows a page that is no pull request: another GitHub page
    /// (the content script's report, with its `doc` and `seq`) or a page the
    /// extension may not see (`chrome.tabs.onUpdated`, with no report). The
    /// tab leaves its PR's session at once; it is not retired, and is timed
    /// again on the next PR it shows.
    LeftPullRequest {
        /// Current time.
        now: UnixMillis,
        /// The tab.
        tab: TabId,
        /// The content script's showing and report number, when it sent
        /// this; `None` when the browser did.
        report: Option<(DocId, u64)>,
    },
    /// `chrome.tabs.onRemoved`: the tab is gone, whatever its page said. The
    /// only input that retires a tab id: later reports from it are ignored.
    TabRemoved {
        /// Current time.
        now: UnixMillis,
        /// The tab.
        tab: TabId,
    },
    /// `chrome.idle.onStateChanged`: idle or locked stops active time.
    UserIdle {
        /// Current time.
        now: UnixMillis,
        /// True for `idle` and `locked`, false for `active`.
        idle: bool,
        /// For `idle`: the user's last input, `now` minus the detection
        /// threshold. Active time stops there, not when idle was detected.
        /// `None` stops it at `now` (`locked`, `active`).
        #[serde(default)]
        last_input: Option<UnixMillis>,
    },
    /// `online` / `offline` events: a hint about the network.
    Network {
        /// Current time.
        now: UnixMillis,
        /// Whether the browser thinks it is online.
        online: bool,
    },
    /// The 1-minute fallback alarm (`chrome.alarms`) fired.
    AlarmFired {
        /// Current time.
        now: UnixMillis,
    },
    /// The wake-up the engine asked for ([`crate::Output::WakeAt`]) is due.
    /// Early, late or spurious wake-ups are harmless.
    TimerDue {
        /// Current time.
        now: UnixMillis,
    },
    /// How a request the engine asked for ended.
    Response {
        /// Current time.
        now: UnixMillis,
        /// The id from [`crate::Output::Send`].
        request_id: RequestId,
        /// What happened, as data.
        outcome: HttpOutcome,
    },
    /// Something the user asked for (popup or options page).
    Command {
        /// Current time.
        now: UnixMillis,
        /// The command.
        command: Command,
    },
    /// An answer from the server carried a `Date` header: the server's
    /// clock (deliver it before that answer's [`Input::Response`]).
    ServerClock {
        /// Current time (when the answer arrived).
        now: UnixMillis,
        /// The `Date` header's time.
        server_date: UnixMillis,
    },
}

impl Input {
    /// The time the input carries.
    pub fn now(&self) -> UnixMillis {
        match self {
            Input::Started { now, .. }
            | Input::Page { now, .. }
            | Input::LeftPullRequest { now, .. }
            | Input::TabRemoved { now, .. }
            | Input::UserIdle { now, .. }
            | Input::Network { now, .. }
            | Input::AlarmFired { now }
            | Input::TimerDue { now }
            | Input::Response { now, .. }
            | Input::Command { now, .. }
            | Input::ServerClock { now, .. } => *now,
        }
    }
}

/// What a pull-request page reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageEvent {
    /// The page is (or became) visible: the tab joins the PR's session
    /// (starting one if needed) and active time runs.
    Visible,
    /// The page is (or became) hidden: the tab stays in the session, active
    /// time stops unless another tab on the PR is visible. A hidden page
    /// starts no session (a PR opened in a background tab and closed unseen
    /// is not a review).
    Hidden,
    /// `pagehide`: the page is going away (closed, reloaded, navigated).
    /// The tab stays in the session for a short grace
    /// ([`crate::tracker::LEAVE_GRACE`]) with its clock stopped: the same PR
    /// shown again in the tab within it (reload, back/forward) continues the
    /// session; otherwise the tab leaves it when the grace ends, as of the
    /// moment it left.
    Closed,
}

/// Commands from the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// "Sync now": push everything pending (parked items too), then pull.
    /// Answered with [`crate::UiEvent::SyncNow`].
    SyncNow,
    /// Put one failed item back in the queue with fresh attempts.
    RetryFailed {
        /// The failed item.
        local_id: LocalId,
    },
    /// Put every failed item back in the queue.
    RetryAllFailed,
    /// Drop one failed item for good.
    DiscardFailed {
        /// The failed item.
        local_id: LocalId,
    },
    /// A new API token was saved: resume a paused sync.
    TokenSet,
    /// The token was removed: stop syncing, keep queueing.
    TokenCleared,
    /// The popup opened: pull today's totals if the last pull is older than
    /// 15 minutes.
    PopupOpened,
}
