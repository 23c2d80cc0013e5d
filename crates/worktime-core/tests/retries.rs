//! The retry policy: what retries and how soon, what costs no attempt,
//! parking after five transient failures and the way back, and what signs
//! the user out instead of failing anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Shell, answer, error_body, sessions_in};
use worktime_core::retry::{BACKOFF_BASE, BACKOFF_CAP, MAX_TRANSIENT_FAILURES, backoff};
use worktime_core::{Command, HttpOutcome, Method, Status, UnixMillis};
use worktime_protocol::DurationMillis;

/// One ended session, its request in flight.
fn one_item_in_flight() -> Shell {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.review(1, 7);
    shell.set_online(true);
    assert_eq!(shell.requests.len(), 1);
    shell
}

fn unavailable() -> HttpOutcome {
    answer(503, None, &error_body("unavailable", "try later", None))
}

/// The delay before the queued item's next try, as scheduled now.
fn scheduled_delay(shell: &Shell) -> i64 {
    let at = shell
        .only_queued()
        .next_attempt_at
        .expect("a retry is scheduled");
    at.0 - shell.now.0
}

#[test]
fn timeouts_408_429_and_5xx_are_retried() {
    let outcomes = [
        HttpOutcome::Timeout,
        answer(408, None, ""),
        answer(429, None, ""),
        answer(500, None, ""),
        answer(502, None, "<html>bad gateway</html>"),
        unavailable(),
    ];
    for outcome in outcomes {
        let mut shell = one_item_in_flight();
        shell.respond(outcome.clone());
        let entry = shell.only_queued();
        assert_eq!(entry.attempts, 1, "{outcome:?}");
        assert!(entry.next_attempt_at.is_some(), "{outcome:?}");
        assert!(
            shell.engine.failed().is_empty(),
            "{outcome:?} failed the item"
        );
        // And it does go again when the backoff is over.
        shell.advance(1_300);
        assert_eq!(shell.requests.len(), 1, "{outcome:?} was not retried");
    }
}

#[test]
fn backoff_starts_at_one_second_doubles_and_jitters_by_a_quarter() {
    let mut shell = one_item_in_flight();
    for failure in 1..MAX_TRANSIENT_FAILURES {
        shell.respond(unavailable());
        let nominal = BACKOFF_BASE.0 << (failure - 1);
        let delay = scheduled_delay(&shell);
        assert!(
            (nominal * 3 / 4..=nominal * 5 / 4).contains(&delay),
            "failure {failure}: {delay} ms, nominal {nominal} ms"
        );
        assert_eq!(shell.wake, shell.only_queued().next_attempt_at);
        assert!(shell.requests.is_empty(), "nothing goes before the backoff");
        shell.advance(delay);
        assert_eq!(shell.requests.len(), 1, "retried when the backoff ended");
    }
    // The cap: 30 s from the sixth doubling on, jitter either way.
    assert_eq!(BACKOFF_CAP, DurationMillis(30_000));
    for n in 6..12 {
        assert_eq!(backoff(n, 0.5, None), BACKOFF_CAP);
        assert_eq!(backoff(n, 0.0, None).0, 22_500);
    }
}

#[test]
fn retry_after_is_honoured_and_capped_at_an_hour() {
    let mut shell = one_item_in_flight();
    shell.respond(answer(429, Some("120"), ""));
    assert_eq!(scheduled_delay(&shell), 120_000);
    shell.advance(119_000);
    assert!(shell.requests.is_empty(), "sent before Retry-After");
    shell.advance(1_000);
    assert_eq!(shell.requests.len(), 1);

    shell.respond(answer(503, Some("86400"), ""));
    assert_eq!(scheduled_delay(&shell), 3_600_000, "capped at an hour");
}

#[test]
fn a_network_error_while_offline_consumes_no_retry() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.review(1, 7);
    assert!(shell.requests.is_empty(), "offline: nothing is sent");
    for _ in 0..10 {
        // The fallback alarm tries once anyway (the hint may be wrong).
        shell.alarm();
        assert_eq!(shell.requests.len(), 1);
        shell.respond(HttpOutcome::NetworkError {
            message: "Failed to fetch".into(),
        });
        let entry = shell.only_queued();
        assert_eq!(entry.attempts, 0);
        assert_eq!(entry.parked_since, None);
        assert!(shell.requests.is_empty());
    }
    assert_eq!(shell.view().status, Status::Offline);
    shell.set_online(true);
    assert_eq!(shell.requests.len(), 1, "back online: sent at once");
}

#[test]
fn a_network_error_while_online_counts_as_a_transient_failure() {
    let mut shell = one_item_in_flight();
    shell.respond(HttpOutcome::NetworkError {
        message: "connection reset".into(),
    });
    assert_eq!(shell.only_queued().attempts, 1);
}

/// Fails the item in flight five times (with its backoffs): parked.
fn park(shell: &mut Shell) {
    for _ in 0..MAX_TRANSIENT_FAILURES {
        assert_eq!(shell.requests.len(), 1);
        shell.respond(unavailable());
        if let Some(at) = shell.only_queued().next_attempt_at {
            shell.advance(at.0 - shell.now.0);
        }
    }
}

#[test]
fn after_five_transient_failures_an_item_is_parked_with_no_timers() {
    let mut shell = one_item_in_flight();
    park(&mut shell);
    let entry = shell.only_queued();
    assert_eq!(MAX_TRANSIENT_FAILURES, 5);
    assert_eq!(entry.attempts, 5);
    assert_eq!(entry.parked_since, Some(shell.now));
    assert_eq!(entry.next_attempt_at, None);
    assert_eq!(shell.wake, None, "a parked item sets no timer");
    assert_eq!(shell.engine.next_wake(), None);
    assert!(shell.engine.failed().is_empty(), "parked is not failed");
    let view = shell.view();
    assert_eq!(view.status, Status::Error);
    assert_eq!(view.parked, 1);
    assert_eq!(view.pending, 1);
    assert_eq!(view.unavailable_since, Some(shell.now));
    // An hour passes without the alarm: nothing is sent.
    shell.advance(3_600_000);
    assert!(shell.requests.is_empty());
}

#[test]
fn a_parked_item_goes_again_when_the_alarms_probe_succeeds() {
    let mut shell = one_item_in_flight();
    park(&mut shell);
    shell.advance(60_000);
    shell.alarm();
    let probe = shell.only_request().clone();
    assert_eq!(probe.method, Method::Get);
    assert_eq!(probe.path, "/api/v1/me");
    // The server is still down: still parked, still no timer.
    shell.respond(unavailable());
    assert!(shell.only_queued().parked_since.is_some());
    assert_eq!(shell.wake, None);
    // Next alarm: the server is back.
    shell.advance(60_000);
    shell.alarm();
    shell.respond_ok();
    let entry = shell.only_queued();
    assert_eq!(entry.parked_since, None);
    assert_eq!(entry.attempts, 0, "fresh attempts");
    assert_eq!(sessions_in(shell.only_request()).len(), 1, "sent again");
    shell.respond_ok();
    assert!(shell.store.queue.is_empty());
}

#[test]
fn a_parked_item_goes_again_when_any_other_exchange_succeeds() {
    let mut shell = one_item_in_flight();
    park(&mut shell);
    let parked = shell.only_queued().session.local_id.clone();
    shell.review(2, 8); // a new session goes out; the server takes it
    assert_eq!(sessions_in(shell.only_request())[0].pr_number, 8);
    shell.deliver_all();
    assert!(
        shell.store.queue.is_empty(),
        "{parked} was released and delivered"
    );
}

#[test]
fn sync_now_sends_parked_items_at_once() {
    let mut shell = one_item_in_flight();
    park(&mut shell);
    shell.command(Command::SyncNow);
    assert_eq!(sessions_in(shell.only_request()).len(), 1);
    assert_eq!(shell.only_queued().attempts, 0);
}

#[test]
fn a_401_or_403_signs_out_fails_nothing_and_a_new_token_resumes() {
    for status in [401, 403] {
        let mut shell = one_item_in_flight();
        shell.respond(answer(
            status,
            None,
            &error_body("unauthorized", "no", None),
        ));
        let view = shell.view();
        assert_eq!(view.status, Status::SignedOut, "{status}");
        assert!(!view.signed_in);
        assert!(view.failed.is_empty(), "{status} dead-lettered");
        assert_eq!(view.pending, 1);
        assert_eq!(shell.only_queued().attempts, 0, "not the item's fault");
        // Nothing more goes out, whatever happens.
        shell.review(2, 8);
        shell.alarm();
        shell.advance(600_000);
        shell.command(Command::SyncNow);
        assert!(shell.requests.is_empty(), "{status}: sent while signed out");
        // The sign-out survives a restart.
        shell.restart();
        assert!(shell.requests.is_empty());
        assert_eq!(shell.view().status, Status::SignedOut);
        // A new token: everything goes.
        shell.command(Command::TokenSet);
        assert_eq!(shell.view().status, Status::Syncing);
        shell.deliver_all();
        assert!(shell.store.queue.is_empty(), "{status}");
    }
}

#[test]
fn a_401_for_a_request_sent_with_the_replaced_token_does_not_sign_the_new_one_out() {
    let mut shell = one_item_in_flight();
    shell.command(Command::TokenSet); // pasted while the old token's request is out
    shell.respond(answer(401, None, ""));
    assert!(shell.view().signed_in, "the new token was signed out");
    assert_eq!(shell.only_queued().attempts, 0);
    assert_eq!(shell.requests.len(), 1, "sent again with the new token");
    shell.respond_ok();
    assert!(shell.store.queue.is_empty());
}

#[test]
fn without_a_token_nothing_is_sent_and_everything_is_kept() {
    let mut shell = Shell::new();
    shell.command(Command::TokenCleared);
    shell.review(1, 7);
    shell.advance(120_000);
    shell.alarm();
    assert!(shell.requests.is_empty());
    assert_eq!(shell.view().status, Status::SignedOut);
    assert_eq!(shell.store.queue.len(), 1);
    shell.command(Command::TokenSet);
    assert_eq!(shell.deliver_all(), 1);
    assert!(shell.store.queue.is_empty());
}

#[test]
fn the_popup_shows_the_last_error_and_the_next_retry() {
    let mut shell = one_item_in_flight();
    let sent_at = shell.now;
    shell.respond(unavailable());
    let view = shell.view();
    assert_eq!(view.status, Status::Error);
    assert_eq!(view.last_attempted, Some(sent_at));
    assert_eq!(view.last_error.as_deref(), Some("server answered 503"));
    assert_eq!(view.next_retry, shell.only_queued().next_attempt_at);
    shell.advance(scheduled_delay(&shell));
    shell.respond_ok();
    let view = shell.view();
    assert_eq!(view.status, Status::Idle);
    assert_eq!(view.last_error, None);
    assert_eq!(view.last_successful, Some(shell.now));
    assert_eq!(view.next_retry, None);
    assert_eq!(view.pending, 0);
    assert!(view.last_successful > Some(UnixMillis(0)));
}

#[test]
fn retry_after_holds_every_request_not_only_the_refused_sessions() {
    let mut shell = one_item_in_flight();
    shell.respond(answer(429, Some("5"), ""));
    // Another review ends while the server asked to wait: it waits too.
    shell.review(2, 8);
    assert!(
        shell.requests.is_empty(),
        "a request went out right after Retry-After: 5"
    );
    // Nor does Sync now, or the fallback alarm, reach the server early.
    shell.command(Command::SyncNow);
    shell.alarm();
    assert!(shell.requests.is_empty(), "sent before Retry-After");
    let busy_until = UnixMillis(shell.now.0 + 5_000);
    assert_eq!(shell.view().next_retry, Some(busy_until));
    assert_eq!(shell.wake, Some(busy_until), "woken when the wait is over");
    shell.advance(4_999);
    assert!(shell.requests.is_empty(), "sent before Retry-After");
    shell.advance(1);
    assert_eq!(shell.requests.len(), 1, "sent when the wait is over");
    let mut sent: Vec<u64> = sessions_in(shell.only_request())
        .iter()
        .map(|s| s.pr_number)
        .collect();
    sent.sort_unstable();
    assert_eq!(sent, vec![7, 8], "both sessions go in one batch");
}

#[test]
fn a_retry_after_on_503_holds_a_session_ended_meanwhile() {
    let mut shell = one_item_in_flight();
    shell.respond(answer(503, Some("3"), ""));
    shell.review(2, 9);
    shell.advance(2_999);
    assert!(shell.requests.is_empty(), "sent before Retry-After");
    shell.advance(1);
    assert_eq!(shell.requests.len(), 1);
}
