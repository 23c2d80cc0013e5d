//! The PostgreSQL implementation of [`Store`], for a team whose server runs
//! as several instances on the database their company already operates.
//!
//! Driver: [`sqlx`] — an async driver with a pool, migrations that take an
//! advisory lock (two instances starting at once apply each migration
//! once), and a `LISTEN` client that reconnects; one well-kept crate for all
//! three, used with run-time queries only (no compile-time database). Its
//! `sqlite` driver is not enabled; SQLite stays on `rusqlite`.
//!
//! Several instances share one database safely: the merge is one statement
//! that decides on the latest committed row ([`writes`]); change numbers
//! are taken at the end of each transaction under one row lock, so they
//! increase in commit order and the feed never skips a change; each
//! instance follows the feed after `NOTIFY` for its event streams
//! ([`follow`]); the stale-session closer holds an advisory lock while it
//! sweeps, so one instance closes at a time; revocations reach every
//! instance's streams through `NOTIFY`, and every request authenticates
//! against the database, so a revoked token fails everywhere at once.
//!
//! TLS through rustls with the system's root certificates: `sslmode` in the
//! URL decides (`prefer` by default; `require`, `verify-ca`, `verify-full`,
//! with `sslrootcert=` for a private CA).

mod follow;
mod load;
mod reads;
mod rows;
mod writes;

pub use writes::CLOSER_LOCK;

use super::{
    ChangeListener, DeviceRecord, Principal, RevokeListener, SessionPage, SessionQuery,
    SessionRecord, Store, StoreError, TotalRow, TotalsQuery, UpsertOutcome, UserRecord,
};
use async_trait::async_trait;
use follow::Listeners;
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Row, SqlStr};
use std::borrow::Cow;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use worktime_protocol::{Session, UnixMillis};

/// Connections one instance holds at most.
const POOL_SIZE: u32 = 16;
/// How long a request waits for a free connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Every migration, oldest first. Append only; never edit a released one.
const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "init",
    include_str!("../../../migrations/postgres/0001_init.sql"),
)];

/// The PostgreSQL-backed store. Cheap to share behind an `Arc`.
pub struct PgStore {
    pool: PgPool,
    /// Write jobs waiting or running; one more is [`StoreError::Busy`].
    writes: Semaphore,
    capacity: usize,
    listeners: Arc<Listeners>,
    /// Feed position at open: the follower announces what commits after it.
    opened_at_seq: i64,
    follower: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

/// `url` without its password, for messages.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

fn migrator() -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|(version, name, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*name),
                MigrationType::Simple,
                SqlStr::from_static(sql),
                false,
            )
        })
        .collect::<Vec<_>>();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user:pass@host:port/db`), applies
    /// pending migrations (under sqlx's advisory lock, so instances that
    /// start together apply each once) and is ready to serve. `writer_queue`
    /// writes may wait or run at once; more are [`StoreError::Busy`].
    pub async fn open(url: &str, now: UnixMillis, writer_queue: usize) -> Result<Self, StoreError> {
        let _ = now;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(|e| {
                StoreError::BadDatabase(format!(
                    "could not connect to PostgreSQL at {}: {e}",
                    redacted(url)
                ))
            })?;
        let known = MIGRATIONS.last().map_or(0, |(v, _, _)| *v);
        migrator().run(&pool).await.map_err(|e| match e {
            MigrateError::VersionMissing(found) => StoreError::SchemaTooNew {
                found: u32::try_from(found).unwrap_or(u32::MAX),
                known: u32::try_from(known).unwrap_or(u32::MAX),
            },
            MigrateError::ExecuteMigration(source, version) => StoreError::Migration {
                version: u32::try_from(version).unwrap_or(0),
                source: Box::new(source),
            },
            other => StoreError::Migration {
                version: 0,
                source: Box::new(other),
            },
        })?;
        let opened_at_seq: i64 = sqlx::query("SELECT seq FROM feed_head WHERE id = 1")
            .fetch_one(&pool)
            .await?
            .try_get(0)?;
        let capacity = writer_queue.max(1);
        Ok(PgStore {
            pool,
            writes: Semaphore::new(capacity),
            capacity,
            listeners: Arc::new(Listeners {
                changes: OnceLock::new(),
                revoked: OnceLock::new(),
            }),
            opened_at_seq,
            follower: Mutex::new(None),
        })
    }

    /// The connection pool (for tests that look at the database itself).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Copies a whole SQLite database's rows into this one, which must be
    /// empty (see [`crate::store::copy`]).
    pub async fn load(&self, dump: &crate::store::copy::Dump) -> Result<(), StoreError> {
        load::load(&self.pool, dump).await
    }

    /// Starts following the feed for the listeners, once.
    fn start_follower(&self) {
        let Ok(mut follower) = self.follower.lock() else {
            return;
        };
        if follower.is_none() {
            *follower = Some(tokio::spawn(follow::run(
                self.pool.clone(),
                Arc::clone(&self.listeners),
                self.opened_at_seq,
            )));
        }
    }

    async fn write<T>(
        &self,
        work: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let _permit = self.writes.try_acquire().map_err(|_| StoreError::Busy)?;
        work.await
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if let Ok(mut follower) = self.follower.lock()
            && let Some(task) = follower.take()
        {
            task.abort();
        }
    }
}

#[async_trait]
impl Store for PgStore {
    async fn add_user(
        &self,
        name: &str,
        admin: bool,
        now: UnixMillis,
    ) -> Result<UserRecord, StoreError> {
        writes::add_user(&self.pool, name, admin, now).await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        reads::list_users(&self.pool).await
    }

    async fn find_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        reads::find_user(&self.pool, name).await
    }

    async fn create_device(
        &self,
        user_id: i64,
        label: &str,
        token_hash: &str,
        now: UnixMillis,
    ) -> Result<DeviceRecord, StoreError> {
        writes::create_device(&self.pool, user_id, label, token_hash, now).await
    }

    async fn list_devices(
        &self,
        user_id: i64,
        include_revoked: bool,
    ) -> Result<Vec<DeviceRecord>, StoreError> {
        reads::list_devices(&self.pool, user_id, include_revoked).await
    }

    async fn authenticate(&self, token_hash: &str) -> Result<Option<Principal>, StoreError> {
        reads::authenticate(&self.pool, token_hash).await
    }

    async fn touch_device(&self, device_id: i64, now: UnixMillis) -> Result<(), StoreError> {
        writes::touch_device(&self.pool, device_id, now).await
    }

    async fn revoke_device(
        &self,
        owner: Option<i64>,
        device_id: i64,
        now: UnixMillis,
    ) -> Result<Option<i64>, StoreError> {
        writes::revoke_device(&self.pool, owner, device_id, now).await
    }

    async fn revoke_all_devices(
        &self,
        user_id: i64,
        now: UnixMillis,
    ) -> Result<Vec<i64>, StoreError> {
        writes::revoke_all_devices(&self.pool, user_id, now).await
    }

    async fn upsert_sessions(
        &self,
        by: &Principal,
        sessions: Vec<Session>,
        now: UnixMillis,
    ) -> Result<Vec<UpsertOutcome>, StoreError> {
        self.write(writes::upsert_sessions(&self.pool, by, &sessions, now))
            .await
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<SessionPage, StoreError> {
        reads::list_sessions(&self.pool, query).await
    }

    async fn close_stale(
        &self,
        silent_since: UnixMillis,
        now: UnixMillis,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        // Listeners hear of the closes through the feed, like any change.
        writes::close_stale(&self.pool, silent_since, now).await
    }

    async fn totals(&self, query: &TotalsQuery) -> Result<Vec<TotalRow>, StoreError> {
        reads::totals(&self.pool, query).await
    }

    async fn list_changes(
        &self,
        user_id: Option<i64>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        reads::list_changes(&self.pool, user_id, after, limit).await
    }

    async fn count_sessions(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM sessions")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    async fn head_seq(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT seq FROM feed_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn rename_user(&self, name: &str, new_name: &str) -> Result<bool, StoreError> {
        writes::rename_user(&self.pool, name, new_name).await
    }

    async fn set_admin(&self, name: &str, admin: bool) -> Result<bool, StoreError> {
        writes::set_admin(&self.pool, name, admin).await
    }

    async fn delete_user(&self, user_id: i64) -> Result<(usize, usize), StoreError> {
        writes::delete_user(&self.pool, user_id).await
    }

    async fn user_sessions(&self, user_id: i64) -> Result<Vec<SessionRecord>, StoreError> {
        reads::user_sessions(&self.pool, user_id).await
    }

    async fn backup(&self, to: &std::path::Path) -> Result<(), StoreError> {
        let _ = to;
        Err(StoreError::Unsupported(
            "`backup` copies SQLite files; on PostgreSQL use pg_dump \
             (e.g. `pg_dump --format=custom --file=worktime.dump \"$WORKTIME_DB\"`), \
             which takes a consistent snapshot while the server runs",
        ))
    }

    fn writer_queue_depth(&self) -> usize {
        self.capacity - self.writes.available_permits()
    }

    fn on_change(&self, listener: ChangeListener) -> bool {
        let set = self.listeners.changes.set(listener).is_ok();
        self.start_follower();
        set
    }

    fn on_revoke(&self, listener: RevokeListener) -> bool {
        let set = self.listeners.revoked.set(listener).is_ok();
        self.start_follower();
        set
    }
}
