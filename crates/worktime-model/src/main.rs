//! `worktime-model [--quick | --full]`: checks every state of the small
//! world (`Bounds::CI`; smaller with `--quick`, `Bounds::FULL` with
//! `--full`) and prints the bounds, the number of distinct states explored
//! and a last line `violations: N`.

use std::time::Instant;
use worktime_model::{Bounds, check};

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let full = std::env::args().any(|a| a == "--full");
    let mut bounds = if full {
        Bounds::FULL
    } else if quick {
        Bounds {
            tabs: 1,
            kills: 1,
            lost_replies: 1,
            duplicates: 1,
            ..Bounds::CI
        }
    } else {
        Bounds::CI
    };
    // Bounds can be tried out: BOUNDS=tabs,kills,lost,dups,user_s,horizon_s.
    if let Ok(spec) = std::env::var("BOUNDS") {
        let v: Vec<i64> = spec
            .split(',')
            .filter_map(|x| x.trim().parse().ok())
            .collect();
        if let [tabs, kills, lost, dups, user, horizon] = v[..] {
            bounds = Bounds {
                tabs: tabs as usize,
                kills: kills as u8,
                lost_replies: lost as u8,
                duplicates: dups as u8,
                user_ms: user * 1000,
                horizon_ms: horizon * 1000,
            };
        }
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "bounds: {} tabs (one session each), {} worker kills, {} lost requests or answers, {} duplicate answer, user acts in the first {} s, time up to {} s",
        bounds.tabs,
        bounds.kills,
        bounds.lost_replies,
        bounds.duplicates,
        bounds.user_ms / 1000,
        bounds.horizon_ms / 1000
    );
    let started = Instant::now();
    let report = check(bounds, threads);
    println!(
        "distinct states: {}, states visited: {}, max depth: {}, time: {:.1} s on {threads} threads",
        report.unique_states,
        report.states,
        report.max_depth,
        started.elapsed().as_secs_f64()
    );
    for v in &report.violations {
        println!("violated {v}");
    }
    println!("violations: {}", report.violations.len());
    if !report.violations.is_empty() {
        std::process::exit(1);
    }
}
