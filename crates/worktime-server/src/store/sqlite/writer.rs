//! The single writer: a thread that owns the only writing connection and
//! runs every write in an immediate transaction. Session upserts that queue
//! up while a commit is in progress are applied together in the next
//! transaction (group commit), so concurrent clients share one fsync.
//!
//! Groups are formed smallest job first and capped at
//! [`MAX_GROUP_SESSIONS`]: a device's one-session PUT goes into the next
//! commit even while other devices flood with 500-session batches, so it
//! waits for at most two short commits instead of the whole queue. Jobs
//! of equal size keep their arrival order.

use super::rows::{self, SESSION_COLUMNS, SESSION_FROM, state_text};
use crate::store::{
    ChangeListener, DeviceRecord, Principal, SessionRecord, StoreError, UpsertOutcome, UserRecord,
};
use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use tokio::sync::oneshot;
use worktime_protocol::{Session, SessionState, UnixMillis, merge};

/// Most sessions committed in one group transaction (a job larger than
/// this still goes alone). Small enough that a commit takes a fraction of
/// a second under load; large enough that the fsync is shared widely.
pub(super) const MAX_GROUP_SESSIONS: usize = 2_000;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

struct Upsert {
    by: Principal,
    sessions: Vec<Session>,
    now: UnixMillis,
    reply: Reply<Vec<UpsertOutcome>>,
}

enum Job {
    Upsert(Upsert),
    Run(Box<dyn FnOnce(&mut Connection) + Send>),
}

/// Handle to the writer thread. Dropping it lets queued jobs finish, then
/// joins the thread (which closes the connection).
pub(super) struct Writer {
    jobs: Option<mpsc::SyncSender<Job>>,
    depth: Arc<AtomicUsize>,
    capacity: usize,
    listener: Arc<OnceLock<ChangeListener>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread that owns `conn`, with room for `capacity` jobs
    /// waiting; a job beyond that is refused with [`StoreError::Busy`],
    /// never buffered.
    pub(super) fn start(conn: Connection, capacity: usize) -> Result<Self, StoreError> {
        let (jobs, queue) = mpsc::sync_channel(capacity.max(1));
        let depth = Arc::new(AtomicUsize::new(0));
        let listener = Arc::new(OnceLock::new());
        let (counted, told) = (Arc::clone(&depth), Arc::clone(&listener));
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || work(conn, queue, &counted, &told))
            .map_err(|_| StoreError::WriterGone)?;
        Ok(Writer {
            jobs: Some(jobs),
            depth,
            capacity: capacity.max(1),
            listener,
            thread: Some(thread),
        })
    }

    /// Where changes are announced (set once, by [`Writer::on_change`]).
    pub(super) fn listener(&self) -> Arc<OnceLock<ChangeListener>> {
        Arc::clone(&self.listener)
    }

    /// Sets the listener told of every committed change, in commit order;
    /// `false` if one was set before.
    pub(super) fn on_change(&self, listener: ChangeListener) -> bool {
        self.listener.set(listener).is_ok()
    }

    /// Jobs waiting for the writer now.
    pub(super) fn depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }

    fn send(&self, job: Job) -> Result<(), StoreError> {
        let jobs = self.jobs.as_ref().ok_or(StoreError::WriterGone)?;
        // Admission counts every job waiting, in the channel or held aside
        // by the writer while it picks small ones first, so both stay bounded.
        if self.depth.fetch_add(1, Ordering::Relaxed) >= self.capacity {
            self.depth.fetch_sub(1, Ordering::Relaxed);
            return Err(StoreError::Busy);
        }
        jobs.try_send(job).map_err(|e| {
            self.depth.fetch_sub(1, Ordering::Relaxed);
            match e {
                mpsc::TrySendError::Full(_) => StoreError::Busy,
                mpsc::TrySendError::Disconnected(_) => StoreError::WriterGone,
            }
        })
    }

    /// Runs `f` on the writer's connection and waits for its result.
    pub(super) async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Run(Box::new(move |conn| {
            let _ = reply.send(f(conn));
        })))?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Queues an upsert of `sessions` for `by`'s user and waits for the
    /// commit that contains it.
    pub(super) async fn upsert(
        &self,
        by: Principal,
        sessions: Vec<Session>,
        now: UnixMillis,
    ) -> Result<Vec<UpsertOutcome>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Upsert(Upsert {
            by,
            sessions,
            now,
            reply,
        }))?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the SQLite writer thread panicked");
        }
    }
}

fn work(
    mut conn: Connection,
    queue: mpsc::Receiver<Job>,
    depth: &AtomicUsize,
    listener: &OnceLock<ChangeListener>,
) {
    let done = |n: usize| {
        depth.fetch_sub(n, Ordering::Relaxed);
    };
    // Upserts received and not yet committed, in arrival order.
    let mut waiting: Vec<Upsert> = Vec::new();
    loop {
        if waiting.is_empty() {
            match queue.recv() {
                Ok(Job::Upsert(job)) => waiting.push(job),
                Ok(Job::Run(f)) => {
                    done(1);
                    f(&mut conn);
                    continue;
                }
                Err(_) => return,
            }
        }
        // Everything else that arrived meanwhile; other writes (small, one
        // transaction each) run as they come.
        while let Ok(job) = queue.try_recv() {
            match job {
                Job::Upsert(job) => waiting.push(job),
                Job::Run(f) => {
                    done(1);
                    f(&mut conn);
                }
            }
        }
        // Smallest first (stable: equal sizes keep arrival order), up to the cap.
        waiting.sort_by_key(|job| job.sessions.len());
        let mut count = 0;
        let take = waiting
            .iter()
            .take_while(|job| {
                let fits = count == 0 || count + job.sessions.len() <= MAX_GROUP_SESSIONS;
                count += job.sessions.len();
                fits
            })
            .count()
            .max(1);
        let group: Vec<Upsert> = waiting.drain(..take).collect();
        // No longer waiting: a client answered from this commit may send
        // its next write at once and must find room.
        done(group.len());
        commit_group(&mut conn, group, listener);
    }
}

/// Applies a group of upserts in one transaction; if that fails, applies
/// each on its own so one failure cannot fail the others.
fn commit_group(conn: &mut Connection, group: Vec<Upsert>, listener: &OnceLock<ChangeListener>) {
    if group.len() > 1 {
        let together = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut seq = last_seq(&tx)?;
            let mut all = Vec::with_capacity(group.len());
            for job in &group {
                all.push(upsert_all(&tx, &mut seq, &job.by, &job.sessions, job.now)?);
            }
            tx.commit()?;
            Ok::<_, rusqlite::Error>(all)
        })();
        match together {
            Ok(all) => {
                for (job, outcomes) in group.into_iter().zip(all) {
                    announce(listener, &outcomes);
                    let _ = job.reply.send(Ok(outcomes));
                }
                return;
            }
            Err(e) => tracing::warn!(error = %e, "group commit failed; retrying one by one"),
        }
    }
    for job in group {
        let result = (|| -> rusqlite::Result<Vec<UpsertOutcome>> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut seq = last_seq(&tx)?;
            let outcomes = upsert_all(&tx, &mut seq, &job.by, &job.sessions, job.now)?;
            tx.commit()?;
            Ok(outcomes)
        })();
        if let Ok(outcomes) = &result {
            announce(listener, outcomes);
        }
        let _ = job.reply.send(result.map_err(StoreError::from));
    }
}

/// Tells the listener of the changed sessions among `outcomes`. Called on
/// the writer thread right after the commit, so changes are announced in
/// the order of their sequence numbers.
fn announce(listener: &OnceLock<ChangeListener>, outcomes: &[UpsertOutcome]) {
    let Some(listener) = listener.get() else {
        return;
    };
    for outcome in outcomes {
        if let UpsertOutcome::Stored {
            record,
            changed: true,
        } = outcome
        {
            listener(record);
        }
    }
}

/// The highest change number committed so far. Read inside the writing
/// transaction, so numbers increase in commit order even when another
/// process (the CLI) writes too.
fn last_seq(tx: &Transaction<'_>) -> rusqlite::Result<i64> {
    tx.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM sessions")?
        .query_row([], |r| r.get(0))
}

fn upsert_all(
    tx: &Transaction<'_>,
    seq: &mut i64,
    by: &Principal,
    sessions: &[Session],
    now: UnixMillis,
) -> rusqlite::Result<Vec<UpsertOutcome>> {
    // Prepared once per job, not per session: formatting and looking up the
    // statement text per row was a measurable share of the batch cost.
    let mut statements = Statements {
        select: tx.prepare_cached(&format!(
            "SELECT {SESSION_COLUMNS} FROM {SESSION_FROM} WHERE s.user_id = ?1 AND s.local_id = ?2"
        ))?,
        insert: tx.prepare_cached(
            "INSERT INTO sessions (user_id, local_id, device_id, repo_owner, repo_name, pr_number, \
             started_at, ended_at, active_seconds, state, updated_at, closed_by_server, received_at, \
             seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0, ?12, ?13)",
        )?,
        update: tx.prepare_cached(
            "UPDATE sessions SET device_id = ?1, started_at = ?2, ended_at = ?3, active_seconds = ?4, \
             state = ?5, updated_at = ?6, closed_by_server = 0, received_at = ?7, seq = ?8 \
             WHERE id = ?9",
        )?,
    };
    sessions
        .iter()
        .map(|s| upsert_one(&mut statements, seq, by, s, now))
        .collect()
}

struct Statements<'tx> {
    select: rusqlite::CachedStatement<'tx>,
    insert: rusqlite::CachedStatement<'tx>,
    update: rusqlite::CachedStatement<'tx>,
}

fn upsert_one(
    st: &mut Statements<'_>,
    seq: &mut i64,
    by: &Principal,
    incoming: &Session,
    now: UnixMillis,
) -> rusqlite::Result<UpsertOutcome> {
    let existing = st
        .select
        .query_row(
            (by.user_id, incoming.local_id.as_str()),
            rows::session_record,
        )
        .optional()?;
    let stored = |session: Session, seq: i64| SessionRecord {
        session,
        user: by.user.clone(),
        device: by.device.clone(),
        closed_by_server: false,
        received_at: now,
        seq,
    };
    let s = incoming;
    let Some((row_id, existing)) = existing else {
        *seq += 1;
        st.insert.execute(rusqlite::params![
            by.user_id,
            s.local_id.as_str(),
            by.device_id,
            s.repo_owner,
            s.repo_name,
            s.pr_number as i64,
            s.started_at.0,
            s.ended_at.map(|t| t.0),
            s.active_seconds,
            state_text(s.state),
            s.updated_at.0,
            now.0,
            *seq,
        ])?;
        return Ok(UpsertOutcome::Stored {
            record: stored(s.clone(), *seq),
            changed: true,
        });
    };
    // A close by the server is provisional: the device's own version, at
    // least as new as the one the server closed, replaces it.
    let (merged, changes) = if existing.closed_by_server {
        (
            merge::merge_over_server_close(&existing.session, s),
            merge::replaces_server_close(&existing.session, s),
        )
    } else {
        (
            merge::merge(&existing.session, s),
            merge::changes(&existing.session, s),
        )
    };
    let merged = match merged {
        Ok(merged) => merged,
        Err(refused) => return Ok(UpsertOutcome::Refused(refused)),
    };
    if !changes {
        return Ok(UpsertOutcome::Stored {
            record: existing,
            changed: false,
        });
    }
    *seq += 1;
    st.update.execute(rusqlite::params![
        by.device_id,
        merged.started_at.0,
        merged.ended_at.map(|t| t.0),
        merged.active_seconds,
        state_text(merged.state),
        merged.updated_at.0,
        now.0,
        *seq,
        row_id,
    ])?;
    Ok(UpsertOutcome::Stored {
        record: stored(merged, *seq),
        changed: true,
    })
}

/// `INSERT` a user, mapping a taken name to [`StoreError::UserExists`].
pub(super) fn add_user(
    conn: &mut Connection,
    name: &str,
    admin: bool,
    now: UnixMillis,
) -> Result<UserRecord, StoreError> {
    let inserted = conn.execute(
        "INSERT INTO users (name, admin, created_at) VALUES (?1, ?2, ?3)",
        (name, admin, now.0),
    );
    match inserted {
        Ok(_) => Ok(UserRecord {
            id: conn.last_insert_rowid(),
            name: name.to_owned(),
            admin,
            created_at: now,
        }),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::ConstraintViolation => {
            Err(StoreError::UserExists(name.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// `INSERT` a device token hash.
pub(super) fn create_device(
    conn: &mut Connection,
    user_id: i64,
    label: &str,
    token_hash: &str,
    now: UnixMillis,
) -> Result<DeviceRecord, StoreError> {
    conn.execute(
        "INSERT INTO devices (user_id, label, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        (user_id, label, token_hash, now.0),
    )?;
    Ok(DeviceRecord {
        id: conn.last_insert_rowid(),
        user_id,
        label: label.to_owned(),
        created_at: now,
        last_seen_at: None,
        revoked_at: None,
    })
}

/// Records the last use of a device.
pub(super) fn touch_device(
    conn: &mut Connection,
    device_id: i64,
    now: UnixMillis,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE devices SET last_seen_at = ?1 WHERE id = ?2")?
        .execute((now.0, device_id))?;
    Ok(())
}

/// Revokes one live device (of `owner`, when given); returns its user id.
pub(super) fn revoke_device(
    conn: &mut Connection,
    owner: Option<i64>,
    device_id: i64,
    now: UnixMillis,
) -> Result<Option<i64>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let user_id: Option<i64> = tx
        .query_row(
            "SELECT user_id FROM devices WHERE id = ?1 AND revoked_at IS NULL",
            [device_id],
            |r| r.get(0),
        )
        .optional()?;
    let user_id = user_id.filter(|u| owner.is_none_or(|o| o == *u));
    if user_id.is_some() {
        tx.execute(
            "UPDATE devices SET revoked_at = ?1 WHERE id = ?2",
            (now.0, device_id),
        )?;
    }
    tx.commit()?;
    Ok(user_id)
}

/// Revokes every live device of a user.
pub(super) fn revoke_all_devices(
    conn: &mut Connection,
    user_id: i64,
    now: UnixMillis,
) -> Result<Vec<i64>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ids = tx
        .prepare("SELECT id FROM devices WHERE user_id = ?1 AND revoked_at IS NULL")?
        .query_map([user_id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    tx.execute(
        "UPDATE devices SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
        (now.0, user_id),
    )?;
    tx.commit()?;
    Ok(ids)
}

/// Ends active sessions whose device has sent nothing since `silent_since`
/// (neither a change to the session nor any other request), at their last
/// update, marked closed by the server.
pub(super) fn close_stale(
    conn: &mut Connection,
    silent_since: UnixMillis,
    now: UnixMillis,
) -> Result<Vec<SessionRecord>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ids = tx
        // The literal `'active'` lets the planner use the partial index
        // `sessions_active_received`; the device's last request is its
        // `last_seen_at` (or its creation, before any).
        .prepare(
            "SELECT s.id FROM sessions s JOIN devices d ON d.id = s.device_id \
             WHERE s.state = 'active' AND s.received_at < ?1 \
             AND COALESCE(d.last_seen_at, d.created_at) < ?1 ORDER BY s.id",
        )?
        .query_map([silent_since.0], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    let mut seq = last_seq(&tx)?;
    let mut closed = Vec::with_capacity(ids.len());
    for id in ids {
        seq += 1;
        tx.prepare_cached(
            "UPDATE sessions SET state = ?1, ended_at = updated_at, closed_by_server = 1, \
             received_at = ?2, seq = ?3 WHERE id = ?4",
        )?
        .execute((state_text(SessionState::Ended), now.0, seq, id))?;
        let (_, record) = tx
            .prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM {SESSION_FROM} WHERE s.id = ?1"
            ))?
            .query_row([id], rows::session_record)?;
        closed.push(record);
    }
    tx.commit()?;
    Ok(closed)
}

/// Renames a user; `None` if there is no such user.
pub(super) fn rename_user(
    conn: &mut Connection,
    name: &str,
    new_name: &str,
) -> Result<Option<()>, StoreError> {
    match conn.execute(
        "UPDATE users SET name = ?1 WHERE name = ?2",
        (new_name, name),
    ) {
        Ok(0) => Ok(None),
        Ok(_) => Ok(Some(())),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::ConstraintViolation => {
            Err(StoreError::UserExists(new_name.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Sets or clears a user's admin flag; `None` if there is no such user.
pub(super) fn set_admin(
    conn: &mut Connection,
    name: &str,
    admin: bool,
) -> Result<Option<()>, StoreError> {
    let changed = conn.execute("UPDATE users SET admin = ?1 WHERE name = ?2", (admin, name))?;
    Ok((changed > 0).then_some(()))
}

/// Deletes a user with every session and device token of theirs, in one
/// transaction; returns `(sessions, devices)` deleted.
pub(super) fn delete_user(
    conn: &mut Connection,
    user_id: i64,
) -> Result<(usize, usize), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sessions = tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?;
    let devices = tx.execute("DELETE FROM devices WHERE user_id = ?1", [user_id])?;
    tx.execute("DELETE FROM users WHERE id = ?1", [user_id])?;
    tx.commit()?;
    Ok((sessions, devices))
}
