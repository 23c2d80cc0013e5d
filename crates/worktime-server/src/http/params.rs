//! Query-parameter parsing shared by the read endpoints: instants, day
//! bounds, repository names and whose sessions a caller may read.

use super::error::ApiError;
use super::extract::Caller;
use super::zone::Zone;
use crate::state::AppState;
use crate::store::RepoFilter;
use worktime_protocol::time::rfc3339;
use worktime_protocol::{PrRef, UnixMillis};

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// An RFC 3339 instant (`2026-11-21T09:30:00Z`).
pub fn instant(field: &str, text: &str) -> Result<UnixMillis, ApiError> {
    rfc3339::parse(text).ok_or_else(|| {
        ApiError::invalid(
            field,
            "expected an RFC 3339 timestamp such as 2026-11-21T09:30:00Z",
        )
    })
}

/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN: i64 = 2_440_588;

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
fn date_days(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format).ok()?;
    Some(i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN)
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
pub fn day_key(days: i64) -> String {
    let julian = i32::try_from(days + UNIX_EPOCH_JULIAN).unwrap_or(i32::MAX);
    match time::Date::from_julian_day(julian) {
        Ok(d) => format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
        Err(_) => days.to_string(),
    }
}

/// A range bound: an RFC 3339 instant, or a `YYYY-MM-DD` date in `zone`.
/// A date means the start of that day; as an `end` bound, the end of it
/// (so `from=2026-11-01&to=2026-11-30` covers all of November).
pub fn bound(field: &str, text: &str, zone: &Zone, end: bool) -> Result<UnixMillis, ApiError> {
    if let Some(days) = date_days(text) {
        return Ok(zone.day_start(days + i64::from(end)));
    }
    rfc3339::parse(text).ok_or_else(|| {
        ApiError::invalid(field, "expected an RFC 3339 timestamp or a YYYY-MM-DD date")
    })
}

/// `owner/name`, by GitHub's naming rules, folded to the canonical lower
/// case sessions are stored in (GitHub's names are case-insensitive).
pub fn repo(text: &str) -> Result<RepoFilter, ApiError> {
    let invalid = || ApiError::invalid("repo", "expected owner/name of a GitHub repository");
    let (owner, name) = text.split_once('/').ok_or_else(invalid)?;
    PrRef::new(owner, name, 1).map_err(|_| invalid())?;
    Ok(RepoFilter {
        owner: owner.to_ascii_lowercase(),
        name: name.to_ascii_lowercase(),
    })
}

/// A `limit=` page size: `default` when absent, else 1..=`max` (400 naming
/// `limit` otherwise).
pub fn limit(text: Option<&str>, default: u32, max: u32) -> Result<u32, ApiError> {
    match text {
        None => Ok(default),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", format!("must be 1 to {max}"))),
    }
}

/// `user=` value with which an admin reads every user's sessions.
pub const EVERYONE: &str = "*";

/// Whose sessions a request reads. Without `user=` it is the caller's own,
/// for admins too: the contract's "the caller's user's sessions", so an
/// admin's extension counts only its own reviews. `user=NAME` reads that
/// user's (admins: anyone; others: only themselves), and `user=*` every
/// user's (admins only). Returns the user id to filter on, `None` for everyone.
pub async fn scope(
    state: &AppState,
    caller: &Caller,
    user: Option<&str>,
) -> Result<Option<i64>, ApiError> {
    match user {
        None => Ok(Some(caller.user_id)),
        Some(name) if name == caller.user => Ok(Some(caller.user_id)),
        Some(_) if !caller.admin => Err(ApiError::Forbidden(
            "only an admin may read another user's sessions".into(),
        )),
        Some(EVERYONE) => Ok(None),
        Some(name) => match state.store.find_user(name).await? {
            Some(user) => Ok(Some(user.id)),
            None => Err(ApiError::NotFound(format!("no user named {name:?}"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_local_midnights_and_end_bounds_cover_the_day() {
        let start = bound("from", "2026-11-21", &Zone::Offset(0), false).unwrap();
        assert_eq!(rfc3339::format(start).unwrap(), "2026-11-21T00:00:00.000Z");
        let end = bound("to", "2026-11-21", &Zone::Offset(60), true).unwrap();
        assert_eq!(rfc3339::format(end).unwrap(), "2026-11-21T23:00:00.000Z");
        assert_eq!(day_key(start.0 / DAY_MS), "2026-11-21");
    }

    #[test]
    fn bad_bounds_and_repos_name_their_parameter() {
        let field = |e: ApiError| e.body().field;
        assert_eq!(
            field(bound("from", "yesterday", &Zone::Offset(0), false).unwrap_err()),
            Some("from".into())
        );
        assert_eq!(field(repo("no-slash").unwrap_err()), Some("repo".into()));
        assert_eq!(field(repo("a/..").unwrap_err()), Some("repo".into()));
        assert_eq!(repo("octo/hello").unwrap().name, "hello");
        let folded = repo("Octo-Org/Widget").unwrap();
        assert_eq!(
            (folded.owner.as_str(), folded.name.as_str()),
            ("octo-org", "widget")
        );
    }
}
