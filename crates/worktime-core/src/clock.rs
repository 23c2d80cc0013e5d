//! Our clock and the server's: the offset learnt from the server's `Date`
//! headers, sessions' timestamps corrected by it on the wire, and a
//! session's times made consistent again after the local clock stepped.
//!
//! The engine keeps every timestamp in the local clock (that is what `now`
//! is); only what goes on the wire is moved onto the server's clock, so a
//! local clock wrong by up to a day neither makes the server refuse a
//! session as "in the future" nor files it under the wrong day.

use worktime_protocol::{DurationMillis, Session, UnixMillis};

/// The applied offset changes only when a new estimate differs from it by
/// more than this, so that successive versions of a session keep the order
/// of their `updated_at` on the wire (the server's merge relies on it).
pub const OFFSET_STEP: DurationMillis = DurationMillis::from_secs(2);

/// The server's clock minus ours, estimated from a `Date` header
/// (`server_date`, whole seconds, truncated) read when the answer arrived at
/// `now`: the midpoint of the second it names.
pub fn estimate(now: UnixMillis, server_date: UnixMillis) -> DurationMillis {
    DurationMillis(server_date.0 + 500 - now.0)
}

/// The offset to apply after `estimate`, if it differs from `applied` by
/// more than [`OFFSET_STEP`] (or none was applied yet); whole seconds.
pub fn updated(
    applied: Option<DurationMillis>,
    estimate: DurationMillis,
) -> Option<DurationMillis> {
    let rounded = DurationMillis((estimate.0 as f64 / 1000.0).round() as i64 * 1000);
    match applied {
        Some(a) if (a.0 - estimate.0).abs() <= OFFSET_STEP.0 => None,
        _ => Some(rounded),
    }
}

/// `s` with its timestamps moved by `offset`, onto the server's clock.
pub fn on_the_wire(s: &Session, offset: DurationMillis) -> Session {
    let mut wire = s.clone();
    if offset.0 != 0 {
        wire.started_at = wire.started_at + offset;
        wire.ended_at = wire.ended_at.map(|t| t + offset);
        wire.updated_at = wire.updated_at + offset;
    }
    wire
}

/// `s` with times that agree with each other again after the local clock
/// stepped back during the session (an end before the start, a span shorter
/// than the active time counted): the active seconds are the measurement,
/// so the start moves back to leave room for them. A consistent session is
/// returned unchanged.
pub fn consistent(mut s: Session) -> Session {
    if let Some(end) = s.ended_at
        && s.updated_at < end
    {
        s.updated_at = end;
    }
    let end = s.ended_at.unwrap_or(s.updated_at);
    let needed = DurationMillis::from_secs(i64::from(s.active_seconds));
    if end.since(s.started_at).0 < needed.0 {
        s.started_at = end + DurationMillis(-needed.0);
    }
    s
}

/// `s` moved back as a whole, durations kept, so that none of its times is
/// after `now`: a session cannot have happened in our future, so such times
/// are what a step back of the local clock left behind. A session in the
/// past is returned unchanged.
pub fn not_after(s: Session, now: UnixMillis) -> Session {
    let latest = [Some(s.started_at), s.ended_at, Some(s.updated_at)]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(now);
    if latest > now {
        on_the_wire(&s, now.since(latest))
    } else {
        s
    }
}

/// Whether a refusal naming `field` may be about our clock (a timestamp
/// the server found in the future or out of order).
pub fn is_time_field(field: Option<&str>) -> bool {
    matches!(field, Some("started_at" | "ended_at" | "updated_at"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use worktime_protocol::SessionState;
    use worktime_protocol::validate::validate_session;

    const NOW: UnixMillis = UnixMillis(1_795_300_000_000);

    fn session(start: i64, end: Option<i64>, updated: i64, secs: u32) -> Session {
        Session {
            local_id: worktime_protocol::LocalId::parse("c1").unwrap_or_else(|_| unreachable!()),
            repo_owner: "octo".into(),
            repo_name: "hello".into(),
            pr_number: 1,
            started_at: UnixMillis(start),
            ended_at: end.map(UnixMillis),
            active_seconds: secs,
            state: if end.is_some() {
                SessionState::Ended
            } else {
                SessionState::Active
            },
            updated_at: UnixMillis(updated),
        }
    }

    #[test]
    fn the_estimate_is_the_middle_of_the_second_the_date_names() {
        assert_eq!(
            estimate(UnixMillis(10_200), UnixMillis(86_410_000)),
            DurationMillis(86_400_300)
        );
    }

    #[test]
    fn the_offset_moves_only_by_more_than_two_seconds_and_in_whole_seconds() {
        assert_eq!(updated(None, DurationMillis(300)), Some(DurationMillis(0)));
        assert_eq!(
            updated(Some(DurationMillis(0)), DurationMillis(1_900)),
            None
        );
        assert_eq!(
            updated(Some(DurationMillis(0)), DurationMillis(-86_400_300)),
            Some(DurationMillis(-86_400_000))
        );
    }

    #[test]
    fn wire_times_move_by_the_offset() {
        let s = session(NOW.0, Some(NOW.0 + 60_000), NOW.0 + 60_000, 60);
        let wire = on_the_wire(&s, DurationMillis(-86_400_000));
        assert_eq!(wire.started_at, UnixMillis(NOW.0 - 86_400_000));
        assert_eq!(wire.ended_at, Some(UnixMillis(NOW.0 - 86_340_000)));
        assert_eq!(wire.active_seconds, 60);
    }

    #[test]
    fn a_session_broken_by_a_step_back_is_made_valid_keeping_its_active_seconds() {
        // Started at NOW, 40 s counted, then the clock went back an hour and
        // the session ended 20 s later by the new clock.
        let end = NOW.0 - 3_600_000 + 20_000;
        let broken = session(NOW.0, Some(end), end, 60);
        assert!(validate_session(&broken, UnixMillis(end)).is_err());
        let fixed = consistent(broken);
        assert_eq!(validate_session(&fixed, UnixMillis(end)), Ok(()));
        assert_eq!(fixed.active_seconds, 60);
        assert_eq!(fixed.ended_at, Some(UnixMillis(end)));
        assert_eq!(fixed.started_at, UnixMillis(end - 60_000));
        // A valid session is left alone.
        let fine = session(NOW.0, Some(NOW.0 + 90_000), NOW.0 + 90_000, 60);
        assert_eq!(consistent(fine.clone()), fine);
    }
}
