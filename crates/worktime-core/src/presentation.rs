//! What the popup and the toolbar badge say, read off the engine's
//! [`SyncView`] and [`SyncNowReply`]: the status line and its priority, the
//! badge, whether "Sync now" may be pressed, and the words for the engine's
//! answer when it is. One place for these rules; the shell and the popup
//! only render them.
//!
//! Two facts come from the shell, which alone knows them: whether a server
//! and token are saved (`configured`), and whether the browser's storage is
//! refusing writes (`storage_failing`).

use crate::output::SyncNowReply;
use crate::status::{Status, SyncView};
use serde::Serialize;
use worktime_protocol::UnixMillis;

/// The kind of the popup's status line (the popup colours by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// No server and token saved yet.
    NotSetUp,
    /// The token is missing or refused.
    SignedOut,
    /// A request is in flight.
    Syncing,
    /// The network is down.
    Offline,
    /// The server's address does not answer as the API.
    ServerProblem,
    /// Items the server refused wait for the user.
    Failed,
    /// Items wait to be sent.
    Pending,
    /// Everything reached the server.
    Synced,
}

/// The popup's one status line: what kind, and its exact words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusLine {
    /// What kind of line it is.
    pub kind: LineKind,
    /// `Not set up`, `Synced`, `Syncing…`, `N pending`, `Offline`,
    /// `Signed out`, `Server problem`, `N failed`.
    pub line: String,
}

/// The toolbar badge: text and background colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    /// `!`, the pending count, or empty.
    pub text: String,
    /// CSS colour.
    pub color: &'static str,
}

/// Whether the "Sync now" button may be pressed, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncNowGate {
    /// The button may be pressed: the engine will start a sync, queue one
    /// behind the running sync, or answer with the cooldown's seconds left.
    pub allowed: bool,
    /// Why not, in plain words.
    pub reason: Option<String>,
}

const RED: &str = "#cf222e";
const BLUE: &str = "#0969da";

impl SyncView {
    /// Whether the token is missing or the server refused it.
    fn refused(&self) -> bool {
        self.status == Status::SignedOut || !self.signed_in
    }

    /// The status line. Before a server is saved the extension is not set
    /// up (nothing refused anything yet). Then signed out outranks
    /// everything (nothing moves until the user acts), then a running sync,
    /// then offline, then a server problem (sync is paused), then failed
    /// items (they need the user), then pending ones.
    pub fn status_line(&self, configured: bool) -> StatusLine {
        let (kind, line) = if !configured {
            (LineKind::NotSetUp, "Not set up".to_owned())
        } else if self.refused() {
            (LineKind::SignedOut, "Signed out".to_owned())
        } else if self.status == Status::Syncing {
            (LineKind::Syncing, "Syncing…".to_owned())
        } else if self.status == Status::Offline {
            (LineKind::Offline, "Offline".to_owned())
        } else if self.status == Status::ServerProblem {
            (LineKind::ServerProblem, "Server problem".to_owned())
        } else if !self.failed.is_empty() {
            (LineKind::Failed, format!("{} failed", self.failed.len()))
        } else if self.pending > 0 {
            (LineKind::Pending, format!("{} pending", self.pending))
        } else {
            (LineKind::Synced, "Synced".to_owned())
        };
        StatusLine { kind, line }
    }

    /// `!` (red) when something failed, a server refused the token, the
    /// server's address does not answer as the API or storage is refusing
    /// writes (the user should know before closing the browser), else the
    /// pending count (blue), else nothing. Before a server is saved nobody
    /// refused anything: no `!` for that.
    pub fn badge(&self, configured: bool, storage_failing: bool) -> Badge {
        let refused = configured && self.refused();
        let text = if storage_failing
            || self.server_problem.is_some()
            || !self.failed.is_empty()
            || refused
        {
            return Badge {
                text: "!".into(),
                color: RED,
            };
        } else if self.pending > 999 {
            "999+".to_owned()
        } else if self.pending > 0 {
            self.pending.to_string()
        } else {
            String::new()
        };
        Badge { text, color: BLUE }
    }

    /// The Sync-now button, by the same rule the engine answers
    /// [`crate::Command::SyncNow`] with: refused without a server or token;
    /// otherwise pressable — during a sync the engine queues one more, during
    /// the cooldown it answers with the seconds left.
    pub fn sync_now_gate(&self, configured: bool) -> SyncNowGate {
        let refuse = |reason: &str| SyncNowGate {
            allowed: false,
            reason: Some(reason.to_owned()),
        };
        if !configured {
            refuse("Set the server and token in Options first")
        } else if self.refused() {
            refuse("Signed out: enter a new API token in Options")
        } else {
            SyncNowGate {
                allowed: true,
                reason: None,
            }
        }
    }
}

impl SyncNowReply {
    /// The popup's words for this answer at `now`: nothing for a started
    /// sync (the status line says `Syncing…`), that the request is queued
    /// behind a running sync, or the cooldown with the seconds left.
    pub fn words(&self, now: UnixMillis) -> Option<String> {
        match self {
            SyncNowReply::Started => None,
            SyncNowReply::Queued { .. } => {
                Some("Sync already in progress — your request is queued".to_owned())
            }
            SyncNowReply::Refused {
                retry_at: Some(at), ..
            } => {
                let seconds = ((at.0 - now.0).max(0) + 999) / 1000;
                let seconds = seconds.max(1);
                Some(format!("Synced a moment ago — try again in {seconds} s"))
            }
            SyncNowReply::Refused {
                reason,
                retry_at: None,
            } => Some(capitalized(reason)),
        }
    }
}

/// `text` with its first letter in upper case (the engine's reasons are
/// ASCII sentences in lower case).
fn capitalized(text: &str) -> String {
    let mut text = text.to_owned();
    if let Some(first) = text.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{FailedItem, ServerProblem};
    use worktime_protocol::{LocalId, PrRef};

    const NOW: UnixMillis = UnixMillis(1_795_300_000_000);

    fn idle() -> SyncView {
        SyncView {
            at: NOW,
            status: Status::Idle,
            pending: 0,
            in_flight: 0,
            parked: 0,
            unavailable_since: None,
            failed: vec![],
            evictions: 0,
            last_attempted: None,
            last_successful: Some(UnixMillis(NOW.0 - 10_000)),
            last_error: None,
            server_problem: None,
            next_retry: None,
            signed_in: true,
            online: true,
            sync_now_cooldown_until: None,
            current: None,
            today_seconds: 0,
        }
    }

    fn failed_item() -> FailedItem {
        FailedItem {
            local_id: LocalId::parse("abc").expect("an id"),
            pr: PrRef::new("octo", "hello", 3).expect("a PR"),
            active_seconds: 10,
            reason: "pr_number: bad".into(),
            attempts: 1,
            failed_at: NOW,
        }
    }

    fn line(v: &SyncView) -> (LineKind, String) {
        let l = v.status_line(true);
        (l.kind, l.line)
    }

    #[test]
    fn the_status_line_uses_the_exact_words_in_priority_order() {
        let mut v = idle();
        assert_eq!(line(&v), (LineKind::Synced, "Synced".into()));
        v.pending = 3;
        assert_eq!(line(&v), (LineKind::Pending, "3 pending".into()));
        v.status = Status::Error;
        assert_eq!(line(&v).1, "3 pending");
        v.failed = vec![failed_item(), failed_item()];
        assert_eq!(line(&v), (LineKind::Failed, "2 failed".into()));
        v.status = Status::ServerProblem;
        assert_eq!(line(&v), (LineKind::ServerProblem, "Server problem".into()));
        v.status = Status::Offline;
        assert_eq!(line(&v), (LineKind::Offline, "Offline".into()));
        v.status = Status::Syncing;
        assert_eq!(line(&v), (LineKind::Syncing, "Syncing…".into()));
        v.status = Status::SignedOut;
        assert_eq!(line(&v), (LineKind::SignedOut, "Signed out".into()));
        assert_eq!(v.status_line(false).kind, LineKind::NotSetUp);
    }

    #[test]
    fn the_badge_shows_pending_count_or_a_bang_when_the_user_must_act() {
        let mut v = idle();
        assert_eq!(v.badge(true, false).text, "");
        v.pending = 4;
        assert_eq!(
            v.badge(true, false),
            Badge {
                text: "4".into(),
                color: BLUE
            }
        );
        v.pending = 1000;
        assert_eq!(v.badge(true, false).text, "999+");
        assert_eq!(
            v.badge(true, true),
            Badge {
                text: "!".into(),
                color: RED
            }
        );
        v.failed = vec![failed_item()];
        assert_eq!(v.badge(true, false).text, "!");
        v.failed.clear();
        v.server_problem = Some(ServerProblem {
            status: 404,
            detail: "HTML".into(),
            request: "POST /api/v1/sessions/batch".into(),
            since: NOW,
        });
        assert_eq!(v.badge(true, false).text, "!");
        v.server_problem = None;
        v.signed_in = false;
        assert_eq!(v.badge(true, false).text, "!");
        assert_eq!(v.badge(false, false).text, "999+", "not set up: no bang");
    }

    #[test]
    fn sync_now_may_be_pressed_during_a_sync_and_the_cooldown_and_the_engine_answers() {
        let mut v = idle();
        assert!(v.sync_now_gate(true).allowed);
        assert!(!v.sync_now_gate(false).allowed);
        v.status = Status::Syncing;
        assert_eq!(
            v.sync_now_gate(true),
            SyncNowGate {
                allowed: true,
                reason: None
            },
            "the engine queues one more"
        );
        v.status = Status::Idle;
        v.sync_now_cooldown_until = Some(UnixMillis(NOW.0 + 4_000));
        assert!(
            v.sync_now_gate(true).allowed,
            "the engine says how long to wait"
        );
        v.signed_in = false;
        let gate = v.sync_now_gate(true);
        assert!(!gate.allowed);
        assert!(gate.reason.is_some_and(|r| r.contains("Signed out")));
    }

    #[test]
    fn the_engines_answers_in_the_popups_words() {
        assert_eq!(SyncNowReply::Started.words(NOW), None);
        assert_eq!(
            SyncNowReply::Queued {
                reason: "a sync is running".into()
            }
            .words(NOW)
            .as_deref(),
            Some("Sync already in progress — your request is queued")
        );
        let cooldown = SyncNowReply::Refused {
            reason: "synced a moment ago".into(),
            retry_at: Some(UnixMillis(NOW.0 + 3_200)),
        };
        assert_eq!(
            cooldown.words(NOW).as_deref(),
            Some("Synced a moment ago — try again in 4 s")
        );
        assert_eq!(
            cooldown.words(UnixMillis(NOW.0 + 3_199)).as_deref(),
            Some("Synced a moment ago — try again in 1 s")
        );
        let signed_out = SyncNowReply::Refused {
            reason: "signed out: set an API token in the options".into(),
            retry_at: None,
        };
        assert_eq!(
            signed_out.words(NOW).as_deref(),
            Some("Signed out: set an API token in the options")
        );
    }
}
