//! Timers as data, after quinn-proto's timer table: one deadline per kind;
//! the earliest is the next wake-up.

use worktime_protocol::{DurationMillis, UnixMillis};

/// Why the engine wants to wake up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Count active time and persist it (every 30 s while a tab is visible).
    Checkpoint = 0,
    /// The earliest backoff of a queued item is over.
    Retry = 1,
    /// The request in flight has had no answer for too long.
    SyncLease = 2,
    /// A "Sync now" cooldown ended (so the popup's button can re-enable).
    Cooldown = 3,
    /// A tab whose page went away reached the end of its grace.
    LeaveGrace = 4,
    /// A session had no active time for [`crate::tracker::INACTIVE_LIMIT`].
    Inactive = 5,
}

impl Timer {
    const COUNT: usize = 6;
    pub(crate) const ALL: [Timer; Self::COUNT] = [
        Timer::Checkpoint,
        Timer::Retry,
        Timer::SyncLease,
        Timer::Cooldown,
        Timer::LeaveGrace,
        Timer::Inactive,
    ];
}

/// One optional deadline per [`Timer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimerTable {
    data: [Option<UnixMillis>; Timer::COUNT],
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: UnixMillis) {
        self.data[timer as usize] = Some(at);
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<UnixMillis> {
        self.data[timer as usize]
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.data[timer as usize] = None;
    }

    /// The earliest deadline: the next wake-up.
    pub(crate) fn next_timeout(&self) -> Option<UnixMillis> {
        self.data.iter().flatten().min().copied()
    }

    /// Whether `timer` is due at `now` (and clears it if so).
    pub(crate) fn take_expired(&mut self, timer: Timer, now: UnixMillis) -> bool {
        match self.data[timer as usize] {
            Some(at) if at <= now => {
                self.data[timer as usize] = None;
                true
            }
            _ => false,
        }
    }

    /// Moves every deadline by `by` (after the wall clock jumped back, so
    /// that a 1 s backoff does not become an hour).
    pub(crate) fn shift(&mut self, by: DurationMillis) {
        for at in self.data.iter_mut().flatten() {
            *at = *at + by;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_deadline_is_the_next_wake_up() {
        let mut t = TimerTable::default();
        assert_eq!(t.next_timeout(), None);
        t.set(Timer::Retry, UnixMillis(50));
        t.set(Timer::Checkpoint, UnixMillis(30));
        assert_eq!(t.next_timeout(), Some(UnixMillis(30)));
        assert!(!t.take_expired(Timer::Retry, UnixMillis(49)));
        assert!(t.take_expired(Timer::Checkpoint, UnixMillis(30)));
        assert_eq!(t.next_timeout(), Some(UnixMillis(50)));
        t.shift(DurationMillis(-20));
        assert_eq!(t.get(Timer::Retry), Some(UnixMillis(30)));
        t.stop(Timer::Retry);
        assert_eq!(t.next_timeout(), None);
        assert_eq!(Timer::ALL.len(), 6);
    }
}
