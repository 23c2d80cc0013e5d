//! `migrate-db --from FILE --to postgres://…`: moves a team's SQLite
//! database onto PostgreSQL, refusing anything but an existing SQLite file
//! and an empty PostgreSQL database.

use super::CliError;
use crate::store::{PgStore, SqliteStore, StoreError, is_postgres_url};
use std::path::Path;
use worktime_protocol::UnixMillis;

/// What was copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    /// Users.
    pub users: usize,
    /// Device tokens.
    pub devices: usize,
    /// Sessions.
    pub sessions: usize,
}

/// Copies every row of the SQLite file `from` into the empty database `to`.
pub async fn run(from: &Path, to: &str, now: UnixMillis) -> Result<Copied, CliError> {
    if !is_postgres_url(to) {
        return Err(CliError::Invalid(format!(
            "--to must be a postgres:// URL, not {to:?}"
        )));
    }
    if !from.is_file() {
        return Err(CliError::Invalid(format!(
            "--from {} is not an existing SQLite file",
            from.display()
        )));
    }
    // Opening applies SQLite's pending migrations first, so the rows have
    // the newest shape (change numbers, lower-case names).
    let dump = SqliteStore::open(from, now)?.dump().await?;
    let target = PgStore::open(to, now, 1).await?;
    target.load(&dump).await.map_err(|e| match e {
        StoreError::BadDatabase(why) => CliError::Invalid(why),
        other => CliError::Store(other),
    })?;
    Ok(Copied {
        users: dump.users.len(),
        devices: dump.devices.len(),
        sessions: dump.sessions.len(),
    })
}
