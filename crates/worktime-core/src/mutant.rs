//! Test-only planted bugs (cargo feature `mutants`, off in every shipped
//! build) for the bugs the simulator cannot plant by bending the engine's
//! inputs and outputs from outside. Each is one check at one site, off until
//! [`plant`] turns it on for the calling thread.

use std::cell::Cell;

/// A bug that lives inside the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutant {
    /// `retry::backoff` returns zero: a failed item goes again at once.
    ZeroBackoff,
}

thread_local! {
    static PLANTED: Cell<Option<Mutant>> = const { Cell::new(None) };
}

/// Plants `mutant` (or none) in engines run on this thread.
pub fn plant(mutant: Option<Mutant>) {
    PLANTED.with(|p| p.set(mutant));
}

/// Whether `mutant` is planted on this thread.
pub(crate) fn planted(mutant: Mutant) -> bool {
    PLANTED.with(|p| p.get() == Some(mutant))
}
