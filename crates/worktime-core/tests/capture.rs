//! What the reviewer really reviewed: a tab is not a page (leaving a PR
//! inside a tab detaches it, only removal retires it), a review survives its
//! page (reload, back/forward within the grace), a page never shown is no
//! review, and report order needs no wall clock. Simulated time throughout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Shell, T0};
use worktime_core::tracker::{INACTIVE_LIMIT, LEAVE_GRACE};
use worktime_core::{DocId, Input, PageEvent, Session, SessionState, TabId, UnixMillis};

/// Every session queued, ended ones only, by PR number.
fn ended(shell: &Shell) -> Vec<Session> {
    let mut out: Vec<Session> = shell
        .store
        .queue
        .iter()
        .map(|e| e.session.clone())
        .filter(Session::is_ended)
        .collect();
    out.sort_by_key(|s| s.pr_number);
    out
}

fn left_pull_request(shell: &mut Shell, tab: i64, report: Option<(u64, u64)>) {
    let now = shell.now;
    shell.handle(Input::LeftPullRequest {
        now,
        tab: TabId(tab),
        report: report.map(|(doc, seq)| (DocId(doc), seq)),
    });
}

#[test]
fn a_reload_within_the_grace_continues_the_same_session() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page_in(1, 1, 7, PageEvent::Visible);
    let id = shell
        .engine
        .running_sessions()
        .next()
        .unwrap()
        .session
        .local_id
        .clone();
    shell.advance(10_000);
    // pagehide, then the reloaded document (a new showing) reports in.
    shell.page_in(1, 1, 7, PageEvent::Closed);
    shell.advance(2_000);
    shell.page_in(1, 2, 7, PageEvent::Visible);
    shell.advance(LEAVE_GRACE.0 + 8_000);
    let running: Vec<_> = shell.engine.running_sessions().collect();
    assert_eq!(running.len(), 1, "the reload started another session");
    assert_eq!(running[0].session.local_id, id, "same session after reload");
    assert!(ended(&shell).is_empty(), "the reload ended the review");
    shell.remove_tab(1);
    let done = ended(&shell);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].local_id, id);
    // 10 s before the reload, 2 s of reload not counted, then 13 s.
    assert_eq!(done[0].active_seconds, 10 + LEAVE_GRACE.0 as u32 / 1000 + 8);
}

#[test]
fn back_forward_to_the_same_pull_request_continues_the_session() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page_in(1, 1, 7, PageEvent::Visible);
    shell.advance(5_000);
    shell.page_in(1, 1, 7, PageEvent::Closed); // back to another site…
    shell.advance(3_000);
    shell.page_in(1, 3, 7, PageEvent::Visible); // …and forward again (bfcache)
    shell.advance(5_000);
    shell.remove_tab(1);
    let done = ended(&shell);
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].active_seconds, 10);
}

#[test]
fn a_page_that_went_away_for_good_ends_its_session_as_of_that_moment() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(20_000);
    shell.page(1, 7, PageEvent::Closed);
    assert!(ended(&shell).is_empty(), "ended within the grace");
    assert_eq!(
        shell.wake,
        Some(UnixMillis(T0 + 20_000) + LEAVE_GRACE),
        "the engine wakes when the grace ends"
    );
    shell.advance(LEAVE_GRACE.0);
    let done = ended(&shell);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].active_seconds, 20);
    assert_eq!(done[0].ended_at, Some(UnixMillis(T0 + 20_000)));
    assert_eq!(shell.wake, None, "nothing left to wake for");
}

#[test]
fn a_closed_tab_ends_its_session_at_once_without_waiting_for_the_grace() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(9_000);
    shell.page(1, 7, PageEvent::Closed);
    shell.advance(30);
    shell.remove_tab(1);
    let done = ended(&shell);
    assert_eq!(done.len(), 1, "the removal did not end it at once");
    assert_eq!(done[0].active_seconds, 9);
}

#[test]
fn another_pull_request_in_the_tab_within_the_grace_ends_the_first_as_it_left() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page_in(1, 1, 7, PageEvent::Visible);
    shell.advance(6_000);
    shell.page_in(1, 1, 7, PageEvent::Closed);
    shell.advance(1_000);
    shell.page_in(1, 2, 8, PageEvent::Visible);
    let done = ended(&shell);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].pr_number, 7);
    assert_eq!(done[0].ended_at, Some(UnixMillis(T0 + 6_000)));
    assert_eq!(shell.view().current.unwrap().pr.number, 8);
}

#[test]
fn leaving_a_pull_request_inside_a_tab_detaches_the_tab_and_the_next_pr_is_timed() {
    // PR 51 -> the repository's PR list -> PR 52, in one tab (in-page).
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 51, PageEvent::Visible);
    shell.advance(7_000);
    shell.left_pr(1);
    assert_eq!(shell.engine.running_sessions().count(), 0, "51 still timed");
    assert_eq!(ended(&shell).len(), 1, "51 ended at once");
    shell.advance(3_000);
    shell.page(1, 52, PageEvent::Visible);
    shell.advance(4_000);
    shell.remove_tab(1);
    let done = ended(&shell);
    let got: Vec<(u64, u32)> = done
        .iter()
        .map(|s| (s.pr_number, s.active_seconds))
        .collect();
    assert_eq!(got, [(51, 7), (52, 4)]);
}

#[test]
fn leaving_github_in_the_tab_stops_the_clock_then_and_the_tab_is_still_a_tab() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page_in(1, 1, 7, PageEvent::Visible);
    shell.advance(12_000);
    // tabs.onUpdated: the tab loads a page we may not see; no pagehide came.
    left_pull_request(&mut shell, 1, None);
    let done = ended(&shell);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].active_seconds, 12);
    assert_eq!(done[0].ended_at, Some(UnixMillis(T0 + 12_000)));
    // A late report from the page the tab left changes nothing…
    shell.page_in(1, 1, 7, PageEvent::Visible);
    assert_eq!(shell.engine.running_sessions().count(), 0);
    // …but the tab coming back to GitHub is timed again.
    shell.page_in(1, 2, 7, PageEvent::Visible);
    assert_eq!(shell.engine.running_sessions().count(), 1);
}

#[test]
fn a_pull_request_opened_in_a_background_tab_and_closed_unseen_sends_nothing() {
    let mut shell = Shell::new();
    shell.page(1, 7, PageEvent::Hidden);
    shell.advance(60_000);
    shell.remove_tab(1);
    assert!(shell.store.queue.is_empty(), "{:?}", shell.store.queue);
    assert!(shell.store.sessions.is_empty());
    assert_eq!(shell.sent_total, 0, "a request went out for an unseen PR");
}

#[test]
fn a_background_tab_is_timed_from_the_moment_it_is_shown() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Hidden);
    shell.advance(60_000);
    shell.page(1, 7, PageEvent::Visible);
    let started = shell
        .engine
        .running_sessions()
        .next()
        .unwrap()
        .session
        .started_at;
    assert_eq!(started, UnixMillis(T0 + 60_000));
    shell.advance(5_000);
    shell.remove_tab(1);
    assert_eq!(ended(&shell)[0].active_seconds, 5);
}

#[test]
fn report_order_needs_no_wall_clock_a_new_showing_counts_from_one() {
    // The old page's counter was high; the new page starts again at 1 (and
    // the clock went back meanwhile): the new page's reports still count.
    let mut shell = Shell::new();
    shell.set_online(false);
    let report = |shell: &Shell, doc, seq, n, event| Input::Page {
        now: shell.now,
        tab: TabId(1),
        pr: support::pr(n),
        event,
        doc: DocId(doc),
        seq,
    };
    shell.handle(report(&shell, 10, 500, 7, PageEvent::Visible));
    shell.advance(4_000);
    shell.now = UnixMillis(shell.now.0 - 3_600_000); // clock set back an hour
    shell.handle(report(&shell, 11, 1, 8, PageEvent::Visible));
    let running: Vec<u64> = shell
        .engine
        .running_sessions()
        .map(|r| r.pr().number)
        .collect();
    assert_eq!(
        running,
        [8],
        "the new page's report was taken for an old one"
    );
    // The old page's late report (its showing was left) changes nothing.
    shell.handle(report(&shell, 10, 501, 7, PageEvent::Visible));
    let running: Vec<u64> = shell
        .engine
        .running_sessions()
        .map(|r| r.pr().number)
        .collect();
    assert_eq!(running, [8]);
}

#[test]
fn a_late_page_left_from_the_page_before_a_reload_does_not_end_the_review() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page_in(1, 1, 7, PageEvent::Visible);
    shell.advance(3_000);
    // The reloaded page's report overtakes the old page's pagehide.
    shell.page_in(1, 2, 7, PageEvent::Visible);
    shell.page_in(1, 1, 7, PageEvent::Closed);
    shell.advance(LEAVE_GRACE.0 + 1_000);
    assert_eq!(shell.engine.running_sessions().count(), 1);
    assert!(ended(&shell).is_empty());
}

#[test]
fn tabs_stored_by_an_earlier_browser_run_never_match_a_new_tab() {
    // Chrome reuses tab ids after a restart; the shell passes no open tabs
    // on a browser run's first start, so tab 1's old session ends and the
    // new tab 1 starts its own.
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(30_000);
    let old = shell
        .engine
        .running_sessions()
        .next()
        .unwrap()
        .session
        .local_id
        .clone();
    shell.now = UnixMillis(T0 + 3_600_000);
    shell.restart_browser();
    let done = ended(&shell);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].local_id, old);
    assert_eq!(done[0].state, SessionState::Ended);
    shell.page_in(1, 9, 7, PageEvent::Visible);
    let new = shell
        .engine
        .running_sessions()
        .next()
        .unwrap()
        .session
        .local_id
        .clone();
    assert_ne!(new, old, "a new tab joined a session of the last run");
}

#[test]
fn a_browser_down_for_seconds_costs_the_review_none_of_that_time() {
    // Killed mid-review (a crash; no tab closed, no event) and started again
    // 10 s later: the checkpoint is recent, but the browser, not only the
    // worker, was down, so the session ends at its checkpoint with the 30 s
    // it had, not 40 s ending at the restart.
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(30_000);
    shell.alarm(); // a checkpoint at 30 s
    let checkpoint = shell.now;
    shell.advance(10_000);
    shell.restart_browser();
    let done = ended(&shell);
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].active_seconds, 30);
    assert_eq!(done[0].ended_at, Some(checkpoint));
}

#[test]
fn a_tab_closed_while_only_the_worker_was_stopped_keeps_the_time_since_the_checkpoint() {
    // The contrast: the same 10 s with the browser up and the worker
    // stopped; the tab closing is what woke it, so the time was review time.
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.open_tabs.push(1);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(30_000);
    shell.alarm();
    shell.advance(10_000);
    shell.open_tabs.clear();
    shell.restart();
    let done = ended(&shell);
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].active_seconds, 40);
}

#[test]
fn a_tab_in_its_grace_survives_a_worker_restart() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page_in(1, 1, 7, PageEvent::Visible);
    shell.advance(4_000);
    shell.page_in(1, 1, 7, PageEvent::Closed);
    shell.advance(1_000);
    shell.restart(); // MV3 stopped the worker during the reload
    shell.page_in(1, 2, 7, PageEvent::Visible);
    shell.advance(LEAVE_GRACE.0 + 1_000);
    assert_eq!(shell.engine.running_sessions().count(), 1);
    assert!(ended(&shell).is_empty());
}

#[test]
fn a_hidden_session_ends_at_its_last_active_moment_after_ten_minutes() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(20_000);
    shell.page(1, 7, PageEvent::Hidden);
    shell.advance(INACTIVE_LIMIT.0 - 1_000);
    assert!(ended(&shell).is_empty(), "ended before the limit");
    shell.advance(1_000);
    let done = ended(&shell);
    assert_eq!(done.len(), 1, "the forgotten tab is still in progress");
    assert_eq!(done[0].ended_at, Some(UnixMillis(T0 + 20_000)));
    assert_eq!(done[0].active_seconds, 20);
    // Coming back to the tab starts a new session.
    shell.page(1, 7, PageEvent::Visible);
    let running: Vec<_> = shell.engine.running_sessions().collect();
    assert_eq!(running.len(), 1);
    assert_ne!(running[0].session.local_id, done[0].local_id);
}

#[test]
fn an_idle_session_ends_after_ten_minutes_and_the_user_coming_back_starts_a_new_one() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(30_000);
    let now = shell.now;
    shell.handle(Input::UserIdle {
        now,
        idle: true,
        last_input: None,
    });
    shell.advance(INACTIVE_LIMIT.0 + 60_000);
    let done = ended(&shell);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].ended_at, Some(UnixMillis(T0 + 30_000)));
    assert_eq!(done[0].active_seconds, 30);
    assert_eq!(shell.engine.running_sessions().count(), 0);
    // The tab never changed, so it sends no report: the user's return does it.
    let now = shell.now;
    shell.handle(Input::UserIdle {
        now,
        idle: false,
        last_input: None,
    });
    let running: Vec<_> = shell.engine.running_sessions().collect();
    assert_eq!(running.len(), 1, "the visible tab was not timed again");
    assert_eq!(running[0].session.started_at, now);
    shell.advance(5_000);
    shell.remove_tab(1);
    let done = ended(&shell);
    assert_eq!(done.len(), 2);
    assert!(done.iter().any(|s| s.active_seconds == 5), "{done:?}");
}

#[test]
fn the_user_coming_back_after_the_safety_timeout_is_timed_by_a_worker_started_since() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(30_000);
    let now = shell.now;
    shell.handle(Input::UserIdle {
        now,
        idle: true,
        last_input: None,
    });
    shell.advance(INACTIVE_LIMIT.0 + 60_000);
    assert_eq!(ended(&shell).len(), 1);
    // MV3 stopped the idle worker long before the user came back.
    shell.restart();
    let now = shell.now;
    shell.handle(Input::UserIdle {
        now,
        idle: false,
        last_input: None,
    });
    let running: Vec<_> = shell.engine.running_sessions().collect();
    assert_eq!(running.len(), 1, "the visible tab was not timed again");
    assert_eq!(running[0].session.started_at, now);
    // Its page's next report belongs to the same showing: still news.
    shell.advance(5_000);
    shell.page(1, 7, PageEvent::Hidden);
    shell.remove_tab(1);
    let done = ended(&shell);
    assert_eq!(done.len(), 2);
    assert!(done.iter().any(|s| s.active_seconds == 5), "{done:?}");
}

#[test]
fn a_forgotten_hidden_tab_found_at_start_ends_at_its_last_active_moment() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(15_000);
    shell.page(1, 7, PageEvent::Hidden);
    shell.now = UnixMillis(T0 + 7_200_000); // the worker slept two hours
    shell.restart();
    let done = ended(&shell);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].ended_at, Some(UnixMillis(T0 + 15_000)));
    assert_eq!(shell.view().current, None, "still shown in progress");
}

#[test]
fn going_idle_stops_active_time_at_the_last_input_not_when_idle_was_detected() {
    // Chrome says "idle" once the threshold (3 min) passed without input:
    // those 3 minutes were no review.
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(5 * 60_000); // 2 min of review, then 3 min away
    let now = shell.now;
    shell.handle(Input::UserIdle {
        now,
        idle: true,
        last_input: Some(UnixMillis(now.0 - 3 * 60_000)),
    });
    let rec = shell.engine.running_sessions().next().unwrap();
    assert_eq!(
        rec.session.active_seconds, 120,
        "the idle threshold was counted"
    );
    assert_eq!(rec.last_active, Some(UnixMillis(T0 + 120_000)));
    shell.advance(60_000);
    let now = shell.now;
    shell.handle(Input::UserIdle {
        now,
        idle: false,
        last_input: None,
    });
    shell.advance(10_000);
    shell.remove_tab(1);
    assert_eq!(ended(&shell)[0].active_seconds, 130);
}

#[test]
fn an_idle_threshold_longer_than_the_review_takes_back_no_more_than_it_had() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Hidden);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(20_000);
    let now = shell.now;
    // The last input was before this session started.
    shell.handle(Input::UserIdle {
        now,
        idle: true,
        last_input: Some(UnixMillis(now.0 - 60_000)),
    });
    shell.remove_tab(1);
    let done = ended(&shell);
    assert_eq!(done[0].active_seconds, 0);
    assert!(done[0].ended_at >= Some(done[0].started_at));
}

#[test]
fn a_worker_started_while_the_user_is_idle_stops_active_time_at_the_last_input() {
    // The worker was stopped mid-review; it starts again while the user has
    // been away for the threshold (15 s), so no idle event will come. The
    // shell asks chrome.idle at start and says so right after Started:
    // active time stops at the last input, not at the next event.
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.open_tabs.push(1);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(30_000);
    shell.alarm(); // checkpoint at 30 s
    shell.advance(20_000); // the worker is stopped meanwhile
    shell.restart();
    let now = shell.now;
    shell.handle(Input::UserIdle {
        now,
        idle: true,
        last_input: Some(UnixMillis(now.0 - 15_000)),
    });
    let rec = shell.engine.running_sessions().next().unwrap();
    assert_eq!(rec.session.active_seconds, 35, "the idle 15 s were counted");
    shell.advance(60_000);
    shell.remove_tab(1);
    assert_eq!(
        ended(&shell)[0].active_seconds,
        35,
        "idle time was counted after the start"
    );
}

#[test]
fn a_worker_started_while_the_screen_is_locked_counts_nothing_from_then() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.open_tabs.push(1);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(30_000);
    shell.alarm();
    shell.advance(20_000);
    shell.restart();
    let now = shell.now;
    shell.handle(Input::UserIdle {
        now,
        idle: true,
        last_input: None,
    });
    shell.advance(60_000);
    shell.remove_tab(1);
    assert_eq!(ended(&shell)[0].active_seconds, 50);
}
