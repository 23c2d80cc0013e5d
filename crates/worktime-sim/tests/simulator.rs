//! The simulator against the real engine (every promise holds on hundreds of
//! seeds), against deliberately broken engines (it notices), and its replay
//! (a seed decides everything).
//!
//! `SIM_SEED=<n> cargo test -p worktime-sim` runs only seed `n` (with
//! `SIM_TRACE=1` it prints every input and output).

// Helpers outside `#[test]` functions panic on purpose, as tests do.
#![allow(clippy::expect_used)]

use std::time::{Duration, Instant};
use worktime_sim::{Bug, Stats, Violation, run_seed};

/// Seeds per `cargo test` run (the issue asks for at least 500).
const SEEDS: u64 = 500;
/// Faulty steps per seed before the quiet phase.
const STEPS: usize = 1_000;

/// The seeds to run: `SIM_SEED` alone when set, else `0..n`.
fn seeds(n: u64) -> Vec<u64> {
    match std::env::var("SIM_SEED") {
        Ok(s) => vec![
            s.trim()
                .parse()
                .expect("SIM_SEED must be a seed number, e.g. SIM_SEED=42"),
        ],
        Err(_) => (0..n).collect(),
    }
}

/// Runs `seeds` on both cores; returns the summed stats and every violation.
fn run_all(seeds: &[u64], steps: usize, bug: Bug) -> (Stats, Vec<Violation>) {
    let halves: Vec<Vec<u64>> = vec![
        seeds.iter().copied().step_by(2).collect(),
        seeds.iter().copied().skip(1).step_by(2).collect(),
    ];
    let results: Vec<(Stats, Vec<Violation>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = halves
            .into_iter()
            .map(|part| {
                scope.spawn(move || {
                    let mut stats = Stats::default();
                    let mut violations = Vec::new();
                    for seed in part {
                        match run_seed(seed, steps, bug) {
                            Ok(s) => stats += s,
                            Err(v) => violations.push(v),
                        }
                    }
                    (stats, violations)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a simulator thread panicked"))
            .collect()
    });
    let mut total = Stats::default();
    let mut violations = Vec::new();
    for (s, v) in results {
        total += s;
        violations.extend(v);
    }
    violations.sort_by_key(|v| v.seed);
    (total, violations)
}

#[test]
fn five_hundred_seeds_of_a_thousand_faulty_steps_break_no_promise() {
    let seeds = seeds(SEEDS);
    let started = Instant::now();
    let (stats, violations) = run_all(&seeds, STEPS, Bug::None);
    let elapsed = started.elapsed();
    for v in &violations {
        eprintln!("{v}");
    }
    eprintln!(
        "{} seeds, {} steps, {} violations in {:.1} s; {} kills, {} requests, {} faults ({} duplicate traps), {} sessions ended",
        seeds.len(),
        stats.steps,
        violations.len(),
        elapsed.as_secs_f64(),
        stats.kills,
        stats.requests,
        stats.faults,
        stats.duplicate_traps,
        stats.ended
    );
    assert!(
        violations.is_empty(),
        "{} of {} seeds broke a promise; first: {} — replay with SIM_SEED={} cargo test -p worktime-sim",
        violations.len(),
        seeds.len(),
        violations[0],
        violations[0].seed
    );
    if seeds.len() as u64 == SEEDS {
        // The run really exercised the fault menu (not a quiet no-op).
        assert_eq!(stats.steps, SEEDS * STEPS as u64);
        assert!(stats.kills > SEEDS, "too few worker kills: {}", stats.kills);
        assert!(
            stats.duplicate_traps > 0,
            "no duplicate trap was ever sprung"
        );
        assert!(
            stats.ended > SEEDS,
            "too few sessions ended: {}",
            stats.ended
        );
        assert!(stats.on_server > 0 && stats.failed > 0);
        assert!(
            elapsed < Duration::from_secs(60),
            "the simulator took {elapsed:?} for {SEEDS} seeds"
        );
    }
}

/// Finds the first seed on which the simulator notices `bug`.
fn first_violation(bug: Bug) -> Option<Violation> {
    worktime_sim::hunt(bug, STEPS)
}

/// The mutation score: every planted bug is caught within the bound, and
/// by the promise it breaks.
#[test]
fn the_simulator_catches_every_planted_bug_within_two_hundred_seeds() {
    let expected: [(Bug, &[&str]); 10] = [
        (
            Bug::DeadLetter503,
            &["Retry-After", "never reached", "nothing lost"],
        ),
        (Bug::IgnoreRetryAfter, &["Retry-After"]),
        (Bug::ZeroBackoff, &["backoff", "not in the future"]),
        (Bug::DeleteBeforeAck, &["write-ahead", "nothing lost"]),
        (Bug::SkipQueueWrites, &["write-ahead", "nothing lost"]),
        (
            Bug::DropOrphanAtStart,
            &["write-ahead", "never reached", "nothing lost"],
        ),
        (Bug::CountHiddenTime, &["counted twice"]),
        (Bug::LeavingIsRemoval, &["missed"]),
        (Bug::TombstoneOutlivesRestart, &["missed"]),
        (Bug::SendBeforePersist, &["write-ahead"]),
    ];
    assert_eq!(expected.len(), Bug::ALL.len());
    let found: Vec<(Bug, Option<Violation>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = Bug::ALL
            .iter()
            .map(|&bug| scope.spawn(move || (bug, first_violation(bug))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a hunt panicked"))
            .collect()
    });
    for ((bug, violation), (want, words)) in found.into_iter().zip(expected) {
        assert_eq!(bug, want);
        let v = violation.unwrap_or_else(|| {
            panic!(
                "{} went unnoticed in {} seeds",
                bug.name(),
                worktime_sim::MUTANT_SEEDS
            )
        });
        assert!(
            words.iter().any(|w| v.message.contains(w)),
            "{} was caught for another reason: {v}",
            bug.name()
        );
    }
}

#[test]
fn a_violation_names_its_seed_and_how_to_replay_it() {
    let v = first_violation(Bug::DeleteBeforeAck).expect("the broken engine went unnoticed");
    let text = v.to_string();
    assert!(text.contains(&format!("seed {}", v.seed)), "{text}");
    assert!(text.contains(&format!("SIM_SEED={}", v.seed)), "{text}");
    // Replaying the seed finds the same violation at the same step.
    assert_eq!(run_seed(v.seed, STEPS, Bug::DeleteBeforeAck).err(), Some(v));
}

#[test]
fn the_same_seed_replays_exactly() {
    for seed in [3, 77, 1_000_003] {
        let a = run_seed(seed, 300, Bug::None);
        let b = run_seed(seed, 300, Bug::None);
        assert_eq!(a, b, "seed {seed} did not replay exactly");
    }
    assert_ne!(
        run_seed(3, 300, Bug::None),
        run_seed(4, 300, Bug::None),
        "different seeds should make different worlds"
    );
}
