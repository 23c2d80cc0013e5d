//! What the popup renders, assembled from the engine's [`SyncView`]: the
//! status line, the Sync-now gate and the badge come from the engine
//! (`worktime_core::presentation`); this module converts them, with the
//! shell's own facts (settings saved, storage refusing, records set aside),
//! into the one object `popup.js` reads.

use serde::Serialize;
use worktime_core::presentation::{StatusLine, SyncNowGate};
use worktime_core::status::SyncView;
use worktime_protocol::UnixMillis;

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
        status: view.status_line(configured),
        current: view.current.as_ref().map(|c| CurrentRow {
            pr: c.pr.to_string(),
            active_seconds: c.active_seconds,
            counting_since: c.running.then_some(view.at.0),
        }),
        today_seconds: view.today_seconds,
        last_synced_at: view.last_successful.map(|t| t.0),
        next_retry_at: view.next_retry.map(|t| t.0),
        last_error: view.last_error.clone(),
        sync_now: view.sync_now_gate(configured),
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
    use worktime_core::status::{CurrentReview, ServerProblem, Status};
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
        assert_eq!(popup.status.line, "Server problem", "the engine's line");
        v.server_problem = None;
        assert_eq!(
            popup_view(&v, Some(URL), 0, None, None, NOW).server_problem,
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
