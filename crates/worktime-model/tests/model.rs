//! The model check on a world small enough for `cargo test` (one tab, one
//! fault of each kind), and proof that it has teeth.

use worktime_model::{Bounds, Flaw, SyncModel, check, check_model};

const SMALL: Bounds = Bounds {
    tabs: 1,
    kills: 1,
    lost_replies: 1,
    duplicates: 1,
    user_ms: 30_000,
    horizon_ms: 120_000,
};

#[test]
fn every_interleaving_of_one_review_with_a_kill_a_lost_and_a_duplicate_answer_keeps_every_promise()
{
    let report = check(SMALL, 2);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    assert!(
        report.unique_states > 100,
        "too small to mean anything: {report:?}"
    );
}

#[test]
fn the_check_finds_a_lost_review_when_queue_writes_are_not_persisted() {
    let model = SyncModel {
        bounds: SMALL,
        flaw: Some(Flaw::SkipQueueWrites),
    };
    let report = check_model(model, 2);
    assert!(
        report
            .violations
            .iter()
            .any(|v| v.starts_with("nothing lost")),
        "{:?}",
        report.violations
    );
}

#[test]
fn the_check_finds_a_lost_review_when_items_are_deleted_before_the_ack() {
    let model = SyncModel {
        bounds: SMALL,
        flaw: Some(Flaw::DeleteBeforeAck),
    };
    let report = check_model(model, 2);
    assert!(
        report
            .violations
            .iter()
            .any(|v| v.starts_with("nothing lost") || v.starts_with("drained")),
        "{:?}",
        report.violations
    );
}
