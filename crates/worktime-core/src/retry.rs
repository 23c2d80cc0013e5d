//! The retry policy: exponential backoff with jitter, bounded attempts.

use crate::outcome::MAX_RETRY_AFTER;
use worktime_protocol::DurationMillis;

/// Delay after the first transient failure.
pub const BACKOFF_BASE: DurationMillis = DurationMillis(1_000);
/// Longest backoff delay (before jitter).
pub const BACKOFF_CAP: DurationMillis = DurationMillis(30_000);
/// Jitter as a fraction of the delay, either way (±25 %).
pub const JITTER: f64 = 0.25;
/// After this many transient failures an item is parked: it stays pending
/// but gets no more timers until the server answers again.
pub const MAX_TRANSIENT_FAILURES: u32 = 5;

/// The delay before the next try after `failures` transient failures
/// (1 → 1 s, 2 → 2 s, … capped at 30 s), scaled by jitter `unit` in
/// `[0, 1)` to within ±25 %, and never shorter than the server's
/// `Retry-After` (itself capped at an hour).
pub fn backoff(failures: u32, unit: f64, retry_after: Option<DurationMillis>) -> DurationMillis {
    #[cfg(feature = "mutants")]
    if crate::mutant::planted(crate::mutant::Mutant::ZeroBackoff) {
        return DurationMillis(0);
    }
    let exp = failures.saturating_sub(1).min(16);
    let raw = BACKOFF_BASE
        .0
        .saturating_mul(1i64 << exp)
        .min(BACKOFF_CAP.0);
    let factor = 1.0 - JITTER + 2.0 * JITTER * unit.clamp(0.0, 1.0);
    let jittered = DurationMillis((raw as f64 * factor).round() as i64);
    match retry_after {
        Some(after) => jittered.max(after.min(MAX_RETRY_AFTER)),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_and_caps_at_thirty() {
        let mid = |n| backoff(n, 0.5, None).0;
        assert_eq!(
            [mid(1), mid(2), mid(3), mid(4), mid(5), mid(6), mid(40)],
            [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]
        );
    }

    #[test]
    fn jitter_stays_within_a_quarter_either_way() {
        assert_eq!(backoff(1, 0.0, None).0, 750);
        assert_eq!(backoff(1, 0.999_999_9, None).0, 1_250);
        assert_eq!(backoff(6, 0.0, None).0, 22_500);
        assert_eq!(backoff(6, 0.999_999_9, None).0, 37_500);
    }

    #[test]
    fn retry_after_is_honoured_and_capped_at_an_hour() {
        assert_eq!(
            backoff(1, 0.5, Some(DurationMillis::from_secs(120))).0,
            120_000
        );
        assert_eq!(backoff(6, 0.5, Some(DurationMillis(10))).0, 30_000);
        assert_eq!(
            backoff(1, 0.5, Some(DurationMillis::from_secs(86_400))).0,
            3_600_000
        );
    }
}
