//! The local clock never costs a review: a clock wrong by up to a day, or
//! one that steps back or forward during a session, neither makes a session
//! invalid (locally or on the server, which refuses timestamps more than
//! 5 minutes ahead of its own clock) nor distorts its active seconds beyond
//! the tracker's bound on one gap; on the wire, timestamps are within a few
//! seconds of the server's clock, learnt from its `Date` headers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Shell, T0, answer, error_body, sessions_in, success};
use worktime_core::tracker::MAX_ACCRUAL_GAP;
use worktime_core::{DurationMillis, HttpOutcome, Input, PageEvent, UnixMillis};
use worktime_protocol::validate::validate_session;

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

/// Answers the oldest request as the real server would at `server_now`:
/// its `Date` header first, then a 400 naming the field of the first
/// session its validation refuses, or success. Returns the sessions sent.
fn serve(shell: &mut Shell, server_now: UnixMillis) -> Vec<worktime_core::Session> {
    let request = shell.requests[0].1.clone();
    let sent = sessions_in(&request);
    let date = UnixMillis(server_now.0 / 1000 * 1000);
    let now = shell.now;
    shell.handle(Input::ServerClock {
        now,
        server_date: date,
    });
    let refusal = sent
        .iter()
        .find_map(|s| validate_session(s, server_now).err());
    let outcome: HttpOutcome = match refusal {
        Some(e) if sent.len() == 1 => answer(
            400,
            None,
            &error_body("invalid_field", &e.message, Some(e.field)),
        ),
        Some(e) => panic!("a batch carried a session the server refuses: {e}"),
        None => success(&request),
    };
    shell.respond(outcome);
    sent
}

/// Serves every request (and the ones they lead to) on a server whose
/// clock is `skew` behind ours; returns the sessions of the last one.
fn serve_all(shell: &mut Shell, skew: i64) -> Vec<worktime_core::Session> {
    let mut last = Vec::new();
    let mut rounds = 0;
    while !shell.requests.is_empty() {
        rounds += 1;
        assert!(rounds < 10, "the engine keeps sending");
        let server_now = UnixMillis(shell.now.0 - skew);
        last = serve(shell, server_now);
    }
    last
}

fn within_seconds(a: UnixMillis, b: UnixMillis, secs: i64) -> bool {
    (a.0 - b.0).abs() <= secs * 1000
}

#[test]
fn a_clock_a_day_ahead_costs_no_review_and_the_wire_carries_the_servers_time() {
    for skew in [DAY, -DAY, 10 * 60_000, -3 * HOUR] {
        // The local clock reads T0 + skew while the server's reads T0.
        let mut shell = Shell::with_store(Default::default(), UnixMillis(T0 + skew));
        // The started version goes at once (and is refused as from the
        // future while the offset is unknown), then the ended one.
        shell.page(1, 7, PageEvent::Visible);
        serve_all(&mut shell, skew);
        shell.advance(60_000);
        shell.page(1, 7, PageEvent::Closed);
        shell.remove_tab(1);
        let delivered = serve_all(&mut shell, skew);
        let view = shell.view();
        assert_eq!(view.failed.len(), 0, "skew {skew}: nothing failed");
        assert_eq!(view.pending, 0, "skew {skew}: delivered");
        let ended = delivered.last().unwrap();
        let server_now = UnixMillis(shell.now.0 - skew);
        assert!(
            within_seconds(ended.ended_at.unwrap(), server_now, 3),
            "skew {skew}: ended_at {:?} vs the server's {:?}",
            ended.ended_at,
            server_now
        );
        assert_eq!(ended.active_seconds, 60, "skew {skew}");
        assert!(
            within_seconds(
                UnixMillis(shell.engine.clock_offset().0),
                UnixMillis(-skew),
                1
            ),
            "the offset learnt: {:?}",
            shell.engine.clock_offset()
        );

        // Once the offset is known, the next review goes right the first time.
        let before = shell.sent_total;
        shell.page(2, 8, PageEvent::Visible);
        serve_all(&mut shell, skew);
        assert_eq!(shell.sent_total - before, 1, "skew {skew}: one request");
        assert_eq!(shell.view().failed.len(), 0);
    }
}

#[test]
fn the_offset_survives_a_restart() {
    let mut shell = Shell::with_store(Default::default(), UnixMillis(T0 + DAY));
    shell.command(worktime_core::Command::PopupOpened);
    serve(&mut shell, UnixMillis(T0));
    let offset = shell.engine.clock_offset();
    assert_eq!(offset, DurationMillis(-DAY));
    shell.restart();
    assert_eq!(shell.engine.clock_offset(), offset);
}

#[test]
fn a_clock_stepping_back_an_hour_during_a_session_leaves_it_valid_with_its_time() {
    let mut shell = Shell::new();
    shell.page(1, 7, PageEvent::Visible);
    shell.deliver_all();
    shell.advance(40_000);
    // The clock goes back an hour (NTP, a user fixing it).
    shell.now = UnixMillis(shell.now.0 - HOUR);
    shell.handle(Input::TimerDue { now: shell.now });
    shell.advance(20_000);
    shell.page(1, 7, PageEvent::Closed);
    shell.remove_tab(1);
    let view = shell.view();
    assert_eq!(
        view.failed.len(),
        0,
        "not failed locally: {:?}",
        view.failed
    );
    let entry = shell.only_queued().clone();
    let s = &entry.session;
    assert_eq!(validate_session(s, shell.now), Ok(()), "{s:?}");
    // What was counted before the step is kept (the tracker counts a
    // backward gap as nothing).
    assert!(
        (30..=62).contains(&s.active_seconds),
        "active seconds kept: {}",
        s.active_seconds
    );
    // The server, whose clock is right (the local one now is), takes it.
    serve_all(&mut shell, 0);
    assert_eq!((shell.view().pending, shell.view().failed.len()), (0, 0));
}

#[test]
fn a_clock_stepping_forward_a_day_during_a_session_costs_nothing_and_adds_at_most_one_gap() {
    let mut shell = Shell::new();
    shell.page(1, 7, PageEvent::Visible);
    shell.deliver_all();
    shell.advance(40_000);
    // A day ahead; the server's clock still reads true time.
    let skew = DAY;
    shell.now = UnixMillis(shell.now.0 + skew);
    shell.handle(Input::TimerDue { now: shell.now });
    shell.advance(20_000);
    shell.page(1, 7, PageEvent::Closed);
    shell.remove_tab(1);
    let ended = serve_all(&mut shell, skew).pop();
    let view = shell.view();
    assert_eq!(
        (view.pending, view.failed.len()),
        (0, 0),
        "{:?}",
        view.failed
    );
    let meta = shell.store.meta.as_ref().unwrap();
    assert_eq!(meta.clock_offset, Some(DurationMillis(-skew)));
    let ended = ended.unwrap();
    assert!(ended.is_ended());
    // True active time was 60 s; the jump itself counts at most one gap.
    let active = u64::from(ended.active_seconds);
    assert!(
        (55..=60 + MAX_ACCRUAL_GAP.0 as u64 / 1000).contains(&active),
        "active {active}"
    );
}
