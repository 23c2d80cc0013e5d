//! The server's one source of wall-clock time, behind a trait so tests can
//! move time by hand (the stale-session closer is tested that way).

use std::sync::atomic::{AtomicI64, Ordering};
use worktime_protocol::UnixMillis;

/// Tells the time. The server reads the clock only through this.
pub trait Clock: Send + Sync + 'static {
    /// Now, as milliseconds since the Unix epoch.
    fn now(&self) -> UnixMillis;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixMillis {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        UnixMillis(ms)
    }
}

/// A clock that only moves when told to: for tests.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock reading `at`.
    pub fn new(at: UnixMillis) -> Self {
        ManualClock(AtomicI64::new(at.0))
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: UnixMillis) {
        self.0.store(at.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixMillis {
        UnixMillis(self.0.load(Ordering::SeqCst))
    }
}
