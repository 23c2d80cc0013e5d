//! The JSON of `user export`: everything stored about one user — the user,
//! their devices (never a token or its hash) and every session of theirs.

use crate::store::{DeviceRecord, SessionRecord, UserRecord};
use serde::Serialize;
use worktime_protocol::UnixMillis;
use worktime_protocol::time::rfc3339;

/// A user's data, as exported.
#[derive(Debug, Serialize)]
pub struct UserExport<'a> {
    /// The user.
    pub user: User<'a>,
    /// Their device tokens, revoked ones included.
    pub devices: Vec<Device<'a>>,
    /// Every session of theirs, oldest first.
    pub sessions: &'a [SessionRecord],
}

/// The user's own record.
#[derive(Debug, Serialize)]
pub struct User<'a> {
    /// Name.
    pub name: &'a str,
    /// Admin flag.
    pub admin: bool,
    /// When the user was added.
    #[serde(with = "rfc3339")]
    pub created_at: UnixMillis,
}

/// One device token's record, without the token.
#[derive(Debug, Serialize)]
pub struct Device<'a> {
    /// Device id.
    pub id: i64,
    /// Its label.
    pub label: &'a str,
    /// When it was created.
    #[serde(with = "rfc3339")]
    pub created_at: UnixMillis,
    /// When it was last used (RFC 3339), if ever.
    pub last_seen_at: Option<String>,
    /// When it was revoked (RFC 3339), if it was.
    pub revoked_at: Option<String>,
}

/// Assembles the export.
pub fn of<'a>(
    user: &'a UserRecord,
    devices: &'a [DeviceRecord],
    sessions: &'a [SessionRecord],
) -> UserExport<'a> {
    let when = |t: Option<UnixMillis>| t.and_then(rfc3339::format);
    UserExport {
        user: User {
            name: &user.name,
            admin: user.admin,
            created_at: user.created_at,
        },
        devices: devices
            .iter()
            .map(|d| Device {
                id: d.id,
                label: &d.label,
                created_at: d.created_at,
                last_seen_at: when(d.last_seen_at),
                revoked_at: when(d.revoked_at),
            })
            .collect(),
        sessions,
    }
}
