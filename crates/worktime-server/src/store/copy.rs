//! Everything in a database as plain rows, for `migrate-db`: read from
//! SQLite ([`crate::store::SqliteStore::dump`]) and written into an empty
//! PostgreSQL database ([`crate::store::PgStore::load`]) with the same ids,
//! token hashes and change numbers, so tokens keep working and a feed
//! follower's position stays valid.

/// A user row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Row id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Admin flag.
    pub admin: bool,
    /// Creation time, ms.
    pub created_at: i64,
}

/// A device row, with its token's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    /// Row id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Label.
    pub label: String,
    /// SHA-256 of the token.
    pub token_hash: String,
    /// Creation time, ms.
    pub created_at: i64,
    /// Last use, ms.
    pub last_seen_at: Option<i64>,
    /// Revocation time, ms.
    pub revoked_at: Option<i64>,
}

/// A session row, column for column.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub local_id: String,
    pub device_id: i64,
    pub repo_owner: String,
    pub repo_name: String,
    pub pr_number: i64,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub active_seconds: i64,
    pub state: String,
    pub updated_at: i64,
    pub closed_by_server: bool,
    pub received_at: i64,
    pub seq: i64,
}

/// A whole database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dump {
    /// Users, by id.
    pub users: Vec<UserRow>,
    /// Devices, by id.
    pub devices: Vec<DeviceRow>,
    /// Sessions, by id.
    pub sessions: Vec<SessionRow>,
}
