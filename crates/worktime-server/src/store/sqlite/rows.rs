//! Turning SQLite rows into the protocol's types, refusing rows that do not
//! fit them (a corrupt row is an error, never a silently wrong session).

use crate::store::{DeviceRecord, Principal, SessionRecord, UserRecord};
use rusqlite::Row;
use rusqlite::types::Type;
use worktime_protocol::{LocalId, Session, SessionState, UnixMillis};

/// Columns of a session row joined with its user and device, in the order
/// [`session_record`] reads them. Use with [`SESSION_FROM`].
pub(super) const SESSION_COLUMNS: &str = "s.id, s.local_id, s.repo_owner, s.repo_name, \
     s.pr_number, s.started_at, s.ended_at, s.active_seconds, s.state, s.updated_at, \
     s.closed_by_server, s.received_at, u.name, d.label, s.seq";

/// The joins [`SESSION_COLUMNS`] needs.
pub(super) const SESSION_FROM: &str =
    "sessions s JOIN users u ON u.id = s.user_id JOIN devices d ON d.id = s.device_id";

fn bad(index: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, what.to_owned().into())
}

/// The database text of a state.
pub(super) fn state_text(state: SessionState) -> &'static str {
    match state {
        SessionState::Active => "active",
        SessionState::Ended => "ended",
    }
}

/// Reads a row selected with [`SESSION_COLUMNS`]: `(row id, record)`.
pub(super) fn session_record(row: &Row<'_>) -> rusqlite::Result<(i64, SessionRecord)> {
    let local_id: String = row.get(1)?;
    let local_id = LocalId::parse(&local_id).map_err(|_| bad(1, "invalid local_id"))?;
    let pr_number: i64 = row.get(4)?;
    let active_seconds: i64 = row.get(7)?;
    let state = match row.get_ref(8)?.as_str()? {
        "active" => SessionState::Active,
        "ended" => SessionState::Ended,
        _ => return Err(bad(8, "unknown state")),
    };
    let session = Session {
        local_id,
        repo_owner: row.get(2)?,
        repo_name: row.get(3)?,
        pr_number: u64::try_from(pr_number).map_err(|_| bad(4, "negative pr_number"))?,
        started_at: UnixMillis(row.get(5)?),
        ended_at: row.get::<_, Option<i64>>(6)?.map(UnixMillis),
        active_seconds: u32::try_from(active_seconds)
            .map_err(|_| bad(7, "active_seconds out of range"))?,
        state,
        updated_at: UnixMillis(row.get(9)?),
    };
    Ok((
        row.get(0)?,
        SessionRecord {
            session,
            closed_by_server: row.get(10)?,
            received_at: UnixMillis(row.get(11)?),
            user: row.get(12)?,
            device: row.get(13)?,
            seq: row.get(14)?,
        },
    ))
}

/// Columns of a user row, in the order [`user`] reads them.
pub(super) const USER_COLUMNS: &str = "id, name, admin, created_at";

/// Reads a row selected with [`USER_COLUMNS`].
pub(super) fn user(row: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        admin: row.get(2)?,
        created_at: UnixMillis(row.get(3)?),
    })
}

/// Columns of a device row, in the order [`device`] reads them.
pub(super) const DEVICE_COLUMNS: &str = "id, user_id, label, created_at, last_seen_at, revoked_at";

/// Reads a row selected with [`DEVICE_COLUMNS`].
pub(super) fn device(row: &Row<'_>) -> rusqlite::Result<DeviceRecord> {
    Ok(DeviceRecord {
        id: row.get(0)?,
        user_id: row.get(1)?,
        label: row.get(2)?,
        created_at: UnixMillis(row.get(3)?),
        last_seen_at: row.get::<_, Option<i64>>(4)?.map(UnixMillis),
        revoked_at: row.get::<_, Option<i64>>(5)?.map(UnixMillis),
    })
}

/// Reads `u.id, u.name, u.admin, d.id, d.label`.
pub(super) fn principal(row: &Row<'_>) -> rusqlite::Result<Principal> {
    Ok(Principal {
        user_id: row.get(0)?,
        user: row.get(1)?,
        admin: row.get(2)?,
        device_id: row.get(3)?,
        device: row.get(4)?,
    })
}
