//! What the popup and the toolbar badge show, derived from the engine's
//! [`SyncView`]: the status line's words, the badge, and whether "Sync now"
//! may be pressed and why not. Presentation only; every decision it reflects
//! was made by the engine.

use serde::Serialize;
use worktime_core::status::{Status, SyncView};
use worktime_protocol::UnixMillis;

/// The popup's one status line: what kind, and its exact words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusLine {
    /// `not_set_up`, `synced`, `syncing`, `pending`, `offline`, `signed_out`,
    /// `server_problem` or `failed` (the popup colours by it).
    pub kind: &'static str,
    /// `Not set up`, `Synced`, `Syncing…`, `N pending`, `Offline`,
    /// `Signed out`, `Server problem`, `N failed`.
    pub line: String,
}

/// The status line for `view`, given whether a server and token are saved.
/// Before they are, the extension is not set up (nothing refused anything
/// yet). Then signed out outranks everything (nothing can move until the
/// user acts), then a running sync, then offline, then a server problem
/// (sync is paused), then failed items (they need the user), then pending
/// ones.
pub fn status_line(view: &SyncView, configured: bool) -> StatusLine {
    let (kind, line) = if !configured {
        ("not_set_up", "Not set up".to_owned())
    } else if view.status == Status::SignedOut || !view.signed_in {
        ("signed_out", "Signed out".to_owned())
    } else if view.status == Status::Syncing {
        ("syncing", "Syncing…".to_owned())
    } else if view.status == Status::Offline {
        ("offline", "Offline".to_owned())
    } else if view.status == Status::ServerProblem {
        ("server_problem", "Server problem".to_owned())
    } else if !view.failed.is_empty() {
        ("failed", format!("{} failed", view.failed.len()))
    } else if view.pending > 0 {
        ("pending", format!("{} pending", view.pending))
    } else {
        ("synced", "Synced".to_owned())
    };
    StatusLine { kind, line }
}

/// The toolbar badge: text and background colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    /// `!`, the pending count, or empty.
    pub text: String,
    /// CSS colour.
    pub color: &'static str,
}

/// `!` (red) when something failed, a server refused the token, the
/// server's address does not answer as the API (a server problem) or storage
/// is refusing writes (the user should know before closing the browser),
/// else the pending count (blue), else nothing. Before a server is set
/// nobody refused anything: no `!` for that.
pub fn badge(view: &SyncView, configured: bool, storage_failing: bool) -> Badge {
    let refused = configured && (view.status == Status::SignedOut || !view.signed_in);
    if storage_failing || view.server_problem.is_some() || !view.failed.is_empty() || refused {
        Badge {
            text: "!".into(),
            color: "#cf222e",
        }
    } else if view.pending > 0 {
        Badge {
            text: if view.pending > 999 {
                "999+".into()
            } else {
                view.pending.to_string()
            },
            color: "#0969da",
        }
    } else {
        Badge {
            text: String::new(),
            color: "#0969da",
        }
    }
}

/// Whether the "Sync now" button is enabled, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncNowGate {
    /// The button may be pressed (the popup also waits out `ready_at`).
    pub allowed: bool,
    /// Why not, in plain words.
    pub reason: Option<String>,
    /// The end of the cooldown, for the popup's countdown.
    pub ready_at: Option<i64>,
}

/// The Sync-now gate for `view` at `now`, given whether a server is configured.
pub fn sync_now_gate(view: &SyncView, configured: bool, now: UnixMillis) -> SyncNowGate {
    let refuse = |reason: &str| SyncNowGate {
        allowed: false,
        reason: Some(reason.to_owned()),
        ready_at: None,
    };
    if !configured {
        return refuse("Set the server and token in Options first");
    }
    if view.status == Status::SignedOut || !view.signed_in {
        return refuse("Signed out: enter a new API token in Options");
    }
    if view.status == Status::Syncing {
        return refuse("A sync is running");
    }
    match view.sync_now_cooldown_until {
        Some(until) if until > now => SyncNowGate {
            allowed: true,
            reason: Some("Just synced; wait a moment".to_owned()),
            ready_at: Some(until.0),
        },
        _ => SyncNowGate {
            allowed: true,
            reason: None,
            ready_at: None,
        },
    }
}

/// One failed item as the popup lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedRow {
    /// The session's id (for Retry/Discard).
    pub id: String,
    /// `owner/repo#n`.
    pub pr: String,
    /// The server's reason.
    pub error: String,
    /// How many times it was sent.
    pub attempts: u32,
}

/// The review being timed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrentRow {
    /// `owner/repo#n`.
    pub pr: String,
    /// Active seconds as of `now`.
    pub active_seconds: u32,
    /// When the popup's own ticking starts from (`now`) while time runs.
    pub counting_since: Option<i64>,
}

/// Everything the popup renders (`popup.js` reads these fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PopupView {
    /// The worker's clock when this was made.
    pub now: i64,
    /// Whether a server URL and token are saved.
    pub configured: bool,
    /// The status line.
    pub status: StatusLine,
    /// The review being timed.
    pub current: Option<CurrentRow>,
    /// Today's total, in seconds, as of `now`.
    pub today_seconds: u64,
    /// When the server last answered with success.
    pub last_synced_at: Option<i64>,
    /// When the next automatic retry is due.
    pub next_retry_at: Option<i64>,
    /// The last error, in plain words.
    pub last_error: Option<String>,
    /// The Sync-now button.
    pub sync_now: SyncNowGate,
    /// The failed list.
    pub failed: Vec<FailedRow>,
    /// Failed items dropped because the list was full.
    pub failed_dropped: u64,
    /// Stored records set aside because they could not be read.
    pub quarantined: u32,
    /// Why IndexedDB refuses writes, while changes wait in
    /// `chrome.storage.local` (and memory).
    pub storage_error: Option<String>,
    /// While `chrome.storage.local` refuses them too: how many ended
    /// reviews are held in memory only (lost if the browser closes now).
    pub storage_at_risk: Option<usize>,
    /// While sync is paused for a server problem: what the server's address
    /// answered and what to check, in plain words.
    pub server_problem: Option<String>,
}

/// The popup's words for a server problem: what was answered to what, at
/// which address, what to check, and that nothing is lost.
pub fn server_problem_text(view: &SyncView, server_url: Option<&str>) -> Option<String> {
    let p = view.server_problem.as_ref()?;
    let at = server_url.map_or_else(String::new, |u| format!(" at {u}"));
    let waiting = match view.pending {
        1 => "1 review waits".to_owned(),
        n => format!("{n} reviews wait"),
    };
    Some(format!(
        "The server{at} answered {} (to {}) instead of the WorkTime API. Check the server URL \
         in Options, including any path prefix, and any proxy in front of the server. \
         Sync is paused and nothing is lost: {waiting}, and sync resumes by itself once the \
         server answers properly.",
        p.detail, p.request
    ))
}

/// Builds the popup's view (`server_url` is the configured server, if any).
pub fn popup_view(
    view: &SyncView,
    server_url: Option<&str>,
    quarantined: u32,
    storage_error: Option<String>,
    storage_at_risk: Option<usize>,
    now: UnixMillis,
) -> PopupView {
    let configured = server_url.is_some();
    PopupView {
        server_problem: server_problem_text(view, server_url),
        now: now.0,
        configured,
        status: status_line(view, configured),
        current: view.current.as_ref().map(|c| CurrentRow {
            pr: c.pr.to_string(),
            active_seconds: c.active_seconds,
            counting_since: c.running.then_some(view.at.0),
        }),
        today_seconds: view.today_seconds,
        last_synced_at: view.last_successful.map(|t| t.0),
        next_retry_at: view.next_retry.map(|t| t.0),
        last_error: view.last_error.clone(),
        sync_now: sync_now_gate(view, configured, now),
        failed: view
            .failed
            .iter()
            .map(|f| FailedRow {
                id: f.local_id.to_string(),
                pr: f.pr.to_string(),
                error: f.reason.clone(),
                attempts: f.attempts,
            })
            .collect(),
        failed_dropped: view.evictions,
        quarantined,
        storage_error,
        storage_at_risk,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use worktime_core::status::{CurrentReview, FailedItem, ServerProblem};
    use worktime_protocol::{LocalId, PrRef};

    const NOW: UnixMillis = UnixMillis(1_795_300_000_000);
    const URL: &str = "https://wt.example.com";

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
            local_id: LocalId::parse("abc").unwrap(),
            pr: PrRef::new("octo", "hello", 3).unwrap(),
            active_seconds: 10,
            reason: "pr_number: bad".into(),
            attempts: 1,
            failed_at: NOW,
        }
    }

    #[test]
    fn the_status_line_uses_the_exact_words_of_the_spec() {
        let mut v = idle();
        assert_eq!(status_line(&v, true).line, "Synced");
        v.pending = 3;
        assert_eq!(status_line(&v, true).line, "3 pending");
        v.status = Status::Error;
        assert_eq!(status_line(&v, true).line, "3 pending");
        v.status = Status::Syncing;
        assert_eq!(status_line(&v, true).line, "Syncing…");
        v.status = Status::Offline;
        assert_eq!(status_line(&v, true).line, "Offline");
        v.status = Status::Idle;
        v.failed = vec![failed_item(), failed_item()];
        assert_eq!(status_line(&v, true).line, "2 failed");
        v.status = Status::SignedOut;
        assert_eq!(status_line(&v, true).line, "Signed out");
        assert_eq!(status_line(&v, true).kind, "signed_out");
    }

    #[test]
    fn a_server_problem_says_what_was_answered_where_and_what_to_check() {
        let mut v = idle();
        v.pending = 3;
        v.status = Status::ServerProblem;
        v.server_problem = Some(ServerProblem {
            status: 404,
            detail: "HTTP 404 with an HTML page, not the WorkTime API".into(),
            request: "POST /api/v1/sessions/batch".into(),
            since: NOW,
        });
        let line = status_line(&v, true);
        assert_eq!(
            (line.kind, line.line.as_str()),
            ("server_problem", "Server problem")
        );
        assert_eq!(badge(&v, true, false).text, "!");
        let popup = popup_view(&v, Some(URL), 0, None, None, NOW);
        let text = popup.server_problem.unwrap();
        for part in [
            "https://wt.example.com",
            "HTTP 404 with an HTML page",
            "POST /api/v1/sessions/batch",
            "Check the server URL",
            "path prefix",
            "nothing is lost: 3 reviews wait",
        ] {
            assert!(text.contains(part), "{part:?} missing from {text:?}");
        }
        // Offline and signed out outrank it; it outranks failed items.
        v.failed = vec![failed_item()];
        assert_eq!(status_line(&v, true).kind, "server_problem");
        v.status = Status::Offline;
        assert_eq!(status_line(&v, true).kind, "offline");
        v.server_problem = None;
        assert_eq!(
            popup_view(&v, Some(URL), 0, None, None, NOW).server_problem,
            None
        );
    }

    #[test]
    fn the_badge_shows_pending_count_or_a_bang_when_the_user_must_act() {
        let mut v = idle();
        assert_eq!(badge(&v, true, false).text, "");
        v.pending = 4;
        assert_eq!(badge(&v, true, false).text, "4");
        assert_eq!(badge(&v, true, true).text, "!", "storage refusing writes");
        v.failed = vec![failed_item()];
        assert_eq!(badge(&v, true, false).text, "!");
        v.failed.clear();
        v.signed_in = false;
        assert_eq!(badge(&v, true, false).text, "!");
    }

    #[test]
    fn before_a_server_is_set_the_popup_says_not_set_up_and_the_badge_stays_calm() {
        let mut v = idle();
        v.signed_in = false; // the engine has no token yet
        v.status = Status::SignedOut;
        let line = status_line(&v, false);
        assert_eq!(
            (line.kind, line.line.as_str()),
            ("not_set_up", "Not set up")
        );
        assert_eq!(badge(&v, false, false).text, "");
        v.pending = 2;
        assert_eq!(badge(&v, false, false).text, "2", "reviews kept for later");
        assert_eq!(badge(&v, false, true).text, "!", "storage refusing writes");
        assert_eq!(
            status_line(&v, true).line,
            "Signed out",
            "once a server is set"
        );
        assert_eq!(badge(&v, true, false).text, "!");
    }

    #[test]
    fn sync_now_is_refused_with_a_reason_while_syncing_signed_out_or_unconfigured() {
        let mut v = idle();
        assert_eq!(sync_now_gate(&v, true, NOW).reason, None);
        assert!(!sync_now_gate(&v, false, NOW).allowed);
        v.status = Status::Syncing;
        let gate = sync_now_gate(&v, true, NOW);
        assert!(!gate.allowed);
        assert_eq!(gate.reason.as_deref(), Some("A sync is running"));
        v.status = Status::Idle;
        v.sync_now_cooldown_until = Some(UnixMillis(NOW.0 + 4_000));
        let gate = sync_now_gate(&v, true, NOW);
        assert_eq!(gate.ready_at, Some(NOW.0 + 4_000));
        assert!(gate.reason.is_some());
        assert_eq!(
            sync_now_gate(&v, true, UnixMillis(NOW.0 + 4_000)).reason,
            None
        );
    }

    #[test]
    fn the_popup_view_ticks_from_the_snapshot_only_while_time_runs() {
        let mut v = idle();
        v.current = Some(CurrentReview {
            local_id: LocalId::parse("s1").unwrap(),
            pr: PrRef::new("octo", "hello", 7).unwrap(),
            started_at: UnixMillis(NOW.0 - 5_000),
            active_seconds: 5,
            running: true,
        });
        let popup = popup_view(&v, Some(URL), 0, None, None, NOW);
        let current = popup.current.unwrap();
        assert_eq!(current.pr, "octo/hello#7");
        assert_eq!(current.counting_since, Some(NOW.0));
        if let Some(c) = v.current.as_mut() {
            c.running = false;
        }
        assert_eq!(
            popup_view(&v, Some(URL), 0, None, None, NOW)
                .current
                .unwrap()
                .counting_since,
            None
        );
    }
}
