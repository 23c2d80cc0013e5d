//! The merge rule: how the server combines a stored session with an incoming
//! version of it. The real server and the simulator's fake server both call
//! [`merge`], so what the simulator proves is what production does.
//!
//! Versions are ordered by `(state, updated_at, active_seconds, ended_at,
//! started_at)` with `ended` above `active`, and the merge keeps the greater.
//! Taking a maximum under a total order is idempotent, commutative and
//! associative, so duplicates, retries and reordering cannot change the result,
//! and `ended` never returns to `active`.

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
    if existing.local_id != incoming.local_id {
        return Err(MergeError::DifferentSession);
    }
    if existing.pr() != incoming.pr() {
        return Err(MergeError::PullRequestChanged {
            existing: existing.pr().to_string(),
            incoming: incoming.pr().to_string(),
        });
    }
    Ok(if rank(incoming) > rank(existing) {
        incoming.clone()
    } else {
        existing.clone()
    })
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
    fn changes_reports_whether_a_merge_would_write() {
        let old = crate::session::fixtures::ended("x", 0, 5);
        let mut newer = old.clone();
        newer.updated_at = UnixMillis(old.updated_at.0 + 1);
        assert!(changes(&old, &newer));
        assert!(!changes(&newer, &old));
        assert!(!changes(&old, &old));
    }
}
