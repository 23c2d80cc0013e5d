//! Today's total: the pull of today's sessions follows the server's `next`
//! past 500 sessions, and the day rolls over at local midnight without a
//! restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Shell, T0, answer};
use worktime_core::coord::MAX_PULL_PAGES;
use worktime_core::{Command, LocalId, Method, PageEvent, Session, SessionState, UnixMillis};
use worktime_protocol::SessionsPage;

const HOUR: i64 = 3_600_000;

/// A session of another device that started at `start` with `secs` active.
fn theirs(n: usize, start: i64, secs: u32) -> Session {
    Session {
        local_id: LocalId::parse(&format!("other-{n}")).unwrap(),
        repo_owner: "octo".into(),
        repo_name: "hello".into(),
        pr_number: 1 + n as u64,
        started_at: UnixMillis(start),
        ended_at: Some(UnixMillis(start + i64::from(secs) * 1000)),
        active_seconds: secs,
        state: SessionState::Ended,
        updated_at: UnixMillis(start + i64::from(secs) * 1000),
    }
}

fn page(sessions: Vec<Session>, next: Option<&str>) -> String {
    serde_json::to_string(&SessionsPage {
        sessions,
        next: next.map(str::to_owned),
    })
    .unwrap()
}

/// A review of PR `n` in `tab` with `secs` of visible time.
fn review_for(shell: &mut Shell, tab: i64, n: u64, secs: i64) {
    shell.page(tab, n, PageEvent::Visible);
    shell.advance(secs * 1000);
    shell.page(tab, n, PageEvent::Closed);
    shell.remove_tab(tab);
    shell.deliver_all();
}

#[test]
fn the_pull_follows_next_past_five_hundred_sessions() {
    let mut shell = Shell::new();
    shell.command(Command::PopupOpened);
    let first = shell.only_request().clone();
    assert_eq!(first.method, Method::Get);
    assert!(
        first.path.starts_with("/api/v1/sessions?since="),
        "{}",
        first.path
    );
    assert!(!first.path.contains("cursor="));
    let one: Vec<Session> = (0..500).map(|i| theirs(i, T0 - HOUR, 10)).collect();
    shell.respond(answer(200, None, &page(one, Some("1795258800000_500"))));

    let second = shell.only_request().clone();
    assert_eq!(
        second.path,
        format!("{}&cursor=1795258800000_500", first.path),
        "the same query, after the server's cursor"
    );
    let two: Vec<Session> = (500..503).map(|i| theirs(i, T0 - HOUR, 10)).collect();
    shell.respond(answer(200, None, &page(two, None)));
    assert!(shell.requests.is_empty(), "the last page ends the pull");
    assert_eq!(shell.view().today_seconds, 503 * 10);
}

#[test]
fn a_cursor_is_sent_percent_encoded_and_a_server_that_never_ends_is_followed_only_so_far() {
    let mut shell = Shell::new();
    shell.command(Command::PopupOpened);
    let mut pages = 0;
    while let Some((_, request)) = shell.requests.first().cloned() {
        pages += 1;
        if pages > 1 {
            assert!(
                request.path.ends_with("&cursor=a%26b%3Dc%20d"),
                "{}",
                request.path
            );
        }
        shell.respond(answer(200, None, &page(vec![], Some("a&b=c d"))));
        assert!(pages <= 100, "the engine never stops pulling");
    }
    assert_eq!(pages, MAX_PULL_PAGES as usize);
}

#[test]
fn the_total_rolls_over_at_local_midnight_without_a_restart() {
    let mut shell = Shell::new();
    review_for(&mut shell, 1, 1, 60);
    assert_eq!(shell.view().today_seconds, 60);
    // 12 h later it is 00:00:30 of the next day (UTC offset 0): yesterday's
    // review no longer counts, today's does.
    shell.advance(12 * HOUR - 60_000 + 30_000);
    assert_eq!(shell.view().today_seconds, 0);
    review_for(&mut shell, 2, 2, 20);
    assert_eq!(shell.view().today_seconds, 20);
    assert_eq!(
        shell.store.meta.as_ref().unwrap().today.seconds.len(),
        1,
        "the stored totals hold the new day only"
    );
}

#[test]
fn opening_the_popup_after_midnight_pulls_even_right_after_a_pull() {
    let mut shell = Shell::new();
    // 23:55: a pull.
    shell.advance(12 * HOUR - 5 * 60_000);
    shell.command(Command::PopupOpened);
    shell.respond(answer(200, None, &page(vec![theirs(0, T0, 100)], None)));
    assert_eq!(shell.view().today_seconds, 100);
    // 00:01, six minutes later: within the 15 minutes, but a new day.
    shell.advance(6 * 60_000);
    assert_eq!(shell.view().today_seconds, 0);
    shell.command(Command::PopupOpened);
    let pull = shell.only_request().clone();
    assert!(
        pull.path.contains("since=2026-11-22T00:00:00.000Z"),
        "{}",
        pull.path
    );
    let today = T0 + 12 * HOUR + 30_000;
    shell.respond(answer(200, None, &page(vec![theirs(1, today, 7)], None)));
    assert_eq!(shell.view().today_seconds, 7);
}
