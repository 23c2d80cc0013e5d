//! Today's review time: per-session seconds merged from local sessions and
//! the server's answer to a pull, keyed by `local_id`, so that a session
//! known to both is counted once.

use crate::store::TodayTotals;
use worktime_protocol::{DurationMillis, LocalId, Session, UnixMillis};

const DAY_MS: i64 = 86_400_000;

/// The local day number of `at` for a user `offset_minutes` east of UTC.
pub(crate) fn day_of(at: UnixMillis, offset_minutes: i32) -> i64 {
    (at.0 + i64::from(offset_minutes) * 60_000).div_euclid(DAY_MS)
}

/// The UTC instant the local day `day` starts.
pub(crate) fn day_start(day: i64, offset_minutes: i32) -> UnixMillis {
    UnixMillis(day * DAY_MS) + DurationMillis(-i64::from(offset_minutes) * 60_000)
}

impl TodayTotals {
    /// Starts a new day if `now` is past the recorded one; true if it did.
    pub(crate) fn roll(&mut self, now: UnixMillis, offset_minutes: i32) -> bool {
        let day = day_of(now, offset_minutes);
        if day != self.day {
            self.day = day;
            self.seconds.clear();
            true
        } else {
            false
        }
    }

    /// Records `s` if it started today; keeps the larger count. True if
    /// something changed.
    pub(crate) fn record(&mut self, s: &Session, offset_minutes: i32) -> bool {
        if day_of(s.started_at, offset_minutes) != self.day {
            return false;
        }
        self.record_id(&s.local_id, s.active_seconds)
    }

    fn record_id(&mut self, id: &LocalId, secs: u32) -> bool {
        match self.seconds.iter_mut().find(|(k, _)| k == id) {
            Some((_, v)) if *v >= secs => false,
            Some((_, v)) => {
                *v = secs;
                true
            }
            None => {
                self.seconds.push((id.clone(), secs));
                true
            }
        }
    }

    /// The total of a day with nothing recorded yet: the running sessions
    /// that started on `day`.
    pub(crate) fn total_for_day(
        &self,
        live: &[(LocalId, u32, UnixMillis)],
        day: i64,
        offset_minutes: i32,
    ) -> u64 {
        live.iter()
            .filter(|(_, _, started)| day_of(*started, offset_minutes) == day)
            .map(|(_, secs, _)| u64::from(*secs))
            .sum()
    }

    /// Total seconds, with `live` (running sessions' current counts)
    /// replacing their recorded values where larger.
    pub(crate) fn total(&self, live: &[(LocalId, u32, UnixMillis)], offset_minutes: i32) -> u64 {
        let mut sum: u64 = 0;
        for (id, secs) in &self.seconds {
            let live_secs = live
                .iter()
                .find(|(l, _, _)| l == id)
                .map_or(0, |(_, s, _)| *s);
            sum += u64::from((*secs).max(live_secs));
        }
        for (id, secs, started) in live {
            if day_of(*started, offset_minutes) == self.day
                && !self.seconds.iter().any(|(k, _)| k == id)
            {
                sum += u64::from(*secs);
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_follow_the_users_offset() {
        // 2026-11-21T23:30:00Z is the 22nd in UTC+01:00.
        let at = UnixMillis(1_795_303_800_000);
        assert_eq!(day_of(at, 60), day_of(at, 0) + 1);
        assert_eq!(day_start(day_of(at, 0), 0).0 % DAY_MS, 0);
        assert_eq!(day_start(day_of(at, 60), 60), UnixMillis(1_795_302_000_000));
    }
}
