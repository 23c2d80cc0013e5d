//! What the user chose about timing itself (not about the server): how long
//! without input counts as idle. Stored beside the server settings, read at
//! start, and handed to `chrome.idle` and to the engine's idle input.

use crate::error::SettingsError;
use serde::{Deserialize, Serialize};
use worktime_protocol::{DurationMillis, UnixMillis};

/// Seconds without input after which the user counts as idle: Chrome's
/// floor is 15 s; more than an hour would count a lunch break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct IdleThreshold(u32);

impl IdleThreshold {
    /// Chrome's floor (`chrome.idle.setDetectionInterval`).
    pub const MIN_SECONDS: u32 = 15;
    /// The longest accepted threshold.
    pub const MAX_SECONDS: u32 = 3600;
    /// The default: 3 minutes.
    pub const DEFAULT: IdleThreshold = IdleThreshold(180);

    /// Checks `seconds` against the bounds.
    pub fn from_secs(seconds: u32) -> Result<Self, SettingsError> {
        if (Self::MIN_SECONDS..=Self::MAX_SECONDS).contains(&seconds) {
            Ok(IdleThreshold(seconds))
        } else {
            Err(SettingsError::InvalidIdleThreshold)
        }
    }

    /// The threshold in seconds.
    pub fn secs(self) -> u32 {
        self.0
    }

    /// The user's last input when Chrome reports `idle` at `now`.
    pub fn last_input(self, now: UnixMillis) -> UnixMillis {
        now + DurationMillis(-i64::from(self.0) * 1000)
    }
}

impl Default for IdleThreshold {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<u32> for IdleThreshold {
    type Error = SettingsError;
    fn try_from(seconds: u32) -> Result<Self, SettingsError> {
        IdleThreshold::from_secs(seconds)
    }
}

impl From<IdleThreshold> for u32 {
    fn from(t: IdleThreshold) -> u32 {
        t.0
    }
}

/// One of `chrome.idle`'s states, as `onStateChanged` and `queryState` give
/// it. Both paths read it the same way, so a worker woken while the machine
/// is idle or locked stops active time as the event would have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdleState {
    /// Input within the threshold.
    Active,
    /// No input for the threshold.
    Idle,
    /// The screen is locked.
    Locked,
}

impl IdleState {
    /// Reads Chrome's name for a state; `None` for anything else.
    pub fn parse(name: &str) -> Option<IdleState> {
        match name {
            "active" => Some(IdleState::Active),
            "idle" => Some(IdleState::Idle),
            "locked" => Some(IdleState::Locked),
            _ => None,
        }
    }

    /// The engine's input for this state seen at `now` under `threshold`:
    /// `idle` means the last input was a threshold ago, so active time stops
    /// there; `locked` gives no such moment and stops it now.
    pub fn input(self, now: UnixMillis, threshold: IdleThreshold) -> worktime_core::Input {
        worktime_core::Input::UserIdle {
            now,
            idle: self != IdleState::Active,
            last_input: (self == IdleState::Idle).then(|| threshold.last_input(now)),
        }
    }
}

/// The timing preferences as stored (and as the options page sees them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timing {
    /// Seconds without input that count as idle.
    #[serde(default)]
    pub idle_seconds: IdleThreshold,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idle_threshold_is_three_minutes_by_default_and_bounded_by_chromes_floor() {
        assert_eq!(Timing::default().idle_seconds.secs(), 180);
        assert_eq!(
            IdleThreshold::from_secs(15).map(IdleThreshold::secs),
            Ok(15)
        );
        assert_eq!(
            IdleThreshold::from_secs(3600).map(IdleThreshold::secs),
            Ok(3600)
        );
        for bad in [0, 14, 3601] {
            assert_eq!(
                IdleThreshold::from_secs(bad),
                Err(SettingsError::InvalidIdleThreshold),
                "{bad}"
            );
        }
        assert_eq!(
            IdleThreshold::DEFAULT.last_input(UnixMillis(1_000_000)),
            UnixMillis(820_000)
        );
    }

    #[test]
    fn each_idle_state_stops_active_time_where_chrome_says_the_input_stopped() {
        let now = UnixMillis(1_000_000);
        let t = IdleThreshold::from_secs(15).unwrap();
        let input = |name| IdleState::parse(name).map(|s| s.input(now, t));
        let idle = |idle, last_input| {
            Some(worktime_core::Input::UserIdle {
                now,
                idle,
                last_input,
            })
        };
        assert_eq!(input("active"), idle(false, None));
        assert_eq!(input("idle"), idle(true, Some(UnixMillis(985_000))));
        assert_eq!(input("locked"), idle(true, None));
        assert_eq!(input("asleep"), None);
        assert_eq!(input("Idle"), None);
    }

    #[test]
    fn a_stored_threshold_out_of_bounds_does_not_decode() {
        assert!(serde_json::from_str::<Timing>(r#"{"idleSeconds":5}"#).is_err());
        assert_eq!(
            serde_json::from_str::<Timing>("{}").unwrap(),
            Timing::default()
        );
    }
}
