//! Storage behind one small trait: what the server needs from a database,
//! with SQLite ([`sqlite::SqliteStore`]) as the embedded default
//! and PostgreSQL ([`postgres::PgStore`]) for several instances on a
//! database a company already runs; [`open`] picks one from `--db`.
//!
//! The trait speaks in the protocol's types and a few server-side records,
//! and [`StoreError`] carries no driver's types: the SQL stays inside each
//! implementation.

pub mod copy;
mod migrate;
pub mod postgres;
pub mod sqlite;

use async_trait::async_trait;
use serde::Serialize;
use worktime_protocol::time::rfc3339;
use worktime_protocol::{MergeError, Session, SessionState, UnixMillis};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Opens the store `db` names: a `postgres://` (or `postgresql://`) URL
/// opens [`PgStore`], anything else is an SQLite file path. Either applies
/// its pending migrations; `writer_queue` write jobs may wait at once.
pub async fn open(
    db: &str,
    now: UnixMillis,
    writer_queue: usize,
) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if is_postgres_url(db) {
        Ok(std::sync::Arc::new(
            PgStore::open(db, now, writer_queue).await?,
        ))
    } else {
        Ok(std::sync::Arc::new(SqliteStore::open_with_queue(
            std::path::Path::new(db),
            now,
            writer_queue,
        )?))
    }
}

/// Whether `db` is a PostgreSQL connection URL rather than a file path.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// Tells of revoked device ids (from any server instance on a shared
/// database), so their open event streams end at once.
pub type RevokeListener = std::sync::Arc<dyn Fn(Vec<i64>) + Send + Sync>;

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed (whichever database it is).
    #[error("database error: {0}")]
    Database(Box<dyn std::error::Error + Send + Sync>),
    /// A migration file could not be applied.
    #[error("migration {version} failed: {source}")]
    Migration {
        /// The migration's number.
        version: u32,
        /// What the database said.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// `--db` is neither a file path nor a `postgres://` URL that works.
    #[error("{0}")]
    BadDatabase(String),
    /// This backend cannot do that; the message says what to do instead.
    #[error("{0}")]
    Unsupported(&'static str),
    /// A stored row does not fit the protocol's types (a corrupt row is an
    /// error, never a silently wrong session).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database was written by a newer server than this one.
    #[error("database schema version {found} is newer than this server's {known}")]
    SchemaTooNew {
        /// Version recorded in the file.
        found: u32,
        /// Newest version this binary knows.
        known: u32,
    },
    /// A user with that name exists already.
    #[error("user {0:?} already exists")]
    UserExists(String),
    /// The background writer stopped (the store is shutting down).
    #[error("the database writer has stopped")]
    WriterGone,
    /// The writer's queue is full: the caller should retry shortly.
    #[error("the database writer is busy")]
    Busy,
    /// A blocking read task panicked or was cancelled.
    #[error("a database read was interrupted")]
    ReadInterrupted,
    /// A backup's target exists already.
    #[error("{0} exists already; a backup never overwrites a file")]
    BackupTargetExists(std::path::PathBuf),
}

/// A person who owns device tokens and sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Database id.
    pub id: i64,
    /// Unique login-free name, as given to `user add`.
    pub name: String,
    /// Admins read every user's sessions.
    pub admin: bool,
    /// When the user was added.
    pub created_at: UnixMillis,
}

/// One device token of a user (the token itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Database id, used by `DELETE /api/v1/devices/{id}` and `token revoke`.
    pub id: i64,
    /// The owning user's id.
    pub user_id: i64,
    /// Label given at `token create --device`.
    pub label: String,
    /// When the token was created.
    pub created_at: UnixMillis,
    /// When the token last authenticated a request (updated at most once a minute).
    pub last_seen_at: Option<UnixMillis>,
    /// When the token was revoked; revoked tokens authenticate nothing.
    pub revoked_at: Option<UnixMillis>,
}

/// Who a valid token belongs to: the identity every authenticated request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user's id.
    pub user_id: i64,
    /// The user's name.
    pub user: String,
    /// Whether the user is an admin.
    pub admin: bool,
    /// The device (token) id.
    pub device_id: i64,
    /// The device's label.
    pub device: String,
}

/// A stored session: the contract's body plus what only the server knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session as last merged.
    pub session: Session,
    /// The owning user's name.
    pub user: String,
    /// Label of the device whose version is stored.
    pub device: String,
    /// True when the stale-session closer ended it (no client said so).
    pub closed_by_server: bool,
    /// When the server last stored a change to it (server clock).
    pub received_at: UnixMillis,
    /// Sequence number of its latest change, increasing in commit order
    /// across all sessions (the change feed's position).
    pub seq: i64,
}

impl Serialize for SessionRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(flatten)]
            session: &'a Session,
            user: &'a str,
            device: &'a str,
            closed_by_server: bool,
            #[serde(with = "rfc3339")]
            received_at: UnixMillis,
            seq: i64,
        }
        Wire {
            session: &self.session,
            user: &self.user,
            device: &self.device,
            closed_by_server: self.closed_by_server,
            received_at: self.received_at,
            seq: self.seq,
        }
        .serialize(s)
    }
}

/// Told of every stored change, in commit (sequence) order, on the
/// store's writer: it must be quick and must not block.
pub type ChangeListener = std::sync::Arc<dyn Fn(&SessionRecord) + Send + Sync>;

/// What happened to one incoming session of an upsert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpsertOutcome {
    /// Merged; `changed` says whether the stored row changed (a duplicate
    /// or an older version changes nothing).
    Stored {
        /// The row as it is now.
        record: SessionRecord,
        /// Whether this upsert changed it.
        changed: bool,
    },
    /// The merge rule refused it (the id belongs to another pull request).
    Refused(MergeError),
}

/// Position in the newest-first session order, for paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// `started_at` of the last session returned.
    pub started_at: i64,
    /// Row id of the last session returned (breaks ties).
    pub id: i64,
}

impl Cursor {
    /// The opaque text form handed to clients.
    pub fn encode(self) -> String {
        format!("{}_{}", self.started_at, self.id)
    }

    /// Reads what [`Cursor::encode`] produced; `None` for anything else.
    pub fn decode(text: &str) -> Option<Cursor> {
        let (a, b) = text.split_once('_')?;
        Some(Cursor {
            started_at: a.parse().ok()?,
            id: b.parse().ok()?,
        })
    }
}

/// A repository named `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFilter {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub name: String,
}

/// Filters shared by session listing and totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// Only this user's sessions; `None` means every user's (admins only).
    pub user_id: Option<i64>,
    /// Only sessions whose `updated_at` is at or after this.
    pub since: Option<UnixMillis>,
    /// Only sessions in this state.
    pub state: Option<SessionState>,
    /// Only sessions that started at or after this.
    pub from: Option<UnixMillis>,
    /// Only sessions that started before this.
    pub to: Option<UnixMillis>,
    /// Only sessions of this repository.
    pub repo: Option<RepoFilter>,
}

/// One page request of `list_sessions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionQuery {
    /// Which sessions.
    pub filter: SessionFilter,
    /// At most this many (1..=500).
    pub limit: u32,
    /// Continue after this position.
    pub after: Option<Cursor>,
}

/// A page of sessions, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPage {
    /// The sessions.
    pub records: Vec<SessionRecord>,
    /// Where the next page starts, if there is one.
    pub next: Option<Cursor>,
}

/// Milliseconds in a quarter hour, the finest bucket of day totals.
pub const QUARTER_HOUR_MS: i64 = 900_000;

/// How totals are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotalsGroup {
    /// Per quarter hour of `started_at` (UTC), which the HTTP layer sums
    /// into the viewer's local days (every zone's offset is whole quarters).
    QuarterHour,
    /// Per repository (top 10 by seconds).
    Repo,
    /// Per pull request (top 10 by seconds).
    Pr,
}

/// One totals request. `from` and `to` are required here; the HTTP layer
/// fills defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalsQuery {
    /// Which sessions (by `started_at` in `[from, to)`).
    pub filter: SessionFilter,
    /// The grouping.
    pub group: TotalsGroup,
}

/// One aggregated row, before the HTTP layer names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TotalKey {
    /// Quarter hours since the Unix epoch (`started_at` / 900 000 ms).
    QuarterHour(i64),
    /// A repository.
    Repo {
        /// Owner.
        owner: String,
        /// Name.
        name: String,
    },
    /// A pull request.
    Pr {
        /// Owner.
        owner: String,
        /// Name.
        name: String,
        /// Number.
        number: u64,
    },
}

/// Sum of active seconds and count of sessions for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalRow {
    /// What was grouped on.
    pub key: TotalKey,
    /// Sum of `active_seconds`.
    pub seconds: i64,
    /// Number of sessions.
    pub sessions: i64,
}

/// Everything the server and its CLI need from a database.
///
/// Every method is safe to call from many tasks at once, and from other
/// processes on the same database (the CLI while the server runs; on
/// PostgreSQL, other server instances): SQLite serialises writes on one
/// writer thread, PostgreSQL decides each merge in one statement.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Adds a user; [`StoreError::UserExists`] if the name is taken.
    async fn add_user(
        &self,
        name: &str,
        admin: bool,
        now: UnixMillis,
    ) -> Result<UserRecord, StoreError>;
    /// Every user, by name.
    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// The user with this name.
    async fn find_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Records a new device token by the SHA-256 hash of the token.
    async fn create_device(
        &self,
        user_id: i64,
        label: &str,
        token_hash: &str,
        now: UnixMillis,
    ) -> Result<DeviceRecord, StoreError>;
    /// A user's devices, oldest first; revoked ones only when asked.
    async fn list_devices(
        &self,
        user_id: i64,
        include_revoked: bool,
    ) -> Result<Vec<DeviceRecord>, StoreError>;
    /// Who holds the token with this hash, if it exists and is not revoked.
    async fn authenticate(&self, token_hash: &str) -> Result<Option<Principal>, StoreError>;
    /// Notes that a device was just used.
    async fn touch_device(&self, device_id: i64, now: UnixMillis) -> Result<(), StoreError>;
    /// Revokes one device; with `owner`, only if it belongs to that user.
    /// Returns the revoked device's user id, or `None` if there was no such
    /// live device.
    async fn revoke_device(
        &self,
        owner: Option<i64>,
        device_id: i64,
        now: UnixMillis,
    ) -> Result<Option<i64>, StoreError>;
    /// Revokes every live device of a user; returns their ids.
    async fn revoke_all_devices(
        &self,
        user_id: i64,
        now: UnixMillis,
    ) -> Result<Vec<i64>, StoreError>;
    /// Merges each session into the caller's user's rows, in order, in one
    /// transaction; one outcome per session.
    async fn upsert_sessions(
        &self,
        by: &Principal,
        sessions: Vec<Session>,
        now: UnixMillis,
    ) -> Result<Vec<UpsertOutcome>, StoreError>;
    /// A page of sessions, newest `started_at` first.
    async fn list_sessions(&self, query: &SessionQuery) -> Result<SessionPage, StoreError>;
    /// Ends every active session whose device has sent nothing since
    /// `silent_since` (no change to it, no other request), at its last
    /// `updated_at`, marked closed by the server.
    async fn close_stale(
        &self,
        silent_since: UnixMillis,
        now: UnixMillis,
    ) -> Result<Vec<SessionRecord>, StoreError>;
    /// Aggregates, computed by the database.
    async fn totals(&self, query: &TotalsQuery) -> Result<Vec<TotalRow>, StoreError>;
    /// Up to `limit` sessions whose latest change is numbered above
    /// `after`, in change order; of one user, or of everyone with `None`.
    async fn list_changes(
        &self,
        user_id: Option<i64>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<SessionRecord>, StoreError>;
    /// The number of sessions stored, every user's.
    async fn count_sessions(&self) -> Result<i64, StoreError>;
    /// The sequence number of the latest committed change (0 before any).
    async fn head_seq(&self) -> Result<i64, StoreError>;
    /// Succeeds when the database answers a query.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Renames a user; `false` if there is no user `name`,
    /// [`StoreError::UserExists`] if `new_name` is taken.
    async fn rename_user(&self, name: &str, new_name: &str) -> Result<bool, StoreError>;
    /// Sets or clears a user's admin flag; `false` if there is no such user.
    async fn set_admin(&self, name: &str, admin: bool) -> Result<bool, StoreError>;
    /// Deletes a user with all their sessions and device tokens; returns
    /// how many sessions and devices went.
    async fn delete_user(&self, user_id: i64) -> Result<(usize, usize), StoreError>;
    /// Every session of a user, oldest first (for a privacy export).
    async fn user_sessions(&self, user_id: i64) -> Result<Vec<SessionRecord>, StoreError>;
    /// Copies the database to `to` with SQLite's online backup, while
    /// writes go on; `to` must not exist. PostgreSQL refuses with
    /// [`StoreError::Unsupported`], pointing to `pg_dump`.
    async fn backup(&self, to: &std::path::Path) -> Result<(), StoreError>;
    /// Write jobs waiting for the writer now.
    fn writer_queue_depth(&self) -> usize;
    /// Sets the one listener told of every stored change (upserts and server
    /// closes) in commit order; `false` if one was set before. On a shared
    /// database (PostgreSQL) that includes other instances' changes.
    fn on_change(&self, listener: ChangeListener) -> bool;
    /// Sets the listener told of revocations made through any process on
    /// the same database (this one's too); `false` where the backend cannot
    /// tell (SQLite: streams re-check their token every `token_recheck`,
    /// and this process's own revocations reach its hub directly).
    fn on_revoke(&self, listener: RevokeListener) -> bool {
        let _ = listener;
        false
    }
}
