//! The pending queue: write-ahead, compaction, ended first, batches of at
//! most 500, deleted only after the server acknowledged, sent again after a
//! restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Shell, answer, sessions_in, success};
use worktime_core::{Method, Output, PageEvent, Record, SessionState, Write};
use worktime_protocol::{BatchResponse, ItemResult, ItemStatus, MAX_BATCH_ITEMS};

#[test]
fn a_session_is_persisted_before_the_request_that_carries_it() {
    let mut shell = Shell::new();
    shell.review(1, 7);
    // The harness checks every send against the store; here the order of
    // the outputs themselves: the queue put comes before the send.
    shell.page(2, 8, PageEvent::Visible);
    let outputs = &shell.last_outputs;
    let put = outputs.iter().position(|o| {
        matches!(o, Output::Persist { writes } if writes.iter().any(|w| matches!(w, Write::Put { record: Record::Queue(_) })))
    });
    let send = outputs
        .iter()
        .position(|o| matches!(o, Output::Send { .. }));
    assert!(put.is_some(), "outputs: {outputs:?}");
    if let Some(send) = send {
        assert!(put < Some(send), "sent before persisted: {outputs:?}");
    }
}

#[test]
fn an_item_is_deleted_only_after_the_server_acknowledged_it() {
    let mut shell = Shell::new();
    shell.review(1, 7);
    assert_eq!(shell.requests.len(), 1);
    assert_eq!(shell.store.queue.len(), 1, "kept while the request is out");
    shell.respond_ok();
    shell.deliver_all();
    assert!(shell.store.queue.is_empty());
    assert_eq!(shell.view().pending, 0);
}

#[test]
fn changes_to_one_session_compact_into_its_latest_state() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible);
    for _ in 0..12 {
        shell.advance(60_000); // checkpoints and 5-minute activity updates
    }
    shell.remove_tab(1);
    let entry = shell.only_queued().clone();
    assert_eq!(entry.session.state, SessionState::Ended);
    assert_eq!(entry.session.active_seconds, 12 * 60);
    shell.set_online(true);
    let sent = sessions_in(shell.only_request());
    assert_eq!(sent.len(), 1, "one request with the latest state only");
    assert_eq!(sent[0], entry.session);
}

#[test]
fn ended_sessions_are_sent_before_active_ones() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.page(1, 7, PageEvent::Visible); // stays open: active
    shell.advance(1_000);
    shell.review(2, 8); // ends
    shell.set_online(true);
    let sent = sessions_in(shell.only_request());
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].pr_number, 8);
    assert_eq!(sent[0].state, SessionState::Ended);
    assert_eq!(sent[1].pr_number, 7);
    assert_eq!(sent[1].state, SessionState::Active);
}

#[test]
fn a_single_item_goes_as_a_put_and_many_as_batches_of_at_most_500() {
    let mut shell = Shell::new();
    shell.review(1, 1);
    let request = shell.only_request();
    assert_eq!(request.method, Method::Put);
    let id = sessions_in(request)[0].local_id.clone();
    assert_eq!(request.path, format!("/api/v1/sessions/{id}"));
    shell.deliver_all();

    shell.set_online(false);
    for tab in 0..1_200 {
        shell.review(100 + tab, 1 + tab as u64 % 50);
    }
    assert_eq!(shell.store.queue.len(), 1_200);
    shell.set_online(true);
    let mut sizes = Vec::new();
    while !shell.requests.is_empty() {
        let request = &shell.requests[0].1;
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.path, "/api/v1/sessions/batch");
        sizes.push(sessions_in(request).len());
        shell.respond_ok();
    }
    assert_eq!(MAX_BATCH_ITEMS, 500);
    assert_eq!(sizes, [500, 500, 200]);
    assert!(shell.store.queue.is_empty());
}

#[test]
fn an_item_in_flight_when_the_worker_dies_is_sent_again_after_restart() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.review(1, 7);
    shell.set_online(true);
    let (old_id, old_request) = shell.requests[0].clone();
    shell.restart();
    let request = shell.only_request().clone();
    assert_eq!(sessions_in(&request), sessions_in(&old_request));
    // The dead worker's answer reaches the new one: ignored.
    let now = shell.now;
    shell.handle(worktime_core::Input::Response {
        now,
        request_id: old_id,
        outcome: success(&old_request),
    });
    assert_eq!(
        shell.store.queue.len(),
        1,
        "a stale answer acknowledged nothing"
    );
    shell.respond_ok();
    assert!(shell.store.queue.is_empty());
}

#[test]
fn a_newer_version_queued_while_the_old_one_was_in_flight_survives_its_ack() {
    let mut shell = Shell::new();
    shell.page(1, 7, PageEvent::Visible); // "started" goes out
    assert_eq!(shell.requests.len(), 1);
    shell.advance(5_000);
    shell.remove_tab(1); // ended, queued behind it
    shell.respond_ok(); // acknowledges "started" only
    let entry = shell.only_queued();
    assert_eq!(entry.session.state, SessionState::Ended);
    let sent = sessions_in(shell.only_request());
    assert_eq!(sent[0].state, SessionState::Ended);
    shell.respond_ok();
    assert!(shell.store.queue.is_empty());
}

#[test]
fn a_malformed_batch_reply_loses_nothing() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.review(1, 7);
    shell.review(2, 8);
    shell.set_online(true);
    shell.respond(answer(200, None, "{\"results\": 7"));
    assert_eq!(shell.store.queue.len(), 2);
    assert!(shell.store.queue.iter().all(|e| e.attempts == 1));
    assert!(shell.view().last_error.unwrap().contains("malformed"));
}

#[test]
fn a_batch_reply_that_leaves_an_item_out_retries_that_item() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.review(1, 7);
    shell.review(2, 8);
    shell.set_online(true);
    let sent = sessions_in(shell.only_request());
    let reply = BatchResponse {
        results: vec![ItemResult {
            local_id: sent[0].local_id.to_string(),
            status: ItemStatus::Ok,
            error: None,
        }],
    };
    shell.respond(answer(200, None, &serde_json::to_string(&reply).unwrap()));
    let left = shell.only_queued();
    assert_eq!(left.session.local_id, sent[1].local_id);
    assert_eq!(left.attempts, 1);
}
