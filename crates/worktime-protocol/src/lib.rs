//! The v1 wire contract between the WorkTime Sync extension and its server.
//!
//! Both sides depend on this crate so that they cannot drift apart: the
//! session body and batch envelopes ([`wire`]), the identifiers and time
//! newtypes ([`ids`], [`time`]), the validation every incoming session must
//! pass ([`validate`]) and the one merge rule ([`merge`]) that makes upserts
//! idempotent, so that retries and replays never count twice; and the rule
//! for which pull request a github.com page shows ([`page`]).
//!
//! The crate does no I/O and reads no clock: "now" is always a parameter.

pub mod ids;
pub mod merge;
pub mod page;
pub mod session;
pub mod time;
pub mod validate;
pub mod wire;

pub use ids::{LocalId, PrRef};
pub use merge::{MergeError, merge};
pub use session::{Session, SessionState};
pub use time::{DurationMillis, UnixMillis};
pub use validate::{ValidationError, validate_session};
pub use wire::{
    BatchRequest, BatchResponse, Device, ErrorBody, ErrorEnvelope, ItemResult, ItemStatus,
    MAX_BATCH_ITEMS, Me, SessionsPage,
};
