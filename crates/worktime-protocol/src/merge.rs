//! The merge rule: how the server combines a stored session with an incoming
//! version of it. The real server and the simulator's fake server both call
//! [`merge`], so what the simulator proves is what production does.
//!
//! Versions are ordered by `(state, updated_at, active_seconds, ended_at,
//! started_at)` with `ended` above `active`, and the merge keeps the greater.
//! Taking a maximum under a total order is idempotent, commutative and
//! associative, so duplicates, retries and reordering cannot change the result,
//! and `ended` never returns to `active`.
//!
//! Owner and repository names are compared without case (GitHub's are
//! case-insensitive), so `Octo/Hello#1` and `octo/hello#1` are one PR.
//!
//! A close by the server's stale-session job is a guess, not a version of
//! the device's: [`merge_over_server_close`] lets the device's own version,
//! at least as new as the one the server closed, replace it, active or ended.

use crate::session::{Session, SessionState};

/// Why two versions cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// The versions have different ids.
    #[error("local_id differs")]
    DifferentSession,
    /// Same id, but another pull request: a client bug or a forged request.
    #[error("local_id already belongs to {existing}, not {incoming}")]
    PullRequestChanged {
        /// `owner/repo#n` already stored.
        existing: String,
        /// `owner/repo#n` that was sent.
        incoming: String,
    },
}

/// Combines the stored version of a session with an incoming one.
pub fn merge(existing: &Session, incoming: &Session) -> Result<Session, MergeError> {
    check_same(existing, incoming)?;
    Ok(if rank(incoming) > rank(existing) {
        incoming.clone()
    } else {
        existing.clone()
    })
}

/// Refuses versions of different sessions or pull requests.
fn check_same(existing: &Session, incoming: &Session) -> Result<(), MergeError> {
    if existing.local_id != incoming.local_id {
        return Err(MergeError::DifferentSession);
    }
    let same_pr = existing.pr_number == incoming.pr_number
        && existing
            .repo_owner
            .eq_ignore_ascii_case(&incoming.repo_owner)
        && existing.repo_name.eq_ignore_ascii_case(&incoming.repo_name);
    if !same_pr {
        return Err(MergeError::PullRequestChanged {
            existing: existing.pr().to_string(),
            incoming: incoming.pr().to_string(),
        });
    }
    Ok(())
}

/// Combines a stored version that the server closed as stale with an
/// incoming version from the device: the device's version replaces the
/// server's guess when its `updated_at` is at least that of the version the
/// server closed; an older one changes nothing.
pub fn merge_over_server_close(
    closed: &Session,
    incoming: &Session,
) -> Result<Session, MergeError> {
    check_same(closed, incoming)?;
    Ok(if replaces_server_close(closed, incoming) {
        incoming.clone()
    } else {
        closed.clone()
    })
}

/// True when `incoming` replaces the server's close `closed` (see
/// [`merge_over_server_close`]).
pub fn replaces_server_close(closed: &Session, incoming: &Session) -> bool {
    incoming.updated_at >= closed.updated_at
}

/// True when merging `incoming` into `existing` would change what is stored.
pub fn changes(existing: &Session, incoming: &Session) -> bool {
    rank(incoming) > rank(existing)
}

type Rank = (bool, i64, u32, Option<i64>, i64);

fn rank(s: &Session) -> Rank {
    (
        s.state == SessionState::Ended,
        s.updated_at.0,
        s.active_seconds,
        s.ended_at.map(|t| t.0),
        s.started_at.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::LocalId;
    use crate::time::UnixMillis;
    use proptest::prelude::*;

    fn version() -> impl Strategy<Value = Session> {
        (
            any::<bool>(),
            0i64..1_000,
            0u32..100,
            0i64..50,
            proptest::option::of(0i64..1_000),
        )
            .prop_map(|(ended, updated, secs, start, end)| Session {
                local_id: LocalId::parse("same").unwrap(),
                repo_owner: "octo".into(),
                repo_name: "hello".into(),
                pr_number: 1,
                started_at: UnixMillis(start),
                ended_at: if ended {
                    Some(UnixMillis(end.unwrap_or(updated)))
                } else {
                    end.map(UnixMillis)
                },
                active_seconds: secs,
                state: if ended {
                    SessionState::Ended
                } else {
                    SessionState::Active
                },
                updated_at: UnixMillis(updated),
            })
    }

    proptest! {
        #[test]
        fn merge_is_idempotent(a in version(), b in version()) {
            let ab = merge(&a, &b).unwrap();
            prop_assert_eq!(merge(&ab, &b).unwrap(), ab.clone());
            prop_assert_eq!(merge(&a, &a).unwrap(), a);
        }

        #[test]
        fn merge_is_commutative(a in version(), b in version()) {
            prop_assert_eq!(merge(&a, &b).unwrap(), merge(&b, &a).unwrap());
        }

        #[test]
        fn merge_is_associative(a in version(), b in version(), c in version()) {
            let left = merge(&merge(&a, &b).unwrap(), &c).unwrap();
            let right = merge(&a, &merge(&b, &c).unwrap()).unwrap();
            prop_assert_eq!(left, right);
        }

        #[test]
        fn ended_never_returns_to_active(a in version(), b in version()) {
            let merged = merge(&a, &b).unwrap();
            if a.is_ended() || b.is_ended() {
                prop_assert!(merged.is_ended());
            }
        }

        #[test]
        fn the_later_update_wins_between_versions_of_equal_state(a in version(), b in version()) {
            prop_assume!(a.state == b.state && a.updated_at != b.updated_at);
            let later = if a.updated_at > b.updated_at { &a } else { &b };
            prop_assert_eq!(&merge(&a, &b).unwrap(), later);
        }
    }

    #[test]
    fn another_pull_request_under_the_same_id_is_refused() {
        let a = crate::session::fixtures::ended("x", 0, 5);
        let mut b = a.clone();
        b.pr_number = 8;
        assert!(matches!(
            merge(&a, &b),
            Err(MergeError::PullRequestChanged { .. })
        ));
        let mut c = a.clone();
        c.local_id = LocalId::parse("y").unwrap();
        assert_eq!(merge(&a, &c), Err(MergeError::DifferentSession));
    }

    #[test]
    fn owner_and_repo_compare_without_case() {
        let a = crate::session::fixtures::ended("x", 0, 5);
        let mut b = a.clone();
        b.repo_owner = a.repo_owner.to_uppercase();
        b.repo_name = a.repo_name.to_uppercase();
        b.updated_at = UnixMillis(a.updated_at.0 + 1);
        assert_eq!(merge(&a, &b).unwrap(), b);
    }

    #[test]
    fn the_devices_own_version_replaces_a_server_close() {
        let mut active = crate::session::fixtures::ended("x", 0, 5);
        active.state = SessionState::Active;
        active.ended_at = None;
        let mut closed = active.clone();
        closed.state = SessionState::Ended;
        closed.ended_at = Some(closed.updated_at);
        // The same version again (a late resend) and a later active one replace it.
        assert_eq!(merge_over_server_close(&closed, &active).unwrap(), active);
        let mut later = active.clone();
        later.updated_at = UnixMillis(active.updated_at.0 + 60_000);
        assert_eq!(merge_over_server_close(&closed, &later).unwrap(), later);
        // An older version does not.
        let mut older = active.clone();
        older.updated_at = UnixMillis(active.updated_at.0 - 1);
        assert_eq!(merge_over_server_close(&closed, &older).unwrap(), closed);
        let mut other = active.clone();
        other.pr_number += 1;
        assert!(merge_over_server_close(&closed, &other).is_err());
    }

    #[test]
    fn changes_reports_whether_a_merge_would_write() {
        let old = crate::session::fixtures::ended("x", 0, 5);
        let mut newer = old.clone();
        newer.updated_at = UnixMillis(old.updated_at.0 + 1);
        assert!(changes(&old, &newer));
        assert!(!changes(&newer, &old));
        assert!(!changes(&old, &old));
    }
}
