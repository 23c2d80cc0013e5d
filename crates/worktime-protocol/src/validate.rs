//! What an incoming session must satisfy before it may touch storage. The
//! server answers a failure with 400 (or a per-item rejection) naming the
//! field; the extension runs the same checks before it queues anything.

use crate::ids::PrRef;
use crate::session::{Session, SessionState};
use crate::time::{DurationMillis, UnixMillis};

/// Longest session the contract accepts: one day of active time.
pub const MAX_ACTIVE_SECONDS: u32 = 86_400;
/// How far in the future a timestamp may be (client clocks drift).
pub const MAX_CLOCK_SKEW: DurationMillis = DurationMillis::from_secs(300);
/// Slack between wall-clock span and counted active seconds (rounding).
pub const ACTIVE_SLACK: DurationMillis = DurationMillis::from_secs(5);

/// A session that breaks the contract, with the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The wire field at fault, e.g. `active_seconds`.
    pub field: &'static str,
    /// What is wrong, in plain words.
    pub message: String,
}

impl ValidationError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        ValidationError {
            field,
            message: message.into(),
        }
    }
}

/// Checks `s` against the v1 rules, with `now` from the checker's clock.
pub fn validate_session(s: &Session, now: UnixMillis) -> Result<(), ValidationError> {
    PrRef::new(&s.repo_owner, &s.repo_name, s.pr_number)
        .map_err(|e| ValidationError::new(e.field(), e.to_string()))?;
    let latest = now + MAX_CLOCK_SKEW;
    let timestamps = [
        ("started_at", Some(s.started_at)),
        ("ended_at", s.ended_at),
        ("updated_at", Some(s.updated_at)),
    ];
    if let Some((field, _)) = timestamps
        .iter()
        .find(|(_, at)| at.is_some_and(|at| at > latest))
    {
        return Err(ValidationError::new(
            field,
            "is more than 5 minutes in the future",
        ));
    }
    if s.updated_at < s.started_at {
        return Err(ValidationError::new("updated_at", "is before started_at"));
    }
    if s.active_seconds > MAX_ACTIVE_SECONDS {
        return Err(ValidationError::new(
            "active_seconds",
            "must be at most 86400",
        ));
    }
    let span_end = match (s.state, s.ended_at) {
        (SessionState::Ended, None) => {
            return Err(ValidationError::new(
                "ended_at",
                "is required when state is \"ended\"",
            ));
        }
        (SessionState::Active, Some(_)) => {
            return Err(ValidationError::new(
                "ended_at",
                "must be null while state is \"active\"",
            ));
        }
        (SessionState::Ended, Some(end)) => {
            if end < s.started_at {
                return Err(ValidationError::new("ended_at", "is before started_at"));
            }
            end
        }
        (SessionState::Active, None) => s.updated_at,
    };
    let span = span_end
        .since(s.started_at)
        .0
        .saturating_add(ACTIVE_SLACK.0);
    if i64::from(s.active_seconds).saturating_mul(1000) > span {
        return Err(ValidationError::new(
            "active_seconds",
            "is longer than the session itself",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::fixtures::ended;

    const NOW: UnixMillis = UnixMillis(1_795_300_000_000);

    #[test]
    fn a_plain_ended_session_is_valid() {
        assert_eq!(
            validate_session(&ended("a", NOW.0 - 60_000, 60), NOW),
            Ok(())
        );
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let base = ended("a", NOW.0 - 60_000, 60);
        type Breaker = Box<dyn Fn(&mut Session)>;
        let cases: Vec<(&str, Breaker)> = vec![
            (
                "repo_owner",
                Box::new(|s| s.repo_owner = "bad owner".into()),
            ),
            ("repo_name", Box::new(|s| s.repo_name = "..".into())),
            ("pr_number", Box::new(|s| s.pr_number = 0)),
            ("active_seconds", Box::new(|s| s.active_seconds = 66)),
            (
                "active_seconds",
                Box::new(|s| {
                    s.started_at = UnixMillis(0);
                    s.active_seconds = 86_401;
                }),
            ),
            ("ended_at", Box::new(|s| s.ended_at = None)),
            (
                "ended_at",
                Box::new(|s| s.ended_at = Some(UnixMillis(s.started_at.0 - 1))),
            ),
            (
                "updated_at",
                Box::new(|s| s.updated_at = NOW + DurationMillis::from_secs(301)),
            ),
            (
                "updated_at",
                Box::new(|s| s.updated_at = UnixMillis(s.started_at.0 - 1)),
            ),
            (
                "ended_at",
                Box::new(|s| {
                    s.state = SessionState::Active;
                }),
            ),
        ];
        for (field, break_it) in cases {
            let mut s = base.clone();
            break_it(&mut s);
            assert_eq!(validate_session(&s, NOW).map_err(|e| e.field), Err(field));
        }
    }

    #[test]
    fn slack_of_five_seconds_is_allowed() {
        let mut s = ended("a", NOW.0 - 60_000, 60);
        s.active_seconds = 65;
        assert_eq!(validate_session(&s, NOW), Ok(()));
    }

    #[test]
    fn an_active_session_is_measured_up_to_its_last_update() {
        let mut s = ended("a", NOW.0 - 60_000, 30);
        s.state = SessionState::Active;
        s.ended_at = None;
        s.updated_at = UnixMillis(s.started_at.0 + 30_000);
        assert_eq!(validate_session(&s, NOW), Ok(()));
        s.active_seconds = 40;
        assert_eq!(
            validate_session(&s, NOW).map_err(|e| e.field),
            Err("active_seconds")
        );
    }
}
