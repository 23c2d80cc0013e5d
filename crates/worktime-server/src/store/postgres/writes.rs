//! Writes on PostgreSQL, safe with many writers in many processes at once.
//!
//! The merge is one statement per session: `INSERT … ON CONFLICT (user_id,
//! local_id) DO UPDATE … WHERE <same pull request> AND <the new version
//! ranks higher>`, so the decision to overwrite is made on the latest
//! committed row under its row lock, never on a stale read. A version that
//! does not win changes nothing; a second read then tells "kept" from
//! "refused: another pull request".
//!
//! Change numbers are handed out as each transaction's last step, by
//! updating the single `feed_head` row: its row lock is held until commit,
//! so no transaction takes numbers before the previous numbering one has
//! committed. Numbers therefore increase in commit order and the feed never
//! skips a change that commits later with a lower number. The same step
//! sends `NOTIFY worktime_changes`, which PostgreSQL delivers at commit,
//! in commit order, to every instance.

use super::rows::{self, SESSION_COLUMNS, SESSION_FROM};
use crate::store::{DeviceRecord, Principal, SessionRecord, StoreError, UpsertOutcome, UserRecord};
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Row};
use std::collections::HashMap;
use worktime_protocol::{Session, SessionState, UnixMillis, merge};

/// Channel of change notifications (payload: the newest number).
pub(super) const CHANGES_CHANNEL: &str = "worktime_changes";
/// Channel of revocations (payload: device ids, comma-separated).
pub(super) const REVOKED_CHANNEL: &str = "worktime_revoked";
/// Advisory lock key of the stale-session closer ("wt-close"); an operator
/// (or a test) holding it pauses every instance's sweeps.
pub const CLOSER_LOCK: i64 = 0x7774_2d63_6c6f_7365;
/// How often a transaction that lost a deadlock or serialization race runs again.
const RETRIES: usize = 5;

/// The merge of a whole batch (of distinct `local_id`s) as one statement.
/// `$1` user, `$2` device, `$3` now; `$4..$12` the sessions' columns as
/// arrays. A row is written only where the stored one belongs to the same
/// pull request and the new version ranks higher (the rank of
/// [`worktime_protocol::merge`]: ended first, then `updated_at`,
/// `active_seconds`, `ended_at` with none lowest, `started_at`), or where
/// the server closed it and the device's version is at least as new.
/// Rows are taken in `local_id` order, so concurrent batches never deadlock.
const MERGE: &str = "INSERT INTO sessions AS s (user_id, local_id, device_id, repo_owner, \
     repo_name, pr_number, started_at, ended_at, active_seconds, state, updated_at, \
     closed_by_server, received_at, seq) \
     SELECT $1, t.local_id, $2, t.repo_owner, t.repo_name, t.pr_number, t.started_at, \
     t.ended_at, t.active_seconds, t.state, t.updated_at, FALSE, $3, NULL \
     FROM UNNEST($4::TEXT[], $5::TEXT[], $6::TEXT[], $7::BIGINT[], $8::BIGINT[], \
     $9::BIGINT[], $10::BIGINT[], $11::TEXT[], $12::BIGINT[]) \
     AS t(local_id, repo_owner, repo_name, pr_number, started_at, ended_at, active_seconds, \
     state, updated_at) \
     ORDER BY t.local_id \
     ON CONFLICT (user_id, local_id) DO UPDATE SET device_id = EXCLUDED.device_id, \
     started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at, \
     active_seconds = EXCLUDED.active_seconds, state = EXCLUDED.state, \
     updated_at = EXCLUDED.updated_at, closed_by_server = FALSE, \
     received_at = EXCLUDED.received_at, seq = NULL \
     WHERE s.repo_owner = EXCLUDED.repo_owner AND s.repo_name = EXCLUDED.repo_name \
     AND s.pr_number = EXCLUDED.pr_number \
     AND CASE WHEN s.closed_by_server THEN EXCLUDED.updated_at >= s.updated_at \
     ELSE (EXCLUDED.state = 'ended', EXCLUDED.updated_at, EXCLUDED.active_seconds, \
           EXCLUDED.ended_at IS NOT NULL, COALESCE(EXCLUDED.ended_at, 0), EXCLUDED.started_at) \
        > (s.state = 'ended', s.updated_at, s.active_seconds, \
           s.ended_at IS NOT NULL, COALESCE(s.ended_at, 0), s.started_at) END \
     RETURNING s.id, s.local_id";

fn state_text(state: SessionState) -> &'static str {
    match state {
        SessionState::Active => "active",
        SessionState::Ended => "ended",
    }
}

/// Runs `$body` (with `$conn`, the transaction's connection) in a
/// transaction, again when it lost a deadlock or a serialization race to a
/// concurrent one (it then changed nothing); evaluates to its result.
macro_rules! in_transaction {
    ($pool:expr, |$conn:ident| $body:expr) => {{
        let mut attempt = 0;
        loop {
            let mut tx = $pool.begin().await?;
            let result: Result<_, StoreError> = async {
                let $conn: &mut PgConnection = &mut tx;
                $body
            }
            .await;
            let result = match result {
                Ok(value) => tx.commit().await.map(|()| value).map_err(StoreError::from),
                Err(e) => Err(e),
            };
            match result {
                Err(e) if attempt < RETRIES && rows::is_retryable(&e) => attempt += 1,
                other => break other,
            }
        }
    }};
}

/// Gives the changed rows `ids` (in change order; a row may repeat) the
/// next numbers, each row the number of its last change; returns the
/// numbers in the order of `ids`. Takes `feed_head`'s row lock until commit
/// and announces the new head to every instance.
async fn number_changes(conn: &mut PgConnection, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let count = i64::try_from(ids.len()).unwrap_or(i64::MAX);
    let head: i64 = sqlx::query("UPDATE feed_head SET seq = seq + $1 WHERE id = 1 RETURNING seq")
        .bind(count)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    let first = head - count + 1;
    let numbers: Vec<i64> = (first..=head).collect();
    let mut last: HashMap<i64, i64> = HashMap::with_capacity(ids.len());
    for (id, n) in ids.iter().zip(&numbers) {
        last.insert(*id, *n);
    }
    let (row_ids, seqs): (Vec<i64>, Vec<i64>) = last.into_iter().unzip();
    sqlx::query(
        "UPDATE sessions SET seq = t.seq FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS t(id, seq) \
         WHERE sessions.id = t.id",
    )
    .bind(&row_ids)
    .bind(&seqs)
    .execute(&mut *conn)
    .await?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANGES_CHANNEL)
        .bind(head.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(numbers)
}

/// The stored rows of `user_id` with these `local_id`s, with their names.
async fn stored(
    conn: &mut PgConnection,
    user_id: i64,
    local_ids: &[&str],
) -> Result<HashMap<String, SessionRecord>, StoreError> {
    // A row changed earlier in this transaction has no number yet: 0 here.
    let columns = SESSION_COLUMNS.replace("s.seq", "COALESCE(s.seq, 0)");
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {columns} FROM {SESSION_FROM} WHERE s.user_id = $1 AND s.local_id = ANY($2)"
    )))
    .bind(user_id)
    .bind(local_ids)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| rows::session_record(r).map(|(_, rec)| (rec.session.local_id.to_string(), rec)))
        .collect()
}

/// Merges one round (distinct `local_id`s, as indices into `sessions`);
/// returns `(index, row id)` of the changed ones and fills `outcomes` for
/// the others.
async fn merge_round(
    conn: &mut PgConnection,
    by: &Principal,
    sessions: &[Session],
    round: &[usize],
    now: UnixMillis,
    outcomes: &mut [Option<UpsertOutcome>],
) -> Result<Vec<(usize, i64)>, StoreError> {
    let items: Vec<&Session> = round.iter().map(|&i| &sessions[i]).collect();
    let text = |f: fn(&Session) -> &str| items.iter().map(|s| f(s)).collect::<Vec<&str>>();
    let written = sqlx::query(MERGE)
        .bind(by.user_id)
        .bind(by.device_id)
        .bind(now.0)
        .bind(text(|s| s.local_id.as_str()))
        .bind(text(|s| &s.repo_owner))
        .bind(text(|s| &s.repo_name))
        .bind(
            items
                .iter()
                .map(|s| i64::try_from(s.pr_number).unwrap_or(i64::MAX))
                .collect::<Vec<i64>>(),
        )
        .bind(items.iter().map(|s| s.started_at.0).collect::<Vec<i64>>())
        .bind(
            items
                .iter()
                .map(|s| s.ended_at.map(|t| t.0))
                .collect::<Vec<Option<i64>>>(),
        )
        .bind(
            items
                .iter()
                .map(|s| i64::from(s.active_seconds))
                .collect::<Vec<i64>>(),
        )
        .bind(text(|s| state_text(s.state)))
        .bind(items.iter().map(|s| s.updated_at.0).collect::<Vec<i64>>())
        .fetch_all(&mut *conn)
        .await?;
    let mut row_of: HashMap<String, i64> = HashMap::with_capacity(written.len());
    for row in &written {
        row_of.insert(row.try_get(1)?, row.try_get(0)?);
    }
    let mut changed = Vec::with_capacity(written.len());
    let mut kept = Vec::new();
    for &i in round {
        match row_of.get(sessions[i].local_id.as_str()) {
            Some(id) => changed.push((i, *id)),
            None => kept.push(i),
        }
    }
    if kept.is_empty() {
        return Ok(changed);
    }
    // Not written: the stored version ranks at least as high, or the id
    // belongs to another pull request.
    let ids: Vec<&str> = kept
        .iter()
        .map(|&i| sessions[i].local_id.as_str())
        .collect();
    let mut existing = stored(conn, by.user_id, &ids).await?;
    for i in kept {
        let s = &sessions[i];
        let record = existing
            .remove(s.local_id.as_str())
            .ok_or_else(|| StoreError::Corrupt("a merged row vanished".into()))?;
        outcomes[i] = Some(match merge::merge(&record.session, s) {
            Err(refused) => UpsertOutcome::Refused(refused),
            Ok(_) => UpsertOutcome::Stored {
                record,
                changed: false,
            },
        });
    }
    Ok(changed)
}

/// Merges `sessions` for `by`'s user in one transaction; one outcome per
/// session, in order.
pub(super) async fn upsert_sessions(
    pool: &PgPool,
    by: &Principal,
    sessions: &[Session],
    now: UnixMillis,
) -> Result<Vec<UpsertOutcome>, StoreError> {
    // One statement per round: the first version of each id, then the
    // second of ids sent twice, and so on — the same outcomes as merging
    // one by one in order (usually there is one round).
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(sessions.len());
    for (i, s) in sessions.iter().enumerate() {
        let n = seen.entry(s.local_id.as_str()).or_insert(0);
        if rounds.len() <= *n {
            rounds.push(Vec::new());
        }
        rounds[*n].push(i);
        *n += 1;
    }
    in_transaction!(pool, |conn| {
        let mut outcomes: Vec<Option<UpsertOutcome>> = vec![None; sessions.len()];
        let mut changed: Vec<(usize, i64)> = Vec::new();
        for round in &rounds {
            changed.extend(merge_round(conn, by, sessions, round, now, &mut outcomes).await?);
        }
        // Numbered in the batch's order, like SQLite's single writer.
        changed.sort_unstable_by_key(|(i, _)| *i);
        let ids: Vec<i64> = changed.iter().map(|(_, id)| *id).collect();
        let numbers = number_changes(conn, &ids).await?;
        // A repeat that lost to a version changed earlier in this very
        // batch read that row before it had its number: give it the row's.
        let mut row_seq: HashMap<&str, i64> = HashMap::new();
        for ((i, _), seq) in changed.iter().zip(&numbers) {
            row_seq.insert(sessions[*i].local_id.as_str(), *seq);
        }
        for outcome in outcomes.iter_mut().flatten() {
            if let UpsertOutcome::Stored {
                record,
                changed: false,
            } = outcome
                && record.seq == 0
                && let Some(seq) = row_seq.get(record.session.local_id.as_str())
            {
                record.seq = *seq;
            }
        }
        for ((i, _), seq) in changed.into_iter().zip(numbers) {
            outcomes[i] = Some(UpsertOutcome::Stored {
                record: SessionRecord {
                    session: sessions[i].clone(),
                    user: by.user.clone(),
                    device: by.device.clone(),
                    closed_by_server: false,
                    received_at: now,
                    seq,
                },
                changed: true,
            });
        }
        outcomes
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| StoreError::Corrupt("an upsert without an outcome".into()))
    })
}

/// Ends active sessions whose device has sent nothing since `silent_since`,
/// at their last update, marked closed by the server. Only one instance
/// sweeps at a time (a transaction-scoped advisory lock); another that
/// finds the lock taken closes nothing.
pub(super) async fn close_stale(
    pool: &PgPool,
    silent_since: UnixMillis,
    now: UnixMillis,
) -> Result<Vec<SessionRecord>, StoreError> {
    in_transaction!(pool, |conn| {
        let mine: bool = sqlx::query("SELECT pg_try_advisory_xact_lock($1)")
            .bind(CLOSER_LOCK)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        if !mine {
            return Ok(Vec::new());
        }
        // One statement: the conditions are re-checked on the latest
        // version of a row a device changed meanwhile.
        let mut ids: Vec<i64> = sqlx::query(
            "UPDATE sessions AS s SET state = 'ended', ended_at = s.updated_at, \
                 closed_by_server = TRUE, received_at = $2, seq = NULL \
                 FROM devices d WHERE d.id = s.device_id AND s.state = 'active' \
                 AND s.received_at < $1 AND COALESCE(d.last_seen_at, d.created_at) < $1 \
                 RETURNING s.id",
        )
        .bind(silent_since.0)
        .bind(now.0)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
        ids.sort_unstable();
        number_changes(conn, &ids).await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM {SESSION_FROM} WHERE s.id = ANY($1) ORDER BY s.seq"
        )))
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| rows::session_record(r).map(|(_, rec)| rec))
            .collect()
    })
}

pub(super) async fn add_user(
    pool: &PgPool,
    name: &str,
    admin: bool,
    now: UnixMillis,
) -> Result<UserRecord, StoreError> {
    let inserted =
        sqlx::query("INSERT INTO users (name, admin, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(name)
            .bind(admin)
            .bind(now.0)
            .fetch_one(pool)
            .await;
    match inserted {
        Ok(row) => Ok(UserRecord {
            id: row.try_get(0)?,
            name: name.to_owned(),
            admin,
            created_at: now,
        }),
        Err(e) if rows::is_unique_violation(&e) => Err(StoreError::UserExists(name.to_owned())),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn create_device(
    pool: &PgPool,
    user_id: i64,
    label: &str,
    token_hash: &str,
    now: UnixMillis,
) -> Result<DeviceRecord, StoreError> {
    let id: i64 = sqlx::query(
        "INSERT INTO devices (user_id, label, token_hash, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING id",
    )
    .bind(user_id)
    .bind(label)
    .bind(token_hash)
    .bind(now.0)
    .fetch_one(pool)
    .await?
    .try_get(0)?;
    Ok(DeviceRecord {
        id,
        user_id,
        label: label.to_owned(),
        created_at: now,
        last_seen_at: None,
        revoked_at: None,
    })
}

pub(super) async fn touch_device(
    pool: &PgPool,
    device_id: i64,
    now: UnixMillis,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE devices SET last_seen_at = GREATEST(COALESCE(last_seen_at, 0), $1) WHERE id = $2",
    )
    .bind(now.0)
    .bind(device_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Tells every instance (this one too) which devices were just revoked.
async fn announce_revoked(conn: &mut PgConnection, ids: &[i64]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let payload = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(REVOKED_CHANNEL)
        .bind(payload)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(super) async fn revoke_device(
    pool: &PgPool,
    owner: Option<i64>,
    device_id: i64,
    now: UnixMillis,
) -> Result<Option<i64>, StoreError> {
    in_transaction!(pool, |conn| {
        let user_id: Option<i64> = sqlx::query(
            "UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL \
                 AND ($3::BIGINT IS NULL OR user_id = $3) RETURNING user_id",
        )
        .bind(now.0)
        .bind(device_id)
        .bind(owner)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
        if user_id.is_some() {
            announce_revoked(conn, &[device_id]).await?;
        }
        Ok(user_id)
    })
}

pub(super) async fn revoke_all_devices(
    pool: &PgPool,
    user_id: i64,
    now: UnixMillis,
) -> Result<Vec<i64>, StoreError> {
    in_transaction!(pool, |conn| {
        let mut ids: Vec<i64> = sqlx::query(
            "UPDATE devices SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL \
                 RETURNING id",
        )
        .bind(now.0)
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
        ids.sort_unstable();
        announce_revoked(conn, &ids).await?;
        Ok(ids)
    })
}

pub(super) async fn rename_user(
    pool: &PgPool,
    name: &str,
    new_name: &str,
) -> Result<bool, StoreError> {
    match sqlx::query("UPDATE users SET name = $1 WHERE name = $2")
        .bind(new_name)
        .bind(name)
        .execute(pool)
        .await
    {
        Ok(done) => Ok(done.rows_affected() > 0),
        Err(e) if rows::is_unique_violation(&e) => Err(StoreError::UserExists(new_name.to_owned())),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn set_admin(pool: &PgPool, name: &str, admin: bool) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE users SET admin = $1 WHERE name = $2")
        .bind(admin)
        .bind(name)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn delete_user(pool: &PgPool, user_id: i64) -> Result<(usize, usize), StoreError> {
    in_transaction!(pool, |conn| {
        let sessions = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        let ids: Vec<i64> = sqlx::query("DELETE FROM devices WHERE user_id = $1 RETURNING id")
            .bind(user_id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        announce_revoked(conn, &ids).await?;
        Ok((usize::try_from(sessions).unwrap_or(usize::MAX), ids.len()))
    })
}
