//! What the engine persists: a few named stores of serde records under string
//! keys, the writes that change them, and the state loaded back at start.
//!
//! The shell maps each [`StoreName`] to one IndexedDB object store and each
//! [`Write`] batch to one transaction. The engine never reads storage: it
//! gets everything once, in [`crate::Input::Started`], and keeps memory and
//! storage in step by emitting a [`crate::Output::Persist`] for every change,
//! before any output that depends on it (write-ahead).

use crate::ids::{DocId, TabId};
use crate::status::ServerProblem;
use serde::{Deserialize, Serialize};
use worktime_protocol::{DurationMillis, LocalId, PrRef, Session, UnixMillis};

/// The named stores. Their string names ([`StoreName::as_str`]) are the
/// IndexedDB object-store names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreName {
    /// [`SessionRecord`]s of sessions still running, keyed by `local_id`.
    Sessions,
    /// [`QueueEntry`]s waiting to reach the server, keyed by `local_id`.
    Queue,
    /// [`FailedEntry`]s the server refused for good, keyed by `local_id`.
    Failed,
    /// The one [`SyncMeta`] record, under [`SyncMeta::KEY`].
    Meta,
}

impl StoreName {
    /// Every store, for a shell creating its schema.
    pub const ALL: [StoreName; 4] = [
        StoreName::Sessions,
        StoreName::Queue,
        StoreName::Failed,
        StoreName::Meta,
    ];

    /// The store's name as IndexedDB knows it.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreName::Sessions => "sessions",
            StoreName::Queue => "queue",
            StoreName::Failed => "failed",
            StoreName::Meta => "meta",
        }
    }
}

/// One tab showing a session's pull request, as last reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TabPresence {
    /// The tab.
    pub tab: TabId,
    /// Whether the page was visible at its last report.
    pub visible: bool,
    /// The showing of the page that made that report.
    #[serde(default)]
    pub doc: DocId,
    /// The `seq` of that report (later reports of the showing must be
    /// above it).
    #[serde(default)]
    pub seq: u64,
    /// When the page went away (`pagehide`), while the tab is in its grace;
    /// its clock is stopped meanwhile.
    #[serde(default)]
    pub left_at: Option<UnixMillis>,
}

/// A running session and what the engine needs to keep timing it across a
/// worker restart. Deleted when the session ends (its ended version then
/// lives in the queue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The session as it would be sent now (state `active`).
    pub session: Session,
    /// Active time in milliseconds (the wire carries whole seconds).
    pub active_ms: u64,
    /// The tabs showing this pull request (reference count = length).
    pub tabs: Vec<TabPresence>,
    /// Last time active time was counted up to; the end used when the
    /// session is found orphaned at start.
    pub last_checkpoint: UnixMillis,
    /// When this session's state was last queued for the server.
    pub last_queued_at: UnixMillis,
    /// The last moment active time ran (`None` in records stored before
    /// this field: their last checkpoint stands in). A session with no
    /// active time for [`crate::tracker::INACTIVE_LIMIT`] ends here.
    #[serde(default)]
    pub last_active: Option<UnixMillis>,
}

impl SessionRecord {
    /// The pull request this session times.
    pub fn pr(&self) -> PrRef {
        self.session.pr()
    }

    /// The last moment active time ran.
    pub fn last_active(&self) -> UnixMillis {
        self.last_active.unwrap_or(self.last_checkpoint)
    }
}

/// How urgently a queued change should go: ended sessions first, then new
/// sessions, then activity updates of running ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// The session ended: the promise "nothing lost" hangs on it.
    Ended,
    /// A session the server has not seen yet.
    Started,
    /// A progress update of a running session.
    Activity,
}

/// A session change waiting for the server's acknowledgement. Several
/// changes to one session compact into one entry holding its latest state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// The latest state to send.
    pub session: Session,
    /// Ordering class (ended before started before activity).
    pub priority: Priority,
    /// Position in the queue: set when first queued, kept through compaction.
    pub order: u64,
    /// Bumped by every compaction, so an acknowledgement of an older revision
    /// never removes a newer, unsent one.
    pub revision: u64,
    /// Transient failures since the last success (at most
    /// [`crate::retry::MAX_TRANSIENT_FAILURES`]).
    pub attempts: u32,
    /// Not before this time (backoff or `Retry-After`); `None` = now.
    pub next_attempt_at: Option<UnixMillis>,
    /// Set once the item used up its retries: no more timers until the
    /// server answers a probe or any other request.
    pub parked_since: Option<UnixMillis>,
    /// The last transient error, for the popup.
    pub last_error: Option<String>,
}

impl QueueEntry {
    /// The session's id (the record's key).
    pub fn local_id(&self) -> &LocalId {
        &self.session.local_id
    }
}

/// A session version the server refused for good, kept for the user to retry
/// or discard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedEntry {
    /// The refused version.
    pub session: Session,
    /// The server's reason (or the local validation error), for the popup.
    pub reason: String,
    /// Machine-readable code of the reason, e.g. `invalid_field`.
    pub code: String,
    /// How many times it was sent before being refused.
    pub attempts: u32,
    /// When it was refused.
    pub failed_at: UnixMillis,
    /// Insertion order: the oldest is evicted first when the list is full.
    pub order: u64,
}

/// Today's review time, merged by session id from the local sessions and the
/// server's answer to the last pull, so that nothing is counted twice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodayTotals {
    /// Local day number (days since the epoch, in the user's offset).
    pub day: i64,
    /// Active seconds per session that started this day.
    pub seconds: Vec<(LocalId, u32)>,
}

/// Sync bookkeeping that must survive a restart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncMeta {
    /// When a request last went out.
    pub last_attempted: Option<UnixMillis>,
    /// When the server last answered with success.
    pub last_successful: Option<UnixMillis>,
    /// The last error, in plain words.
    pub last_error: Option<String>,
    /// Failed entries dropped because the list was full.
    pub evictions: u64,
    /// The server refused the token (401/403): sync is paused until a new
    /// token arrives.
    pub signed_out: bool,
    /// When today's totals were last pulled.
    pub last_pull: Option<UnixMillis>,
    /// Today's totals.
    pub today: TodayTotals,
    /// The counter `order` and `revision` values are drawn from.
    pub counter: u64,
    /// The last idle state reported (idle or locked stops active time); a
    /// restarted worker counts the gap since the last checkpoint with it.
    #[serde(default)]
    pub user_idle: bool,
    /// Sync is paused: the server's address answered, but not as the API
    /// does. Cleared by the next success or a settings change.
    #[serde(default)]
    pub server_problem: Option<Box<ServerProblem>>,
    /// The server's `Retry-After` (on a 429 or 5xx): no request of any kind
    /// before then. Kept here so a restarted worker honours it too.
    #[serde(default)]
    pub server_busy_until: Option<UnixMillis>,
    /// The server's clock minus ours, as applied to timestamps on the wire
    /// ([`crate::clock`]); learnt from the server's `Date` headers.
    #[serde(default)]
    pub clock_offset: Option<DurationMillis>,
    /// Tabs whose session the safety timeout ended, still showing their PR:
    /// the user coming back to one starts a new session, also in a worker
    /// started since (the page sends no report while nothing changes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dormant: Vec<DormantTab>,
}

/// A tab whose session the safety timeout ended: the PR it shows and its
/// last report, so the user's return (or its next report) starts a new
/// session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DormantTab {
    /// The pull request the tab shows.
    pub pr: PrRef,
    /// The tab and its page's last report.
    pub presence: TabPresence,
}

impl SyncMeta {
    /// The key of the one meta record.
    pub const KEY: &'static str = "sync";
}

/// One record with its store: what [`Write::Put`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "store", content = "value", rename_all = "snake_case")]
pub enum Record {
    /// Goes to [`StoreName::Sessions`].
    Sessions(SessionRecord),
    /// Goes to [`StoreName::Queue`].
    Queue(QueueEntry),
    /// Goes to [`StoreName::Failed`].
    Failed(FailedEntry),
    /// Goes to [`StoreName::Meta`].
    Meta(SyncMeta),
}

impl Record {
    /// The store this record lives in.
    pub fn store(&self) -> StoreName {
        match self {
            Record::Sessions(_) => StoreName::Sessions,
            Record::Queue(_) => StoreName::Queue,
            Record::Failed(_) => StoreName::Failed,
            Record::Meta(_) => StoreName::Meta,
        }
    }

    /// The record's key within its store.
    pub fn key(&self) -> String {
        match self {
            Record::Sessions(r) => r.session.local_id.to_string(),
            Record::Queue(r) => r.session.local_id.to_string(),
            Record::Failed(r) => r.session.local_id.to_string(),
            Record::Meta(_) => SyncMeta::KEY.to_owned(),
        }
    }
}

/// One change to storage. A [`crate::Output::Persist`] carries several, to be
/// applied as one atomic transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Write {
    /// Insert or replace the record at `(record.store(), record.key())`.
    Put {
        /// The record.
        record: Record,
    },
    /// Remove the record at `(store, key)`, if any.
    Delete {
        /// The store.
        store: StoreName,
        /// The key.
        key: String,
    },
}

/// Everything loaded from storage at start, handed to
/// [`crate::Input::Started`].
///
/// The engine expects each record under its own key (`local_id` as text, or
/// [`SyncMeta::KEY`]); a record the shell could not decode must be left out
/// (quarantined by the shell). The engine tolerates what a crash between
/// two persists can leave: a session present in both `sessions` and `queue`,
/// a key in both `queue` and `failed` (the newer version wins), duplicates
/// (the last wins) and a missing meta record (defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredState {
    /// The `sessions` store.
    pub sessions: Vec<SessionRecord>,
    /// The `queue` store.
    pub queue: Vec<QueueEntry>,
    /// The `failed` store.
    pub failed: Vec<FailedEntry>,
    /// The `meta` store's one record, if present.
    pub meta: Option<SyncMeta>,
}

impl StoredState {
    /// Applies one persisted batch, as a store would: puts replace the record
    /// with the same key, deletes remove it. In-memory storage for native
    /// tests and the simulator.
    pub fn apply(&mut self, writes: &[Write]) {
        for write in writes {
            match write {
                Write::Put { record } => match record {
                    Record::Sessions(r) => upsert(&mut self.sessions, r, |x| &x.session.local_id),
                    Record::Queue(r) => upsert(&mut self.queue, r, |x| &x.session.local_id),
                    Record::Failed(r) => upsert(&mut self.failed, r, |x| &x.session.local_id),
                    Record::Meta(m) => self.meta = Some(m.clone()),
                },
                Write::Delete { store, key } => match store {
                    StoreName::Sessions => {
                        self.sessions.retain(|x| x.session.local_id.as_str() != key)
                    }
                    StoreName::Queue => self.queue.retain(|x| x.session.local_id.as_str() != key),
                    StoreName::Failed => self.failed.retain(|x| x.session.local_id.as_str() != key),
                    StoreName::Meta => {
                        if key == SyncMeta::KEY {
                            self.meta = None;
                        }
                    }
                },
            }
        }
    }
}

fn upsert<T: Clone>(items: &mut Vec<T>, item: &T, key: impl Fn(&T) -> &LocalId) {
    match items.iter_mut().find(|x| key(x) == key(item)) {
        Some(slot) => *slot = item.clone(),
        None => items.push(item.clone()),
    }
}
