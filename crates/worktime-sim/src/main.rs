//! `worktime-sim --seeds N [--steps M] [--first S]`: runs the simulator on
//! many seeds and prints seeds, steps, violations and time.
//! `worktime-sim --mutants [--steps M]`: the mutation score, one line per
//! planted bug and a last line `caught N of N`.

use std::time::Instant;
use worktime_sim::{Bug, Stats, run_seed};

/// Hunts every planted bug (two at a time on the cores) and prints the
/// table; the exit status says whether all were caught.
fn mutation_score(steps: usize) -> i32 {
    let started = Instant::now();
    let results: Vec<(Bug, Option<worktime_sim::Violation>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = Bug::ALL
            .iter()
            .map(|&bug| scope.spawn(move || (bug, worktime_sim::hunt(bug, steps))))
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut caught = 0;
    for (bug, found) in &results {
        match found {
            Some(v) => {
                caught += 1;
                let at = if v.step == usize::MAX {
                    "the liveness phase".to_owned()
                } else {
                    format!("step {}", v.step)
                };
                let why: String = v.message.chars().take(90).collect();
                println!("{:<44} caught at seed {} / {at}: {why}", bug.name(), v.seed);
            }
            None => println!(
                "{:<44} NOT caught in {} seeds",
                bug.name(),
                worktime_sim::MUTANT_SEEDS
            ),
        }
    }
    println!(
        "({} steps per seed, at most {} seeds each, {:.1} s)",
        steps,
        worktime_sim::MUTANT_SEEDS,
        started.elapsed().as_secs_f64()
    );
    println!("caught {caught} of {}", Bug::ALL.len());
    i32::from(caught != Bug::ALL.len())
}

fn main() {
    let mut seeds: u64 = 1_000;
    let mut steps: usize = 1_000;
    let mut first: u64 = 0;
    let mut args = std::env::args().skip(1).peekable();
    let mut mutants = false;
    while let Some(arg) = args.next() {
        if arg == "--mutants" {
            mutants = true;
            continue;
        }
        let value = args.next();
        let parsed = value.as_deref().and_then(|v| v.parse::<u64>().ok());
        match (arg.as_str(), parsed) {
            ("--seeds", Some(v)) => seeds = v,
            ("--steps", Some(v)) => steps = usize::try_from(v).unwrap_or(usize::MAX),
            ("--first", Some(v)) => first = v,
            _ => {
                eprintln!(
                    "usage: worktime-sim [--seeds N] [--steps M] [--first S] | --mutants [--steps M]"
                );
                std::process::exit(2);
            }
        }
    }
    if let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        first = seed;
        seeds = 1;
    }
    if mutants {
        std::process::exit(mutation_score(steps));
    }
    let started = Instant::now();
    // Seeds are independent: one thread per core, seeds dealt round-robin.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let results: Vec<(Stats, Vec<worktime_sim::Violation>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|lane| {
                scope.spawn(move || {
                    let mut stats = Stats::default();
                    let mut found = Vec::new();
                    let mut seed = first.saturating_add(lane);
                    while seed < first.saturating_add(seeds) {
                        match run_seed(seed, steps, Bug::None) {
                            Ok(s) => stats += s,
                            Err(v) => {
                                eprintln!("{v}");
                                found.push(v);
                            }
                        }
                        seed = seed.saturating_add(threads);
                    }
                    (stats, found)
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    if results.len() as u64 != threads {
        eprintln!("a simulator thread panicked");
        std::process::exit(1);
    }
    let mut total = Stats::default();
    let mut violations = Vec::new();
    for (stats, found) in results {
        total += stats;
        violations.extend(found);
    }
    violations.sort_by_key(|v| v.seed);
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
    println!(
        "reviews checked against the server: {}, worst under: {:.1} s, worst over: {:.1} s; storage refusals: {}, corrupt records: {}, known gap (lost tabs.onUpdated and pagehide): {}; seeds per minute: {:.0}",
        total.reviews,
        total.worst_under_ms as f64 / 1000.0,
        total.worst_over_ms as f64 / 1000.0,
        total.storage_refusals,
        total.corrupt_records,
        total.lost_tab_updates,
        seeds as f64 / elapsed.as_secs_f64().max(1e-9) * 60.0
    );
    if !violations.is_empty() {
        std::process::exit(1);
    }
}
