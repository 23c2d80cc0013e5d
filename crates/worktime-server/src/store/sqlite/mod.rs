//! The SQLite implementation of [`Store`]: one writer thread that owns the
//! only writing connection and commits concurrent batches together (group
//! commit), and a small pool of read-only connections used from blocking
//! tasks. WAL mode lets the readers run beside the writer, and another
//! process (the CLI) may write to the same file at the same time.

mod reads;
mod rows;
mod writer;

use super::{
    ChangeListener, DeviceRecord, Principal, SessionPage, SessionQuery, SessionRecord, Store,
    StoreError, TotalRow, TotalsQuery, UpsertOutcome, UserRecord,
};
use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use worktime_protocol::{Session, UnixMillis};
use writer::Writer;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(Box::new(e))
    }
}

/// How long a connection waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Most read connections open at once.
const MAX_READERS: usize = 4;
/// Write jobs that may wait for the writer by default; one more is refused
/// with [`StoreError::Busy`] (the API answers 503 with `Retry-After`).
pub const DEFAULT_WRITER_QUEUE: usize = 64;

/// The SQLite-backed store. Cheap to share behind an `Arc`; dropping the
/// last reference finishes queued writes and closes the file.
pub struct SqliteStore {
    writer: Writer,
    readers: Arc<Readers>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.readers.path)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, switches it to WAL,
    /// applies pending migrations and starts the writer thread.
    pub fn open(path: &Path, now: UnixMillis) -> Result<Self, StoreError> {
        Self::open_with_queue(path, now, DEFAULT_WRITER_QUEUE)
    }

    /// [`SqliteStore::open`] with room for `writer_queue` waiting write jobs.
    pub fn open_with_queue(
        path: &Path,
        now: UnixMillis,
        writer_queue: usize,
    ) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL: readers never block the writer. FULL: an acknowledged batch
        // survives a power cut, not only a crash (group commit pays for it).
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite refused WAL mode; continuing without it");
        }
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        tune(&conn, WRITER_CACHE_KIB)?;
        super::migrate::run(&mut conn, now.0)?;
        Ok(SqliteStore {
            writer: Writer::start(conn, writer_queue)?,
            readers: Arc::new(Readers {
                path: path.to_owned(),
                idle: Mutex::new(Vec::new()),
                permits: Semaphore::new(MAX_READERS),
            }),
        })
    }
}

/// Page cache of the writer, in KiB (SQLite's default is 2 MiB; a batch of
/// 500 upserts touches pages of four B-trees, and re-reading evicted pages
/// through `read()` was the writer's largest cost in profiles).
const WRITER_CACHE_KIB: i64 = 64 * 1024;
/// Page cache of each read connection, in KiB (the memory map serves the rest).
const READER_CACHE_KIB: i64 = 16 * 1024;
/// Bytes of the file read through a memory map instead of `read()`.
const MMAP_BYTES: i64 = 256 * 1024 * 1024;

/// Page cache (KiB) and memory-map settings of a connection.
fn tune(conn: &Connection, cache_kib: i64) -> Result<(), StoreError> {
    conn.execute_batch(&format!(
        "PRAGMA cache_size = -{cache_kib}; PRAGMA mmap_size = {MMAP_BYTES};"
    ))?;
    Ok(())
}

/// Pool of read-only connections, opened on demand and kept for reuse.
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Readers {
    fn take(&self) -> Result<Connection, StoreError> {
        if let Some(conn) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(conn);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        tune(&conn, READER_CACHE_KIB)?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }
}

impl SqliteStore {
    /// Runs `f` on a read connection in a blocking task.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let _permit = self
            .readers
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::ReadInterrupted)?;
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let conn = readers.take()?;
            let result = f(&conn);
            readers.give_back(conn);
            result
        })
        .await
        .map_err(|_| StoreError::ReadInterrupted)?
    }
}

impl SqliteStore {
    /// Every row of the database, for `migrate-db` (one read transaction,
    /// so a consistent copy).
    pub async fn dump(&self) -> Result<crate::store::copy::Dump, StoreError> {
        self.read(reads::dump).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn add_user(
        &self,
        name: &str,
        admin: bool,
        now: UnixMillis,
    ) -> Result<UserRecord, StoreError> {
        let name = name.to_owned();
        self.writer
            .run(move |conn| writer::add_user(conn, &name, admin, now))
            .await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.read(reads::list_users).await
    }

    async fn find_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let name = name.to_owned();
        self.read(move |conn| reads::find_user(conn, &name)).await
    }

    async fn create_device(
        &self,
        user_id: i64,
        label: &str,
        token_hash: &str,
        now: UnixMillis,
    ) -> Result<DeviceRecord, StoreError> {
        let (label, hash) = (label.to_owned(), token_hash.to_owned());
        self.writer
            .run(move |conn| writer::create_device(conn, user_id, &label, &hash, now))
            .await
    }

    async fn list_devices(
        &self,
        user_id: i64,
        include_revoked: bool,
    ) -> Result<Vec<DeviceRecord>, StoreError> {
        self.read(move |conn| reads::list_devices(conn, user_id, include_revoked))
            .await
    }

    async fn authenticate(&self, token_hash: &str) -> Result<Option<Principal>, StoreError> {
        let hash = token_hash.to_owned();
        self.read(move |conn| reads::authenticate(conn, &hash))
            .await
    }

    async fn touch_device(&self, device_id: i64, now: UnixMillis) -> Result<(), StoreError> {
        self.writer
            .run(move |conn| writer::touch_device(conn, device_id, now))
            .await
    }

    async fn revoke_device(
        &self,
        owner: Option<i64>,
        device_id: i64,
        now: UnixMillis,
    ) -> Result<Option<i64>, StoreError> {
        self.writer
            .run(move |conn| writer::revoke_device(conn, owner, device_id, now))
            .await
    }

    async fn revoke_all_devices(
        &self,
        user_id: i64,
        now: UnixMillis,
    ) -> Result<Vec<i64>, StoreError> {
        self.writer
            .run(move |conn| writer::revoke_all_devices(conn, user_id, now))
            .await
    }

    async fn upsert_sessions(
        &self,
        by: &Principal,
        sessions: Vec<Session>,
        now: UnixMillis,
    ) -> Result<Vec<UpsertOutcome>, StoreError> {
        self.writer.upsert(by.clone(), sessions, now).await
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<SessionPage, StoreError> {
        let query = query.clone();
        self.read(move |conn| reads::list_sessions(conn, &query))
            .await
    }

    async fn close_stale(
        &self,
        silent_since: UnixMillis,
        now: UnixMillis,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let listener = self.writer.listener();
        self.writer
            .run(move |conn| {
                let closed = writer::close_stale(conn, silent_since, now)?;
                if let Some(listener) = listener.get() {
                    closed.iter().for_each(|record| listener(record));
                }
                Ok(closed)
            })
            .await
    }

    async fn totals(&self, query: &TotalsQuery) -> Result<Vec<TotalRow>, StoreError> {
        let query = query.clone();
        self.read(move |conn| reads::totals(conn, &query)).await
    }

    async fn list_changes(
        &self,
        user_id: Option<i64>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        self.read(move |conn| reads::list_changes(conn, user_id, after, limit))
            .await
    }

    async fn count_sessions(&self) -> Result<i64, StoreError> {
        self.read(|conn| Ok(conn.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0))?))
            .await
    }

    async fn head_seq(&self) -> Result<i64, StoreError> {
        self.read(|conn| {
            Ok(
                conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM sessions", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    async fn rename_user(&self, name: &str, new_name: &str) -> Result<bool, StoreError> {
        let (name, new_name) = (name.to_owned(), new_name.to_owned());
        self.writer
            .run(move |conn| writer::rename_user(conn, &name, &new_name))
            .await
            .map(|found| found.is_some())
    }

    async fn set_admin(&self, name: &str, admin: bool) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.writer
            .run(move |conn| writer::set_admin(conn, &name, admin))
            .await
            .map(|found| found.is_some())
    }

    async fn delete_user(&self, user_id: i64) -> Result<(usize, usize), StoreError> {
        self.writer
            .run(move |conn| writer::delete_user(conn, user_id))
            .await
    }

    async fn user_sessions(&self, user_id: i64) -> Result<Vec<SessionRecord>, StoreError> {
        self.read(move |conn| reads::user_sessions(conn, user_id))
            .await
    }

    async fn backup(&self, to: &Path) -> Result<(), StoreError> {
        if to.exists() {
            return Err(StoreError::BackupTargetExists(to.to_owned()));
        }
        let to = to.to_owned();
        self.read(move |conn| {
            // One step copies every page inside one read transaction: in
            // WAL mode the writer goes on meanwhile, and the copy is the
            // consistent snapshot of that moment (a step-wise copy would
            // restart whenever the writer changed a page).
            let mut target = Connection::open(&to)?;
            let backup = rusqlite::backup::Backup::new(conn, &mut target)?;
            loop {
                match backup.step(-1)? {
                    rusqlite::backup::StepResult::Done => return Ok(()),
                    // Another process holds a lock: wait and go on.
                    _ => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        })
        .await
    }

    fn writer_queue_depth(&self) -> usize {
        self.writer.depth()
    }

    fn on_change(&self, listener: ChangeListener) -> bool {
        self.writer.on_change(listener)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SessionFilter, SessionQuery};
    use worktime_protocol::{LocalId, SessionState};

    const NOW: UnixMillis = UnixMillis(1_795_300_000_000);

    fn session(id: &str) -> Session {
        Session {
            local_id: LocalId::parse(id).unwrap(),
            repo_owner: "octo".into(),
            repo_name: "hello".into(),
            pr_number: 7,
            started_at: UnixMillis(NOW.0 - 60_000),
            ended_at: None,
            active_seconds: 30,
            state: SessionState::Active,
            updated_at: UnixMillis(NOW.0 - 30_000),
        }
    }

    async fn store_with_device() -> (tempfile::TempDir, SqliteStore, Principal) {
        let dir = tempfile::TempDir::new().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db"), NOW).unwrap();
        let user = store.add_user("alice", false, NOW).await.unwrap();
        let device = store
            .create_device(user.id, "laptop", "h", NOW)
            .await
            .unwrap();
        let principal = store.authenticate("h").await.unwrap().unwrap();
        assert_eq!(principal.device_id, device.id);
        (dir, store, principal)
    }

    fn everything() -> SessionQuery {
        SessionQuery {
            filter: SessionFilter::default(),
            limit: 100,
            after: None,
        }
    }

    #[tokio::test]
    async fn a_corrupt_row_is_an_error_not_a_wrong_session() {
        let (dir, store, by) = store_with_device().await;
        store
            .upsert_sessions(&by, vec![session("good")], NOW)
            .await
            .unwrap();
        let raw = Connection::open(dir.path().join("t.db")).unwrap();
        raw.execute("UPDATE sessions SET local_id = 'not valid!'", [])
            .unwrap();
        assert!(matches!(
            store.list_sessions(&everything()).await,
            Err(StoreError::Database(_))
        ));
    }

    #[tokio::test]
    async fn close_stale_ends_only_silent_active_sessions_once() {
        let (_dir, store, by) = store_with_device().await;
        store
            .upsert_sessions(&by, vec![session("silent")], NOW)
            .await
            .unwrap();
        let later = UnixMillis(NOW.0 + 5 * 60_000);
        store
            .upsert_sessions(&by, vec![session("fresh")], later)
            .await
            .unwrap();
        let at = UnixMillis(NOW.0 + 11 * 60_000);
        let closed = store
            .close_stale(UnixMillis(at.0 - 10 * 60_000), at)
            .await
            .unwrap();
        assert_eq!(closed.len(), 1);
        let c = &closed[0];
        assert_eq!(c.session.local_id.as_str(), "silent");
        assert!(c.closed_by_server && c.session.is_ended());
        assert_eq!(c.session.ended_at, Some(c.session.updated_at));
        assert_eq!(c.received_at, at);
        // Closed sessions are not closed again.
        let again = store
            .close_stale(UnixMillis(at.0 - 10 * 60_000), at)
            .await
            .unwrap();
        assert!(again.is_empty());
    }

    #[tokio::test]
    async fn the_stale_search_uses_the_partial_index() {
        let (dir, _store, _) = store_with_device().await;
        let raw = Connection::open(dir.path().join("t.db")).unwrap();
        let plan: String = raw
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM sessions \
                 WHERE state = 'active' AND received_at < 5",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("sessions_active_received"), "{plan}");
    }

    #[tokio::test]
    async fn a_taken_user_name_is_refused() {
        let (_dir, store, _) = store_with_device().await;
        assert!(matches!(
            store.add_user("alice", true, NOW).await,
            Err(StoreError::UserExists(name)) if name == "alice"
        ));
    }
}
