//! A whole request answered with something that is neither a success nor the
//! server's verdict on an item — a wrong URL's 404, a 405, a 400 naming no
//! field, a redirect, a proxy's HTML page — costs no session: sync pauses in
//! a visible "server problem" state with every item kept, the fallback
//! alarm probes, and sync resumes by itself when the server answers
//! properly or the settings change.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Shell, answer, error_body, sessions_in};
use worktime_core::{Command, HttpOutcome, Method, Status};

const HTML_404: &str = "<!DOCTYPE html><html><head><title>404 Not Found</title></head>\
                        <body><h1>Not Found</h1><hr>nginx</body></html>";

/// `n` ended sessions queued offline, then sent (one PUT or one batch).
fn queued_then_sent(n: i64) -> Shell {
    let mut shell = Shell::new();
    shell.set_online(false);
    for tab in 0..n {
        shell.review(tab, 1 + tab as u64);
    }
    shell.set_online(true);
    assert_eq!(shell.requests.len(), 1);
    shell
}

/// What a misconfigured or misbehaving address answers instead of the API.
fn not_the_api() -> Vec<(&'static str, HttpOutcome)> {
    let not_found = error_body("not_found", "no such path", None);
    let no_field = error_body("malformed_json", "expected value", None);
    vec![
        ("HTML 404", answer(404, None, HTML_404)),
        ("JSON 404", answer(404, None, &not_found)),
        ("405", answer(405, None, "")),
        ("400 naming no field", answer(400, None, &no_field)),
        ("plain-text 400", answer(400, None, "Bad Request")),
        ("301", answer(301, None, "")),
        ("redirect not followed", HttpOutcome::redirected()),
        ("200 HTML to a PUT", answer(200, None, HTML_404)),
    ]
}

#[test]
fn a_whole_request_non_success_keeps_every_item_and_shows_a_server_problem() {
    for n in [1, 3, 60] {
        for (what, outcome) in not_the_api() {
            let mut shell = queued_then_sent(n);
            let sent = sessions_in(&shell.requests[0].1);
            let attempts_before: Vec<u32> = shell.store.queue.iter().map(|e| e.attempts).collect();
            let (_, request) = shell.respond(outcome);
            let view = shell.view();
            assert_eq!(view.failed.len(), 0, "{what} ({n}): nothing dead-lettered");
            assert_eq!(view.evictions, 0, "{what} ({n})");
            assert_eq!(view.pending, n as usize, "{what} ({n}): every item kept");
            assert_eq!(shell.store.queue.len(), n as usize, "{what} ({n})");
            let attempts: Vec<u32> = shell.store.queue.iter().map(|e| e.attempts).collect();
            assert_eq!(
                attempts, attempts_before,
                "{what} ({n}): no attempt counted"
            );
            assert_eq!(view.status, Status::ServerProblem, "{what} ({n})");
            let problem = view.server_problem.expect("the problem is described");
            assert_eq!(
                problem.request,
                format!("{} {}", request.method.as_str(), request.path),
                "{what}"
            );
            assert_eq!(problem.since, shell.now);
            assert!(
                view.last_error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("server problem:")),
                "{what}: {:?}",
                view.last_error
            );
            assert_eq!(view.next_retry, None, "{what}: no retry timer while paused");
            assert!(
                shell.requests.is_empty(),
                "{what}: nothing sent again at once"
            );
            assert_eq!(sent.len(), n as usize);
        }
    }
}

#[test]
fn the_problem_is_described_with_what_was_answered() {
    let mut shell = queued_then_sent(1);
    shell.respond(answer(404, None, HTML_404));
    let problem = shell.view().server_problem.unwrap();
    assert_eq!(problem.status, 404);
    assert_eq!(
        problem.detail,
        "HTTP 404 with an HTML page, not the WorkTime API"
    );
    assert!(problem.request.starts_with("PUT /api/v1/sessions/"));
}

#[test]
fn while_paused_nothing_is_sent_but_the_alarm_probe_and_a_proper_answer_resumes() {
    let mut shell = queued_then_sent(3);
    shell.respond(answer(404, None, HTML_404));
    // More reviews end meanwhile: they wait too, and no timer is set.
    shell.review(10, 11);
    shell.advance(10 * 60_000);
    assert!(shell.requests.is_empty(), "paused: nothing goes on its own");
    assert_eq!(shell.wake, None, "no wake-up while paused");

    // The fallback alarm probes; still the proxy's page: still paused.
    shell.alarm();
    let probe = shell.only_request().clone();
    assert_eq!(
        (probe.method, probe.path.as_str()),
        (Method::Get, "/api/v1/me")
    );
    let since = shell.view().server_problem.unwrap().since;
    shell.respond(answer(404, None, HTML_404));
    assert!(shell.requests.is_empty());
    assert_eq!(shell.view().status, Status::ServerProblem);
    assert_eq!(
        shell.view().server_problem.unwrap().since,
        since,
        "since is kept"
    );

    // Fixed: the next probe succeeds and everything goes, none failed.
    shell.advance(60_000);
    shell.alarm();
    shell.respond_ok();
    assert_eq!(shell.view().server_problem, None);
    let batch = shell.only_request().clone();
    assert_eq!(sessions_in(&batch).len(), 4);
    shell.deliver_all();
    let view = shell.view();
    assert_eq!((view.pending, view.failed.len()), (0, 0));
    assert_eq!(view.status, Status::Idle);
    assert_eq!(view.last_error, None);
}

#[test]
fn the_alarm_does_not_probe_when_nothing_is_pending() {
    let mut shell = Shell::new();
    shell.command(Command::PopupOpened);
    shell.respond(answer(404, None, HTML_404));
    assert_eq!(shell.view().status, Status::ServerProblem);
    shell.alarm();
    assert!(shell.requests.is_empty(), "an idle extension sends nothing");
}

#[test]
fn new_settings_end_the_pause_at_once() {
    let mut shell = queued_then_sent(2);
    shell.respond(answer(405, None, ""));
    assert!(shell.requests.is_empty());
    shell.command(Command::TokenSet);
    assert_eq!(shell.view().server_problem, None);
    assert_eq!(sessions_in(shell.only_request()).len(), 2);
    shell.deliver_all();
    assert_eq!(shell.view().pending, 0);
}

#[test]
fn sync_now_probes_while_paused() {
    let mut shell = queued_then_sent(1);
    shell.respond(answer(404, None, HTML_404));
    shell.advance(10_000);
    shell.command(Command::SyncNow);
    assert_eq!(shell.only_request().path, "/api/v1/me");
    shell.respond_ok();
    assert_eq!(sessions_in(shell.only_request()).len(), 1);
}

#[test]
fn the_pause_survives_a_restart_and_the_items_with_it() {
    let mut shell = queued_then_sent(2);
    shell.respond(answer(404, None, HTML_404));
    shell.restart();
    assert!(shell.requests.is_empty(), "a restarted worker stays paused");
    assert_eq!(shell.view().status, Status::ServerProblem);
    assert_eq!(shell.view().pending, 2);
    shell.alarm();
    shell.respond_ok();
    shell.deliver_all();
    assert_eq!((shell.view().pending, shell.view().failed.len()), (0, 0));
}

#[test]
fn a_whole_batch_refused_with_a_field_is_not_the_items_fault() {
    let mut shell = queued_then_sent(3);
    assert_eq!(shell.requests[0].1.method, Method::Post);
    let body = error_body(
        "invalid_field",
        "sessions: expected an array",
        Some("sessions"),
    );
    shell.respond(answer(400, None, &body));
    let view = shell.view();
    assert_eq!((view.pending, view.failed.len()), (3, 0));
    assert_eq!(view.status, Status::ServerProblem);
}

#[test]
fn a_put_refused_with_an_item_naming_error_still_dead_letters_that_item() {
    for (status, body) in [
        (
            400,
            error_body("invalid_field", "pr_number: too big", Some("pr_number")),
        ),
        (422, error_body("conflict", "ended before it started", None)),
    ] {
        let mut shell = queued_then_sent(1);
        shell.respond(answer(status, None, &body));
        let view = shell.view();
        assert_eq!((view.pending, view.failed.len()), (0, 1), "{status}");
        assert_ne!(view.status, Status::ServerProblem, "{status}");
        assert_eq!(view.server_problem, None);
    }
}

#[test]
fn a_retry_after_hold_survives_a_worker_restart() {
    let mut shell = queued_then_sent(1);
    let held_at = shell.now;
    shell.respond(answer(503, Some("120"), "busy"));
    assert_eq!(
        shell.store.meta.as_ref().unwrap().server_busy_until,
        Some(held_at + worktime_core::DurationMillis::from_secs(120)),
        "the hold is persisted"
    );
    shell.advance(5_000);
    shell.restart();
    // Whatever wants to go — the queued item, a new review, Sync now's pull —
    // waits out the server's 120 s.
    shell.review(5, 9);
    shell.command(Command::PopupOpened);
    assert!(shell.requests.is_empty(), "nothing before Retry-After");
    assert_eq!(
        shell.view().next_retry,
        Some(held_at + worktime_core::DurationMillis::from_secs(120))
    );
    shell.advance(114_000);
    assert!(shell.requests.is_empty(), "still within the hold");
    shell.advance(2_000);
    assert!(!shell.requests.is_empty(), "sent once the hold is over");
    shell.deliver_all();
    assert_eq!(shell.view().pending, 0);
}

#[test]
fn a_stored_hold_beyond_any_retry_after_is_capped_at_an_hour() {
    let mut shell = queued_then_sent(1);
    shell.respond(answer(429, Some("60"), ""));
    // The clock went back two days while the worker was down.
    shell.now = shell.now + worktime_core::DurationMillis(-2 * 86_400_000);
    shell.restart();
    assert!(shell.requests.is_empty());
    shell.advance(3_600_000 + 60_000);
    assert!(!shell.requests.is_empty(), "at most an hour's wait");
}
