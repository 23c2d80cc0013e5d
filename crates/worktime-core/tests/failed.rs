//! The failed (dead-letter) list: permanent refusals only, with the
//! server's reason; at most 50, oldest evicted first and counted; retry and
//! discard.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Shell, answer, error_body, sessions_in};
use worktime_core::failed::MAX_FAILED;
use worktime_core::{Command, Status};
use worktime_protocol::{BatchResponse, ErrorBody, ItemResult, ItemStatus};

/// The server's verdict on a PUT's session: 400 naming a field.
fn field_refusal() -> String {
    error_body(
        "invalid_field",
        "pr_number: no such pull request",
        Some("pr_number"),
    )
}

/// `n` ended sessions queued offline, then sent in one batch.
fn batch_in_flight(n: i64) -> Shell {
    let mut shell = Shell::new();
    shell.set_online(false);
    for tab in 0..n {
        shell.review(tab, 1 + tab as u64);
    }
    shell.set_online(true);
    shell
}

/// A batch reply refusing the items `refuse` says to.
fn batch_reply(shell: &Shell, refuse: impl Fn(usize) -> bool) -> String {
    let sent = sessions_in(&shell.requests[0].1);
    let results = sent
        .iter()
        .enumerate()
        .map(|(i, s)| ItemResult {
            local_id: s.local_id.to_string(),
            status: if refuse(i) {
                ItemStatus::Rejected
            } else {
                ItemStatus::Ok
            },
            error: refuse(i).then(|| ErrorBody {
                code: "invalid_field".into(),
                message: format!("item {i} is not acceptable"),
                field: Some("repo_name".into()),
            }),
        })
        .collect();
    serde_json::to_string(&BatchResponse { results }).unwrap()
}

#[test]
fn a_permanent_refusal_moves_the_item_to_the_failed_list_with_the_servers_reason() {
    let mut shell = Shell::new();
    shell.set_online(false);
    shell.review(1, 7);
    shell.set_online(true);
    let body = error_body("invalid_field", "repo_name is too long", Some("repo_name"));
    shell.respond(answer(422, None, &body));
    assert!(shell.store.queue.is_empty());
    assert_eq!(shell.store.failed.len(), 1, "the failed list is persisted");
    let view = shell.view();
    assert_eq!(view.failed.len(), 1);
    assert_eq!(view.failed[0].reason, "repo_name is too long");
    assert_eq!(view.failed[0].attempts, 1);
    assert_eq!(view.failed[0].pr.number, 7);
    assert_eq!(shell.store.failed[0].code, "invalid_field");
    assert!(shell.requests.is_empty(), "a refused item is not retried");
}

#[test]
fn item_naming_refusals_of_a_put_are_permanent_but_408_and_429_are_not() {
    let field = error_body("invalid_field", "pr_number: bad", Some("pr_number"));
    let conflict = error_body("conflict", "ended before", None);
    let too_large = error_body("payload_too_large", "over 64 KiB", None);
    for (status, body) in [(400, &field), (422, &conflict), (413, &too_large)] {
        let mut shell = batch_in_flight(1);
        shell.respond(answer(status, None, body));
        assert_eq!(shell.view().failed.len(), 1, "{status}");
        assert_eq!(shell.view().pending, 0, "{status}");
    }
    for status in [408, 429] {
        let mut shell = batch_in_flight(1);
        shell.respond(answer(status, None, ""));
        assert!(shell.view().failed.is_empty(), "{status}");
    }
    // Other 4xx, or these without the contract's body, are not about the
    // item (see server_problem.rs): nothing fails.
    for status in [400, 404, 409, 410, 413, 422] {
        let mut shell = batch_in_flight(1);
        shell.respond(answer(status, None, "not json"));
        assert!(shell.view().failed.is_empty(), "{status}");
        assert_eq!(shell.view().pending, 1, "{status}");
    }
}

#[test]
fn a_per_item_rejection_fails_only_that_item() {
    let mut shell = batch_in_flight(3);
    let reply = batch_reply(&shell, |i| i == 1);
    let refused = sessions_in(&shell.requests[0].1)[1].local_id.clone();
    shell.respond(answer(200, None, &reply));
    assert!(
        shell.store.queue.is_empty(),
        "the other two were acknowledged"
    );
    let failed = shell.engine.failed();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].session.local_id, refused);
    assert_eq!(failed[0].reason, "item 1 is not acceptable (repo_name)");
}

#[test]
fn the_failed_list_keeps_fifty_evicts_the_oldest_and_counts_evictions() {
    let mut shell = batch_in_flight(60);
    let sent = sessions_in(&shell.requests[0].1);
    let reply = batch_reply(&shell, |_| true);
    shell.respond(answer(200, None, &reply));
    assert_eq!(MAX_FAILED, 50);
    let view = shell.view();
    assert_eq!(view.failed.len(), 50);
    assert_eq!(view.evictions, 10);
    assert_eq!(shell.store.failed.len(), 50);
    assert_eq!(shell.store.meta.as_ref().unwrap().evictions, 10);
    let kept: Vec<_> = view.failed.iter().map(|f| f.local_id.clone()).collect();
    let newest: Vec<_> = sent[10..].iter().map(|s| s.local_id.clone()).collect();
    assert_eq!(kept, newest, "the ten oldest were evicted, oldest first");
    // The count survives a restart.
    shell.restart();
    assert_eq!(shell.view().evictions, 10);
    assert_eq!(shell.view().failed.len(), 50);
}

#[test]
fn retry_puts_a_failed_item_back_in_the_queue_with_fresh_attempts() {
    let mut shell = batch_in_flight(1);
    shell.respond(answer(400, None, &field_refusal()));
    let id = shell.view().failed[0].local_id.clone();
    shell.command(Command::RetryFailed {
        local_id: id.clone(),
    });
    assert!(shell.store.failed.is_empty());
    let entry = shell.only_queued();
    assert_eq!(entry.session.local_id, id);
    assert_eq!(entry.attempts, 0);
    assert_eq!(sessions_in(shell.only_request())[0].local_id, id);
    shell.respond_ok();
    assert!(shell.store.queue.is_empty());
    assert!(shell.view().failed.is_empty());
}

#[test]
fn retry_all_puts_every_failed_item_back() {
    let mut shell = batch_in_flight(4);
    let reply = batch_reply(&shell, |_| true);
    shell.respond(answer(200, None, &reply));
    assert_eq!(shell.view().failed.len(), 4);
    shell.command(Command::RetryAllFailed);
    assert!(shell.view().failed.is_empty());
    assert_eq!(shell.store.queue.len(), 4);
    shell.deliver_all();
    assert!(shell.store.queue.is_empty());
}

#[test]
fn discard_drops_a_failed_item_for_good() {
    let mut shell = batch_in_flight(2);
    let reply = batch_reply(&shell, |_| true);
    shell.respond(answer(200, None, &reply));
    let id = shell.view().failed[0].local_id.clone();
    shell.command(Command::DiscardFailed {
        local_id: id.clone(),
    });
    let view = shell.view();
    assert_eq!(view.failed.len(), 1);
    assert!(view.failed.iter().all(|f| f.local_id != id));
    assert!(shell.store.failed.iter().all(|f| f.session.local_id != id));
    assert!(shell.store.queue.is_empty());
    assert!(shell.requests.is_empty());
    // Unknown ids change nothing.
    shell.command(Command::DiscardFailed {
        local_id: id.clone(),
    });
    shell.command(Command::RetryFailed { local_id: id });
    assert_eq!(shell.view().failed.len(), 1);
    assert!(shell.store.queue.is_empty());
}

#[test]
fn failed_items_leave_the_status_idle_with_their_count_shown() {
    let mut shell = batch_in_flight(1);
    shell.respond(answer(400, None, &field_refusal()));
    shell.alarm();
    let view = shell.view();
    assert_eq!(view.failed.len(), 1);
    assert_eq!(view.pending, 0);
    assert_eq!(view.status, Status::Idle);
    assert!(shell.requests.is_empty(), "nothing to send");
}
