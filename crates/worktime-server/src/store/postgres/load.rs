//! Fills an empty PostgreSQL database from a [`Dump`] in one transaction
//! (`migrate-db`): the same ids, token hashes and change numbers; the
//! identity sequences and the feed head continue after the copied rows.

use crate::store::StoreError;
use crate::store::copy::Dump;
use sqlx::{PgPool, Row};

/// Sessions inserted per statement.
const CHUNK: usize = 1000;

/// Copies `dump` into the database behind `pool`, which must hold no users
/// yet (a copy never merges into or overwrites a database in use).
pub(super) async fn load(pool: &PgPool, dump: &Dump) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    // Nobody else may write while we copy and check emptiness.
    sqlx::query("LOCK TABLE users, devices, sessions, feed_head IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let users: i64 = sqlx::query("SELECT COUNT(*) FROM users")
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    if users > 0 {
        return Err(StoreError::BadDatabase(format!(
            "the PostgreSQL database already has {users} users; migrate-db copies only into an empty database"
        )));
    }
    for u in &dump.users {
        sqlx::query("INSERT INTO users (id, name, admin, created_at) VALUES ($1, $2, $3, $4)")
            .bind(u.id)
            .bind(&u.name)
            .bind(u.admin)
            .bind(u.created_at)
            .execute(&mut *tx)
            .await?;
    }
    for d in &dump.devices {
        sqlx::query(
            "INSERT INTO devices (id, user_id, label, token_hash, created_at, last_seen_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(d.id)
        .bind(d.user_id)
        .bind(&d.label)
        .bind(&d.token_hash)
        .bind(d.created_at)
        .bind(d.last_seen_at)
        .bind(d.revoked_at)
        .execute(&mut *tx)
        .await?;
    }
    for chunk in dump.sessions.chunks(CHUNK) {
        let col = |f: fn(&crate::store::copy::SessionRow) -> i64| {
            chunk.iter().map(f).collect::<Vec<i64>>()
        };
        let text = |f: fn(&crate::store::copy::SessionRow) -> &str| {
            chunk
                .iter()
                .map(|s| f(s).to_owned())
                .collect::<Vec<String>>()
        };
        sqlx::query(
            "INSERT INTO sessions (id, user_id, local_id, device_id, repo_owner, repo_name, \
             pr_number, started_at, ended_at, active_seconds, state, updated_at, \
             closed_by_server, received_at, seq) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::BIGINT[], \
             $5::TEXT[], $6::TEXT[], $7::BIGINT[], $8::BIGINT[], $9::BIGINT[], $10::BIGINT[], \
             $11::TEXT[], $12::BIGINT[], $13::BOOLEAN[], $14::BIGINT[], $15::BIGINT[])",
        )
        .bind(col(|s| s.id))
        .bind(col(|s| s.user_id))
        .bind(text(|s| &s.local_id))
        .bind(col(|s| s.device_id))
        .bind(text(|s| &s.repo_owner))
        .bind(text(|s| &s.repo_name))
        .bind(col(|s| s.pr_number))
        .bind(col(|s| s.started_at))
        .bind(
            chunk
                .iter()
                .map(|s| s.ended_at)
                .collect::<Vec<Option<i64>>>(),
        )
        .bind(col(|s| s.active_seconds))
        .bind(text(|s| &s.state))
        .bind(col(|s| s.updated_at))
        .bind(
            chunk
                .iter()
                .map(|s| s.closed_by_server)
                .collect::<Vec<bool>>(),
        )
        .bind(col(|s| s.received_at))
        .bind(col(|s| s.seq))
        .execute(&mut *tx)
        .await?;
    }
    for table in ["users", "devices", "sessions"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "UPDATE feed_head SET seq = (SELECT COALESCE(MAX(seq), 0) FROM sessions) WHERE id = 1",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
