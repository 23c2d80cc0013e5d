//! Sessions: one per pull request per device, shared by its tabs, timed
//! only while visible, checkpointed every 30 s, and ended at the last
//! checkpoint when a restart finds its tabs gone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Shell, T0};
use worktime_core::tracker::{CHECKPOINT_INTERVAL, INACTIVE_LIMIT, LEAVE_GRACE};
use worktime_core::{DocId, Input, PageEvent, SessionState, TabId, UnixMillis};

#[test]
fn tabs_on_one_pull_request_share_one_session_that_ends_with_the_last_tab() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.page(2, 7, PageEvent::Visible);
    assert_eq!(shell.engine.running_sessions().count(), 1);
    assert_eq!(shell.store.sessions.len(), 1);
    assert_eq!(shell.store.sessions[0].tabs.len(), 2);

    shell.advance(10_000);
    shell.page(1, 7, PageEvent::Closed);
    assert_eq!(
        shell.engine.running_sessions().count(),
        1,
        "one tab still shows it"
    );
    assert!(!shell.only_queued().session.is_ended());

    shell.advance(5_000);
    shell.leave(2, 7);
    assert_eq!(shell.engine.running_sessions().count(), 0);
    assert!(shell.store.sessions.is_empty());
    let ended = &shell.only_queued().session;
    assert_eq!(ended.state, SessionState::Ended);
    assert_eq!(ended.active_seconds, 15);
    assert_eq!(ended.ended_at, Some(UnixMillis(T0 + 15_000)));
}

#[test]
fn another_pull_request_gets_its_own_session() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.page(2, 8, PageEvent::Visible);
    assert_eq!(shell.engine.running_sessions().count(), 2);
    let mut prs: Vec<u64> = shell
        .engine
        .running_sessions()
        .map(|r| r.pr().number)
        .collect();
    prs.sort();
    assert_eq!(prs, [7, 8]);
}

#[test]
fn a_removed_tab_ends_its_session_without_a_pagehide() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(20_000);
    shell.remove_tab(1);
    let ended = &shell.only_queued().session;
    assert_eq!(ended.state, SessionState::Ended);
    assert_eq!(ended.active_seconds, 20);
    // A late report from the removed tab does not bring it back.
    shell.page(1, 7, PageEvent::Visible);
    assert_eq!(shell.engine.running_sessions().count(), 0);
}

#[test]
fn active_time_runs_only_while_a_tab_is_visible() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(10_000);
    shell.page(1, 7, PageEvent::Hidden);
    shell.advance(20_000);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(5_000);
    shell.leave(1, 7);
    assert_eq!(shell.only_queued().session.active_seconds, 15);
}

#[test]
fn idle_or_locked_stops_active_time() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(10_000);
    let now = shell.now;
    shell.handle(Input::UserIdle {
        now,
        idle: true,
        last_input: None,
    });
    shell.advance(60_000);
    let now = shell.now;
    shell.handle(Input::UserIdle {
        now,
        idle: false,
        last_input: None,
    });
    shell.advance(5_000);
    shell.leave(1, 7);
    assert_eq!(shell.only_queued().session.active_seconds, 15);
}

#[test]
fn duplicated_or_overtaken_page_reports_change_nothing() {
    let mut shell = Shell::new();
    shell.set_online(false);
    let report = |seq, event| Input::Page {
        now: UnixMillis(T0),
        tab: TabId(1),
        pr: support::pr(7),
        event,
        doc: DocId(1),
        seq,
    };
    shell.handle(report(10, PageEvent::Visible));
    shell.handle(report(20, PageEvent::Hidden));
    // The earlier "visible" arrives again, late: ignored.
    shell.handle(report(10, PageEvent::Visible));
    shell.handle(report(15, PageEvent::Visible));
    let rec = shell.engine.running_sessions().next().unwrap();
    assert!(
        !rec.tabs[0].visible,
        "an overtaken report turned the tab visible"
    );
    // A duplicated "closed" ends it once.
    shell.handle(report(30, PageEvent::Closed));
    shell.handle(report(30, PageEvent::Closed));
    shell.advance(LEAVE_GRACE.0);
    assert_eq!(shell.store.queue.len(), 1);
    assert!(shell.only_queued().session.is_ended());
}

#[test]
fn a_running_session_is_checkpointed_every_thirty_seconds() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    assert_eq!(CHECKPOINT_INTERVAL.0, 30_000);
    assert_eq!(shell.wake, Some(UnixMillis(T0 + 30_000)));
    for n in 1..=4 {
        shell.advance(30_000);
        let rec = &shell.store.sessions[0];
        assert_eq!(rec.active_ms, n * 30_000, "after {n} checkpoints");
        assert_eq!(rec.last_checkpoint, UnixMillis(T0 + n as i64 * 30_000));
    }
    // Hidden: nothing runs, so no checkpoint wake-up; only the safety
    // timeout's, 10 minutes after the last active moment.
    shell.page(1, 7, PageEvent::Hidden);
    assert_eq!(shell.wake, Some(UnixMillis(T0 + 120_000) + INACTIVE_LIMIT));
}

#[test]
fn a_restart_ends_a_session_whose_tabs_are_gone_at_its_last_checkpoint() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(45_000); // checkpointed at 30 s; the 15 s after it die with the browser
    shell.open_tabs.clear();
    shell.now = UnixMillis(T0 + 3_600_000);
    shell.restart();
    assert_eq!(shell.engine.running_sessions().count(), 0);
    assert!(shell.store.sessions.is_empty());
    let ended = &shell.only_queued().session;
    assert_eq!(ended.state, SessionState::Ended);
    assert_eq!(ended.ended_at, Some(UnixMillis(T0 + 30_000)));
    assert_eq!(ended.active_seconds, 30);
}

#[test]
fn a_tab_closed_while_the_worker_was_stopped_keeps_the_time_since_the_checkpoint() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(30_000); // checkpointed at 30 s; then MV3 stops the worker
    // 20 s later the tab closes, which wakes the worker.
    shell.open_tabs.clear();
    shell.now = UnixMillis(T0 + 50_000);
    shell.restart();
    // The end notice and the removal that woke it change nothing more.
    shell.page(1, 7, PageEvent::Closed);
    shell.remove_tab(1);
    let ended = &shell.only_queued().session;
    assert_eq!(ended.state, SessionState::Ended);
    assert_eq!(ended.active_seconds, 50, "the stopped worker cost no time");
    assert_eq!(ended.ended_at, Some(UnixMillis(T0 + 50_000)));
}

#[test]
fn a_hidden_tab_closed_while_the_worker_was_stopped_adds_no_time() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(10_000);
    shell.page(1, 7, PageEvent::Hidden);
    shell.open_tabs.clear();
    shell.now = UnixMillis(T0 + 40_000);
    shell.restart();
    let ended = &shell.only_queued().session;
    assert_eq!(ended.active_seconds, 10, "hidden time was counted");
}

#[test]
fn a_restart_keeps_a_session_whose_tab_is_still_open() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(30_000);
    shell.advance(10_000);
    shell.restart();
    assert_eq!(shell.engine.running_sessions().count(), 1);
    shell.advance(20_000);
    shell.leave(1, 7);
    let ended = &shell.only_queued().session;
    assert_eq!(ended.state, SessionState::Ended);
    assert_eq!(ended.active_seconds, 60, "the worker's death cost no time");
}

#[test]
fn the_popup_sees_the_review_being_timed() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    shell.advance(12_000);
    let current = shell.view().current.expect("a review is being timed");
    assert_eq!(current.pr, support::pr(7));
    assert_eq!(current.active_seconds, 12);
    assert!(current.running);
}

#[test]
fn a_session_the_contract_would_refuse_goes_to_the_failed_list_unsent() {
    let mut shell = Shell::new();
    let bad = worktime_protocol::PrRef {
        owner: "not a valid owner!".into(),
        repo: "hello".into(),
        number: 7,
    };
    let now = shell.now;
    shell.handle(Input::Page {
        now,
        tab: TabId(1),
        pr: bad,
        event: PageEvent::Visible,
        doc: DocId(1),
        seq: 1,
    });
    assert!(shell.requests.is_empty(), "an invalid session was sent");
    assert!(shell.store.queue.is_empty());
    let failed = shell.view().failed;
    assert_eq!(failed.len(), 1);
    assert!(failed[0].reason.contains("repo_owner"), "{:?}", failed[0]);
}
