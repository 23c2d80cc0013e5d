//! Small identifiers the engine hands out or receives: browser tabs and HTTP
//! requests.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A browser tab, as `chrome.tabs` numbers it. Tab ids are not reused within a
/// browser run; after a browser restart every tab has a new id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TabId(pub i64);

/// One showing of a page in a tab, as the content script numbers it: a
/// random id made when the document loads (and again when it comes back from
/// the back/forward cache). Reports within one showing are ordered by their
/// `seq`; a showing a tab has moved on from never counts again. No wall
/// clock is involved, so a clock set back cannot make a new page look old.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct DocId(pub u64);

/// Names one request the engine asked the shell to send, so that its outcome
/// can be matched to it. Outcomes for ids the engine no longer waits for
/// (a stale or duplicated answer, one from before a restart) are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub u64);

impl fmt::Display for TabId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tab {}", self.0)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request {}", self.0)
    }
}
