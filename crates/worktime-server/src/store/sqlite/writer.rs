//! The single writer: a thread that owns the only writing connection and
//! runs every write in an immediate transaction. Session upserts that queue
//! up while a commit is in progress are applied together in the next
//! transaction (group commit), so concurrent clients share one fsync.

use super::rows::{self, SESSION_COLUMNS, SESSION_FROM, state_text};
use crate::store::{DeviceRecord, Principal, SessionRecord, StoreError, UpsertOutcome, UserRecord};
use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior};
use std::sync::mpsc;
use std::thread::JoinHandle;
use tokio::sync::oneshot;
use worktime_protocol::{Session, SessionState, UnixMillis, merge};

/// Most sessions committed in one group transaction.
const MAX_GROUP_SESSIONS: usize = 8_000;

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
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread that owns `conn`.
    pub(super) fn start(conn: Connection) -> Result<Self, StoreError> {
        let (jobs, queue) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || work(conn, queue))
            .map_err(|_| StoreError::WriterGone)?;
        Ok(Writer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    fn send(&self, job: Job) -> Result<(), StoreError> {
        self.jobs
            .as_ref()
            .ok_or(StoreError::WriterGone)?
            .send(job)
            .map_err(|_| StoreError::WriterGone)
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

fn work(mut conn: Connection, queue: mpsc::Receiver<Job>) {
    let mut next = queue.recv().ok();
    while let Some(job) = next.take() {
        match job {
            Job::Run(f) => f(&mut conn),
            Job::Upsert(first) => {
                let mut count = first.sessions.len();
                let mut group = vec![first];
                while count < MAX_GROUP_SESSIONS {
                    match queue.try_recv() {
                        Ok(Job::Upsert(more)) => {
                            count += more.sessions.len();
                            group.push(more);
                        }
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                commit_group(&mut conn, group);
            }
        }
        if next.is_none() {
            next = queue.recv().ok();
        }
    }
}

/// Applies a group of upserts in one transaction; if that fails, applies
/// each on its own so one failure cannot fail the others.
fn commit_group(conn: &mut Connection, group: Vec<Upsert>) {
    if group.len() > 1 {
        let together = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut all = Vec::with_capacity(group.len());
            for job in &group {
                all.push(upsert_all(&tx, &job.by, &job.sessions, job.now)?);
            }
            tx.commit()?;
            Ok::<_, rusqlite::Error>(all)
        })();
        match together {
            Ok(all) => {
                for (job, outcomes) in group.into_iter().zip(all) {
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
            let outcomes = upsert_all(&tx, &job.by, &job.sessions, job.now)?;
            tx.commit()?;
            Ok(outcomes)
        })();
        let _ = job.reply.send(result.map_err(StoreError::from));
    }
}

fn upsert_all(
    tx: &Transaction<'_>,
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
             started_at, ended_at, active_seconds, state, updated_at, closed_by_server, received_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0, ?12)",
        )?,
        update: tx.prepare_cached(
            "UPDATE sessions SET device_id = ?1, started_at = ?2, ended_at = ?3, active_seconds = ?4, \
             state = ?5, updated_at = ?6, closed_by_server = 0, received_at = ?7 WHERE id = ?8",
        )?,
    };
    sessions
        .iter()
        .map(|s| upsert_one(&mut statements, by, s, now))
        .collect()
}

struct Statements<'tx> {
    select: rusqlite::CachedStatement<'tx>,
    insert: rusqlite::CachedStatement<'tx>,
    update: rusqlite::CachedStatement<'tx>,
}

fn upsert_one(
    st: &mut Statements<'_>,
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
    let stored = |session: Session| SessionRecord {
        session,
        user: by.user.clone(),
        device: by.device.clone(),
        closed_by_server: false,
        received_at: now,
    };
    let s = incoming;
    let Some((row_id, existing)) = existing else {
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
        ])?;
        return Ok(UpsertOutcome::Stored {
            record: stored(s.clone()),
            changed: true,
        });
    };
    let merged = match merge(&existing.session, s) {
        Ok(merged) => merged,
        Err(refused) => return Ok(UpsertOutcome::Refused(refused)),
    };
    if !worktime_protocol::merge::changes(&existing.session, s) {
        return Ok(UpsertOutcome::Stored {
            record: existing,
            changed: false,
        });
    }
    st.update.execute(rusqlite::params![
        by.device_id,
        merged.started_at.0,
        merged.ended_at.map(|t| t.0),
        merged.active_seconds,
        state_text(merged.state),
        merged.updated_at.0,
        now.0,
        row_id,
    ])?;
    Ok(UpsertOutcome::Stored {
        record: stored(merged),
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

/// Ends active sessions silent since `silent_since` at their last update.
pub(super) fn close_stale(
    conn: &mut Connection,
    silent_since: UnixMillis,
    now: UnixMillis,
) -> Result<Vec<SessionRecord>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ids = tx
        // The literal `'active'` lets the planner use the partial index
        // `sessions_active_received`.
        .prepare("SELECT id FROM sessions WHERE state = 'active' AND received_at < ?1")?
        .query_map([silent_since.0], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    let mut closed = Vec::with_capacity(ids.len());
    for id in ids {
        tx.prepare_cached(
            "UPDATE sessions SET state = ?1, ended_at = updated_at, closed_by_server = 1, \
             received_at = ?2 WHERE id = ?3",
        )?
        .execute((state_text(SessionState::Ended), now.0, id))?;
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
