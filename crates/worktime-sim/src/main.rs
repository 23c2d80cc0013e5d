//! `worktime-sim --seeds N [--steps M] [--first S]`: runs the simulator on
//! many seeds and prints seeds, steps, violations and time.

use std::time::Instant;
use worktime_sim::{Bug, Stats, run_seed};

fn main() {
    let mut seeds: u64 = 1_000;
    let mut steps: usize = 1_000;
    let mut first: u64 = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        let parsed = value.as_deref().and_then(|v| v.parse::<u64>().ok());
        match (arg.as_str(), parsed) {
            ("--seeds", Some(v)) => seeds = v,
            ("--steps", Some(v)) => steps = usize::try_from(v).unwrap_or(usize::MAX),
            ("--first", Some(v)) => first = v,
            _ => {
                eprintln!("usage: worktime-sim [--seeds N] [--steps M] [--first S]");
                std::process::exit(2);
            }
        }
    }
    if let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        first = seed;
        seeds = 1;
    }
    let started = Instant::now();
    let mut total = Stats::default();
    let mut violations = Vec::new();
    for seed in first..first.saturating_add(seeds) {
        match run_seed(seed, steps, Bug::None) {
            Ok(stats) => total += stats,
            Err(v) => {
                eprintln!("{v}");
                violations.push(v);
            }
        }
    }
    let elapsed = started.elapsed();
    println!(
        "seeds: {seeds} (from {first}), steps: {} ({steps} per seed), violations: {}, time: {:.1} s",
        total.steps,
        violations.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "inputs: {}, worker kills: {}, requests: {}, faults injected: {} (duplicate traps: {}), sessions ended: {}, on server: {}, failed: {}, evicted: {}",
        total.inputs,
        total.kills,
        total.requests,
        total.faults,
        total.duplicate_traps,
        total.ended,
        total.on_server,
        total.failed,
        total.evictions
    );
    if !violations.is_empty() {
        std::process::exit(1);
    }
}
