//! A deterministic fault simulator for the WorkTime Sync engine, after
//! FoundationDB's simulation and TigerBeetle's VOPR.
//!
//! A seed decides everything. The user: tabs opened in front or in the
//! background (some closed unseen), shown and hidden, pull requests in any
//! owner/repo case and on any sub-page (`/changes`, `/files`,
//! `/commits/<sha>`, …), in-page navigation to another PR or the PR list and
//! back, reloads and back/forward within the grace, leaving GitHub, idle.
//! Every page report goes through the shell's own mapping
//! (`worktime_core::page`, which applies `pull_request_of_path`), with a
//! per-document id and counter as `content.js` sends them, resent only while
//! it is the page's latest. The browser: reports duplicated or overtaken,
//! tabs closed without `pagehide`, crashes that reuse tab ids from 1, the
//! worker killed between any two outputs (only committed writes survive).
//! The network and server (see `world::network`): network errors, timeouts
//! before and after the server applied a request (the duplicate trap), 500,
//! 502, 503, 504 (some with HTML pages), 408, 429 with `Retry-After` in
//! seconds or as an HTTP date, 401/403, whole requests answered 404/405/400
//! or by a redirect or a portal's HTML page, 422, malformed replies, the
//! server's `Date`. Storage (see [`storage`]): IndexedDB refusing a
//! transaction (the shell's `chrome.storage.local` fallback, and both
//! refusing), records corrupt on load (quarantined). A lying online hint,
//! and the wall clock stepping up to a day either way. The fake server
//! stores sessions with `worktime_protocol::merge`, the real server's rule.
//!
//! The **safety phase** (faults on) checks after every step: nothing lost,
//! session by session (an ended session is queued, failed, refused by the
//! server or on it — no global sum); nothing counted twice (no row holds
//! more than the user's time on it plus its tolerance, no row for a session
//! the user never looked at); write-ahead at every send; the server's
//! `Retry-After` and the shortest backoff honoured; attempts bounded; the
//! failed list capped; no wake-up in the past. The **liveness phase**
//! (faults off) must drain everything and leave the engine silent; then the
//! **oracle is the user**: every review of the script — which PR, and the
//! true active (visible, not idle) seconds — is on the server, ended, on
//! its PR, within its bounds (see `world::oracle`), or was refused by the
//! server item by item. Sessions the product lost *and said so*
//! (quarantined records, writes both storages refused when the worker
//! died) are excused, and one known gap is counted, not judged
//! (`Stats::lost_tab_updates`). A failure names its seed; `SIM_SEED=<n>`
//! replays it, and `SIM_TRACE=1` prints every input, output and tally.
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
