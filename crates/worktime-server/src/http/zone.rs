//! The viewer's time zone for day totals and date bounds: a fixed offset
//! (`tz_offset_minutes`) or an IANA zone (`tz=Europe/Berlin`, through
//! `jiff` with its bundled database), so days are right across
//! daylight-saving changes.

use super::error::ApiError;
use super::params::DAY_MS;
use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};
use worktime_protocol::UnixMillis;

/// Where the viewer's days begin and end.
#[derive(Debug, Clone)]
pub enum Zone {
    /// Local time is UTC plus this many minutes, all year.
    Offset(i32),
    /// An IANA time zone with its rules.
    Iana(TimeZone),
}

impl Zone {
    /// The zone named `name` (IANA, e.g. `Europe/Berlin`); 400 naming `tz`
    /// when unknown.
    pub fn named(name: &str) -> Result<Zone, ApiError> {
        TimeZone::get(name).map(Zone::Iana).map_err(|_| {
            ApiError::invalid(
                "tz",
                "expected an IANA time zone name such as Europe/Berlin",
            )
        })
    }

    /// Local time minus UTC at `at`, in milliseconds.
    fn offset_ms(&self, at: UnixMillis) -> i64 {
        match self {
            Zone::Offset(minutes) => i64::from(*minutes) * 60_000,
            Zone::Iana(tz) => Timestamp::from_millisecond(at.0)
                .map_or(0, |ts| i64::from(tz.to_offset(ts).seconds()) * 1000),
        }
    }

    /// The local day (days since 1970-01-01 in local time) of `at`.
    pub fn day_of(&self, at: UnixMillis) -> i64 {
        (at.0 + self.offset_ms(at)).div_euclid(DAY_MS)
    }

    /// The first instant of local day `day`: midnight, or the end of a
    /// daylight-saving gap that swallows midnight.
    pub fn day_start(&self, day: i64) -> UnixMillis {
        let midnight = day.saturating_mul(DAY_MS);
        match self {
            Zone::Offset(minutes) => UnixMillis(midnight - i64::from(*minutes) * 60_000),
            Zone::Iana(tz) => Timestamp::from_millisecond(midnight)
                .and_then(|ts| {
                    tz.to_ambiguous_timestamp(Offset::UTC.to_datetime(ts))
                        .compatible()
                })
                .map_or(UnixMillis(midnight), |ts| UnixMillis(ts.as_millisecond())),
        }
    }

    /// The IANA name, when the zone has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Zone::Offset(_) => None,
            Zone::Iana(tz) => tz.iana_name(),
        }
    }

    /// The fixed offset in minutes; 0 for an IANA zone.
    pub fn fixed_minutes(&self) -> i32 {
        match self {
            Zone::Offset(minutes) => *minutes,
            Zone::Iana(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use worktime_protocol::time::rfc3339;

    fn at(text: &str) -> UnixMillis {
        rfc3339::parse(text).unwrap()
    }

    #[test]
    fn berlin_days_follow_daylight_saving() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        // 2026-03-29: clocks go from 02:00 CET to 03:00 CEST; a 23-hour day.
        let day = berlin.day_of(at("2026-03-29T12:00:00Z"));
        assert_eq!(berlin.day_start(day), at("2026-03-28T23:00:00Z"));
        assert_eq!(berlin.day_start(day + 1), at("2026-03-29T22:00:00Z"));
        // 22:30 UTC on the 29th is already the 30th in Berlin (CEST).
        assert_eq!(berlin.day_of(at("2026-03-29T22:30:00Z")), day + 1);
        // 22:30 UTC on the 28th is still the 28th (CET).
        assert_eq!(berlin.day_of(at("2026-03-28T22:30:00Z")), day - 1);
    }

    #[test]
    fn unknown_zones_name_the_parameter() {
        assert_eq!(
            Zone::named("Mars/Olympus").unwrap_err().body().field,
            Some("tz".into())
        );
    }
}
