//! Turning PostgreSQL rows into the protocol's types, refusing rows that do
//! not fit them, and turning `sqlx` errors into [`StoreError`].

use crate::store::{DeviceRecord, Principal, SessionRecord, StoreError, UserRecord};
use sqlx::Row;
use sqlx::postgres::PgRow;
use worktime_protocol::{LocalId, Session, SessionState, UnixMillis};

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(Box::new(e))
    }
}

/// Columns of a session row joined with its user and device, in the order
/// [`session_record`] reads them. Use with [`SESSION_FROM`].
pub(super) const SESSION_COLUMNS: &str = "s.id, s.local_id, s.repo_owner, s.repo_name, \
     s.pr_number, s.started_at, s.ended_at, s.active_seconds, s.state, s.updated_at, \
     s.closed_by_server, s.received_at, u.name, d.label, s.seq";

/// The joins [`SESSION_COLUMNS`] needs.
pub(super) const SESSION_FROM: &str =
    "sessions s JOIN users u ON u.id = s.user_id JOIN devices d ON d.id = s.device_id";

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

/// Reads a row selected with [`SESSION_COLUMNS`]: `(row id, record)`.
pub(super) fn session_record(row: &PgRow) -> Result<(i64, SessionRecord), StoreError> {
    let local_id: String = row.try_get(1)?;
    let local_id = LocalId::parse(&local_id).map_err(|_| corrupt("invalid local_id"))?;
    let pr_number: i64 = row.try_get(4)?;
    let active_seconds: i64 = row.try_get(7)?;
    let state = match row.try_get::<&str, _>(8)? {
        "active" => SessionState::Active,
        "ended" => SessionState::Ended,
        _ => return Err(corrupt("unknown state")),
    };
    let session = Session {
        local_id,
        repo_owner: row.try_get(2)?,
        repo_name: row.try_get(3)?,
        pr_number: u64::try_from(pr_number).map_err(|_| corrupt("negative pr_number"))?,
        started_at: UnixMillis(row.try_get(5)?),
        ended_at: row.try_get::<Option<i64>, _>(6)?.map(UnixMillis),
        active_seconds: u32::try_from(active_seconds)
            .map_err(|_| corrupt("active_seconds out of range"))?,
        state,
        updated_at: UnixMillis(row.try_get(9)?),
    };
    Ok((
        row.try_get(0)?,
        SessionRecord {
            session,
            closed_by_server: row.try_get(10)?,
            received_at: UnixMillis(row.try_get(11)?),
            user: row.try_get(12)?,
            device: row.try_get(13)?,
            seq: row
                .try_get::<Option<i64>, _>(14)?
                .ok_or_else(|| corrupt("a committed change without a number"))?,
        },
    ))
}

/// Columns of a user row, in the order [`user`] reads them.
pub(super) const USER_COLUMNS: &str = "id, name, admin, created_at";

/// Reads a row selected with [`USER_COLUMNS`].
pub(super) fn user(row: &PgRow) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        admin: row.try_get(2)?,
        created_at: UnixMillis(row.try_get(3)?),
    })
}

/// Columns of a device row, in the order [`device`] reads them.
pub(super) const DEVICE_COLUMNS: &str = "id, user_id, label, created_at, last_seen_at, revoked_at";

/// Reads a row selected with [`DEVICE_COLUMNS`].
pub(super) fn device(row: &PgRow) -> Result<DeviceRecord, StoreError> {
    Ok(DeviceRecord {
        id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        label: row.try_get(2)?,
        created_at: UnixMillis(row.try_get(3)?),
        last_seen_at: row.try_get::<Option<i64>, _>(4)?.map(UnixMillis),
        revoked_at: row.try_get::<Option<i64>, _>(5)?.map(UnixMillis),
    })
}

/// Reads `u.id, u.name, u.admin, d.id, d.label`.
pub(super) fn principal(row: &PgRow) -> Result<Principal, StoreError> {
    Ok(Principal {
        user_id: row.try_get(0)?,
        user: row.try_get(1)?,
        admin: row.try_get(2)?,
        device_id: row.try_get(3)?,
        device: row.try_get(4)?,
    })
}

/// Whether PostgreSQL refused a write for breaking a unique constraint.
pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}

/// Whether a transaction failed only because of a concurrent one (a
/// deadlock or a serialization failure) and may simply run again.
pub(super) fn is_retryable(e: &StoreError) -> bool {
    let StoreError::Database(inner) = e else {
        return false;
    };
    inner
        .downcast_ref::<sqlx::Error>()
        .and_then(|e| e.as_database_error())
        .and_then(|db| db.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}
