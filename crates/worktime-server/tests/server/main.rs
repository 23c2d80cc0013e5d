//! Integration tests: the real server on 127.0.0.1:0 with a temporary
//! SQLite file, driven over HTTP (and, in `cli`, as a real process).

// A test crate: helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod assets;
mod auth;
mod changes;
mod cli;
mod closer;
mod events;
#[cfg(feature = "pg-tests")]
mod instances;
mod limits;
mod ops;
mod restart;
mod sessions;
mod totals;
