//! A deterministic fault simulator for the WorkTime Sync engine, after
//! FoundationDB's simulation and TigerBeetle's VOPR.
//!
//! A seed decides everything: the user's tabs and visibility, page events
//! duplicated or overtaken, tabs closed without `pagehide`, browser crashes,
//! the worker killed between any two outputs (only committed writes
//! survive), network errors, timeouts before and after the server applied a
//! request (the duplicate trap), 5xx, 429 with `Retry-After`, requests
//! refused as a whole or per item, malformed replies, revoked tokens, and the
//! wall clock jumping both ways. The fake server stores sessions with
//! `worktime_protocol::merge`, the real server's rule.
//!
//! After every step the invariants are checked — nothing lost (every ended
//! session is queued, failed or on the server, bar counted evictions),
//! nothing counted twice (the server never holds more review time than the
//! user spent), attempts bounded, the failed list capped, no wake-up in the
//! past — then a quiet phase without faults must drain everything and leave
//! the engine silent. A failure names its seed; `SIM_SEED=<n>` replays it,
//! and `SIM_TRACE=1` prints every input, output and invariant tally.
//!
//! Run it with `cargo test -p worktime-sim` (500 seeds × 1,000 steps) or
//! `./build.sh sim --seeds N [--steps M] [--first S]` (release, all cores).
//!
//! # Mutation score
//!
//! A simulator that catches nothing proves nothing: [`Bug`] plants ten
//! known mistakes (most by bending the engine's inputs and outputs, one
//! through `worktime-core`'s test-only `mutants` feature), and each must be
//! caught within [`MUTANT_SEEDS`] seeds ([`hunt`]). `cargo test` checks it;
//! `./build.sh sim --mutants` prints one line per mutant and `caught N of N`.

mod rng;
pub mod server;
pub mod storage;
pub mod subject;
mod world;

pub use subject::Bug;
pub use world::{Stats, Violation, World};

/// Runs one seed for `steps` steps against the engine with `bug` planted.
pub fn run_seed(seed: u64, steps: usize, bug: Bug) -> Result<Stats, Violation> {
    World::new(seed, bug).run(steps)
}

/// Seeds a planted bug may take to be caught: the mutation score's bound.
pub const MUTANT_SEEDS: u64 = 200;

/// The first violation `bug` causes in seeds `0..MUTANT_SEEDS` (of `steps`
/// steps each), or `None` if it survived.
pub fn hunt(bug: Bug, steps: usize) -> Option<Violation> {
    (0..MUTANT_SEEDS).find_map(|seed| run_seed(seed, steps, bug).err())
}
