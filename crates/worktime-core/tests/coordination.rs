//! Coordination: one request at a time under a 60 s lease, triggers that
//! collapse into one follow-up, "Sync now" with its cooldown, push before
//! pull, pulls throttled to one per 15 minutes — and an idle engine that
//! asks for nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Shell, T0, answer, sessions_in, success};
use worktime_core::coord::{PULL_INTERVAL, PULL_RETRY_INTERVAL, SYNC_LEASE, SYNC_NOW_COOLDOWN};
use worktime_core::{
    Command, HttpOutcome, Input, Method, PageEvent, Status, StoredState, SyncNowReply, UiEvent,
    UnixMillis,
};

fn sync_now_reply(shell: &mut Shell) -> SyncNowReply {
    shell.command(Command::SyncNow);
    shell
        .take_events()
        .into_iter()
        .rev()
        .find_map(|e| match e {
            UiEvent::SyncNow { reply } => Some(reply),
            _ => None,
        })
        .expect("Sync now is always answered")
}

fn is_pull(request: &worktime_core::Request) -> bool {
    request.method == Method::Get && request.path.starts_with("/api/v1/sessions?since=")
}

#[test]
fn only_one_request_is_in_flight_at_a_time() {
    let mut shell = Shell::new();
    shell.review(1, 7);
    for tab in 2..20 {
        shell.review(tab, tab as u64);
        shell.command(Command::SyncNow);
        shell.alarm();
        assert_eq!(shell.requests.len(), 1, "a second request went out");
    }
    assert_eq!(shell.view().status, Status::Syncing);
}

#[test]
fn triggers_during_a_sync_collapse_into_one_follow_up() {
    let mut shell = Shell::new();
    shell.review(1, 7);
    let sent_before = shell.sent_total;
    // Many triggers while the first request is out: new sessions, the
    // network coming back, a new token.
    for tab in 2..12 {
        shell.review(tab, tab as u64);
    }
    shell.set_online(true);
    shell.command(Command::TokenSet);
    assert_eq!(
        shell.sent_total, sent_before,
        "nothing more while one is out"
    );
    shell.respond_ok();
    // Exactly one follow-up, carrying everything queued meanwhile.
    assert_eq!(shell.requests.len(), 1);
    assert_eq!(sessions_in(&shell.requests[0].1).len(), 10 + 1);
    shell.respond_ok();
    assert!(shell.requests.is_empty(), "the follow-up was the only one");
    assert!(shell.store.queue.is_empty());
}

#[test]
fn a_request_unanswered_for_sixty_seconds_loses_its_lease() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.review(1, 7);
    shell.set_online(true);
    let (stale_id, stale_request) = shell.requests[0].clone();
    assert_eq!(SYNC_LEASE.0, 60_000);
    shell.advance(59_999);
    assert_eq!(shell.engine.in_flight(), Some(stale_id));
    shell.advance(1);
    // Given up on, as a timeout: one attempt used, a retry scheduled.
    assert_eq!(shell.engine.in_flight(), None);
    assert_eq!(shell.only_queued().attempts, 1);
    shell.requests.clear(); // the shell's fetch is abandoned too
    let backoff = shell.only_queued().next_attempt_at.unwrap();
    shell.advance(backoff.0 - shell.now.0);
    assert_eq!(shell.requests.len(), 1, "sent again after the backoff");
    // The lost answer turns up late: ignored.
    let now = shell.now;
    shell.handle(Input::Response {
        now,
        request_id: stale_id,
        outcome: success(&stale_request),
    });
    assert_eq!(shell.store.queue.len(), 1);
    assert_eq!(shell.engine.in_flight(), Some(shell.requests[0].0));
}

#[test]
fn sync_now_starts_a_sync_then_cools_down_for_five_seconds() {
    let mut shell = Shell::new();
    assert_eq!(sync_now_reply(&mut shell), SyncNowReply::Started);
    assert!(is_pull(shell.only_request()), "nothing to push: a pull");
    shell.respond_ok();
    shell.advance(2_000);
    assert_eq!(SYNC_NOW_COOLDOWN.0, 5_000);
    match sync_now_reply(&mut shell) {
        SyncNowReply::Refused { reason, retry_at } => {
            assert!(!reason.is_empty());
            assert_eq!(retry_at, Some(UnixMillis(T0 + 5_000)));
        }
        other => panic!("not refused in the cooldown: {other:?}"),
    }
    assert!(shell.requests.is_empty());
    assert_eq!(
        shell.view().sync_now_cooldown_until,
        Some(UnixMillis(T0 + 5_000))
    );
    shell.advance(3_000);
    assert_eq!(shell.view().sync_now_cooldown_until, None);
    assert_eq!(sync_now_reply(&mut shell), SyncNowReply::Started);
}

#[test]
fn sync_now_while_a_sync_runs_is_queued_with_the_reason_and_runs_after_it() {
    let mut shell = Shell::new();
    shell.review(1, 7);
    match sync_now_reply(&mut shell) {
        SyncNowReply::Queued { reason } => assert!(reason.contains("running"), "{reason}"),
        other => panic!("not queued behind the running sync: {other:?}"),
    }
    assert_eq!(shell.requests.len(), 1);
    // The running sync ends; the queued "Sync now" runs (push, then pull).
    shell.deliver_all();
    assert!(shell.store.queue.is_empty());
    assert!(shell.store.meta.as_ref().unwrap().last_pull.is_some());
}

#[test]
fn sync_now_while_signed_out_is_refused_with_the_reason() {
    let mut shell = Shell::new();
    shell.command(Command::TokenCleared);
    match sync_now_reply(&mut shell) {
        SyncNowReply::Refused { reason, retry_at } => {
            assert!(reason.contains("signed out"), "{reason}");
            assert_eq!(retry_at, None);
        }
        other => panic!("{other:?}"),
    }
    assert!(shell.requests.is_empty());
}

#[test]
fn push_goes_before_pull() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.review(1, 7);
    shell.set_online(true);
    shell.command(Command::PopupOpened);
    let mut order = Vec::new();
    while !shell.requests.is_empty() {
        order.push(is_pull(&shell.requests[0].1));
        shell.respond_ok();
    }
    assert_eq!(order, [false, true]);
}

#[test]
fn the_popup_pulls_at_most_every_fifteen_minutes_unless_asked() {
    let mut shell = Shell::new();
    shell.command(Command::PopupOpened);
    assert!(is_pull(shell.only_request()));
    shell.respond_ok();
    assert_eq!(PULL_INTERVAL.0, 15 * 60_000);
    shell.advance(10 * 60_000);
    shell.command(Command::PopupOpened);
    assert!(shell.requests.is_empty(), "pulled again within 15 minutes");
    // Asked for: pulls at once.
    assert_eq!(sync_now_reply(&mut shell), SyncNowReply::Started);
    assert!(is_pull(shell.only_request()));
    shell.respond_ok();
    shell.advance(15 * 60_000);
    shell.command(Command::PopupOpened);
    assert!(is_pull(shell.only_request()));
}

#[test]
fn a_failed_pull_is_not_repeated_by_every_popup_opening() {
    let mut shell = Shell::new();
    shell.command(Command::PopupOpened);
    assert!(is_pull(shell.only_request()));
    shell.respond(HttpOutcome::NetworkError {
        message: "refused".into(),
    });
    shell.advance(10_000);
    shell.command(Command::PopupOpened);
    assert!(
        shell.requests.is_empty(),
        "pulled again 10 s after a failed pull"
    );
    assert_eq!(PULL_RETRY_INTERVAL.0, 60_000);
    shell.advance(50_000);
    shell.command(Command::PopupOpened);
    assert!(
        is_pull(shell.only_request()),
        "a minute later the popup pulls again"
    );
}

#[test]
fn a_pull_fills_todays_total_from_the_server() {
    let mut shell = Shell::new();
    shell.command(Command::PopupOpened);
    let body = r#"{"sessions":[{"local_id":"a1","repo_owner":"octo","repo_name":"hello","pr_number":3,"started_at":"2026-11-21T09:00:00Z","ended_at":"2026-11-21T09:10:00Z","active_seconds":600,"state":"ended","updated_at":"2026-11-21T09:10:00Z","user":"ada","device":"desk"}],"next":null}"#;
    shell.respond(answer(200, None, body));
    assert_eq!(shell.view().today_seconds, 600);
    assert!(shell.view().last_error.is_none());
}

#[test]
fn a_malformed_pull_reply_is_an_error_that_changes_nothing() {
    let mut shell = Shell::new();
    shell.command(Command::PopupOpened);
    shell.respond(answer(200, None, "{\"sessions\": 12}"));
    let view = shell.view();
    assert!(view.last_error.unwrap().contains("malformed"));
    assert_eq!(view.today_seconds, 0);
}

#[test]
fn an_idle_engine_asks_for_no_request_and_no_wake_up() {
    let mut shell = Shell::new();
    assert!(shell.requests.is_empty());
    assert_eq!(shell.wake, None);
    assert_eq!(shell.engine.next_wake(), None);
    for _ in 0..60 {
        shell.advance(60_000);
        shell.alarm();
    }
    assert_eq!(shell.sent_total, 0, "an idle engine made requests");
    assert_eq!(shell.wake, None);
    // After real work, once everything is delivered, it is idle again.
    shell.review(1, 7);
    shell.deliver_all();
    shell.advance(10_000);
    assert_eq!(shell.engine.next_wake(), None);
    let sent = shell.sent_total;
    for _ in 0..30 {
        shell.advance(60_000);
        shell.alarm();
    }
    assert_eq!(shell.sent_total, sent);
    assert_eq!(shell.view().status, Status::Idle);
}

#[test]
fn a_hidden_review_asks_for_no_wake_up() {
    let mut shell = Shell::new();
    shell.page(1, 7, PageEvent::Hidden);
    shell.deliver_all();
    assert_eq!(
        shell.engine.next_wake(),
        None,
        "nothing runs, nothing to wake for"
    );
}

#[test]
fn inputs_before_started_and_answers_nobody_asked_for_change_nothing() {
    let mut engine = worktime_core::Engine::new();
    engine.handle(Input::AlarmFired {
        now: UnixMillis(T0),
    });
    engine.handle(Input::Command {
        now: UnixMillis(T0),
        command: Command::SyncNow,
    });
    assert!(engine.poll_output().is_none());
    assert!(!engine.is_started());

    let mut shell = Shell::with_store(StoredState::default(), UnixMillis(T0));
    let before = shell.store.clone();
    shell.handle(Input::Response {
        now: UnixMillis(T0),
        request_id: worktime_core::RequestId(12345),
        outcome: HttpOutcome::Timeout,
    });
    assert_eq!(shell.store, before);
    assert_eq!(shell.view().last_error, None);
}

#[test]
fn a_clock_that_jumps_back_does_not_stretch_a_backoff() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.review(1, 7);
    shell.set_online(true);
    shell.respond(answer(503, None, ""));
    // The wall clock goes back an hour.
    shell.now = UnixMillis(shell.now.0 - 3_600_000);
    shell.wake = None;
    let now = shell.now;
    shell.handle(Input::TimerDue { now });
    let next = shell
        .engine
        .pending()
        .next()
        .and_then(|e| e.next_attempt_at)
        .unwrap();
    assert!(
        next.0 - shell.now.0 <= 1_250,
        "a 1 s backoff became {} ms",
        next.0 - shell.now.0
    );
    shell.advance(1_250);
    assert_eq!(shell.requests.len(), 1);
}
