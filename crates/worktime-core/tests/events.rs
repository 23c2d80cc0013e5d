//! What the UI hears: sync started / completed / error, queue and session
//! updates, and a status snapshot whenever what the popup shows changes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Shell, answer};
use worktime_core::{Output, PageEvent, SessionState, Status, UiEvent};

#[test]
fn a_sync_run_is_announced_from_start_to_completion() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.review(1, 7);
    shell.review(2, 8);
    shell.take_events();
    shell.set_online(true);
    let events = shell.take_events();
    assert!(events.contains(&UiEvent::SyncStarted), "{events:?}");
    shell.respond_ok();
    let events = shell.take_events();
    assert!(
        events.contains(&UiEvent::SyncCompleted {
            delivered: 2,
            rejected: 0
        }),
        "{events:?}"
    );
    assert!(
        events.contains(&UiEvent::QueueUpdated {
            pending: 0,
            failed: 0
        }),
        "{events:?}"
    );
}

#[test]
fn a_failed_request_is_announced_as_a_sync_error() {
    let mut shell = Shell::new();
    shell.review(1, 7);
    shell.take_events();
    shell.respond(answer(500, None, ""));
    let events = shell.take_events();
    assert!(
        events.contains(&UiEvent::SyncError {
            message: "server answered 500".into()
        }),
        "{events:?}"
    );
}

#[test]
fn session_changes_are_announced() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    let events = shell.take_events();
    assert!(
        events.iter().any(|e| matches!(e,
            UiEvent::SessionUpdated { pr, state: SessionState::Active, .. } if pr.number == 7)),
        "{events:?}"
    );
    assert!(
        events.contains(&UiEvent::QueueUpdated {
            pending: 1,
            failed: 0
        }),
        "{events:?}"
    );
    shell.advance(30_000);
    shell.remove_tab(1);
    let events = shell.take_events();
    assert!(
        events.contains(&UiEvent::SessionUpdated {
            pr: support::pr(7),
            active_seconds: 30,
            state: SessionState::Ended
        }),
        "{events:?}"
    );
}

#[test]
fn the_status_snapshot_follows_offline_syncing_and_idle() {
    let mut shell = Shell::new();
    assert_eq!(shell.last_view.as_ref().unwrap().status, Status::Idle);
    shell.set_online(false);
    assert_eq!(shell.last_view.as_ref().unwrap().status, Status::Offline);
    shell.review(1, 7);
    let view = shell.last_view.clone().unwrap();
    assert_eq!((view.status, view.pending), (Status::Offline, 1));
    shell.set_online(true);
    let view = shell.last_view.clone().unwrap();
    assert_eq!((view.status, view.in_flight), (Status::Syncing, 1));
    shell.respond_ok();
    let view = shell.last_view.clone().unwrap();
    assert_eq!((view.status, view.pending), (Status::Idle, 0));
    // Nothing changed, nothing announced.
    shell.alarm();
    assert!(
        !shell
            .last_outputs
            .iter()
            .any(|o| matches!(o, Output::StatusChanged { .. })),
        "{:?}",
        shell.last_outputs
    );
}
