//! Wall-clock time as plain numbers, so it survives a service-worker restart.
//!
//! An `Instant` cannot be persisted and panics on `wasm32-unknown-unknown`;
//! milliseconds since the Unix epoch can. Newtypes keep a timestamp from being
//! passed where a duration belongs. On the wire timestamps are RFC 3339 in UTC
//! (see [`rfc3339`]).

use serde::{Deserialize, Serialize};
use std::ops::{Add, Sub};

/// A point in wall-clock time: milliseconds since 1970-01-01T00:00:00Z.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UnixMillis(pub i64);

/// A length of time in milliseconds (may be negative when clocks jump).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct DurationMillis(pub i64);

impl UnixMillis {
    /// The latest instant the wire format can express (9999-12-31T23:59:59.999Z).
    pub const MAX_WIRE: UnixMillis = UnixMillis(253_402_300_799_999);

    /// Time elapsed since `earlier`, saturating, negative if `earlier` is later.
    pub fn since(self, earlier: UnixMillis) -> DurationMillis {
        DurationMillis(self.0.saturating_sub(earlier.0))
    }

    /// Whole seconds since the epoch, rounded down.
    pub fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }
}

impl DurationMillis {
    /// A duration of `secs` whole seconds.
    pub const fn from_secs(secs: i64) -> Self {
        DurationMillis(secs.saturating_mul(1000))
    }

    /// Whole seconds, rounded down; negative durations give 0.
    pub fn whole_secs(self) -> u64 {
        u64::try_from(self.0.max(0) / 1000).unwrap_or(0)
    }
}

impl Add<DurationMillis> for UnixMillis {
    type Output = UnixMillis;
    fn add(self, rhs: DurationMillis) -> UnixMillis {
        UnixMillis(self.0.saturating_add(rhs.0))
    }
}

impl Sub<DurationMillis> for UnixMillis {
    type Output = UnixMillis;
    fn sub(self, rhs: DurationMillis) -> UnixMillis {
        UnixMillis(self.0.saturating_sub(rhs.0))
    }
}

/// Serde adapter: a [`UnixMillis`] as an RFC 3339 UTC string with millisecond
/// precision, e.g. `2026-11-21T09:30:00.250Z`. Any RFC 3339 offset is accepted
/// when reading and converted to UTC.
///
/// Written by hand rather than with the `time` crate, which cost the
/// extension's wasm about 20 KB for these two functions. What [`parse`](rfc3339::parse)
/// accepts is exactly what `time`'s `Rfc3339` parser accepts (the server
/// validates with it, so its behaviour must not move); the tests compare
/// both over generated input.
pub mod rfc3339 {
    use super::UnixMillis;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};

    /// Formats `at` as RFC 3339 in UTC, or `None` if it is outside years 1970..=9999.
    pub fn format(at: UnixMillis) -> Option<String> {
        if at.0 < 0 || at > UnixMillis::MAX_WIRE {
            return None;
        }
        let days = at.0.div_euclid(86_400_000);
        let ms_of_day = at.0.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        let fields = [
            (year, 4, b'-'),
            (month, 2, b'-'),
            (day, 2, b'T'),
            (ms_of_day / 3_600_000, 2, b':'),
            (ms_of_day / 60_000 % 60, 2, b':'),
            (ms_of_day / 1000 % 60, 2, b'.'),
            (ms_of_day % 1000, 3, b'Z'),
        ];
        let mut out = String::with_capacity(24);
        for (value, width, after) in fields {
            push_digits(&mut out, value, width);
            out.push(char::from(after));
        }
        Some(out)
    }

    /// Parses an RFC 3339 timestamp (any offset), truncating below milliseconds.
    ///
    /// `YYYY-MM-DD`, any one byte as separator, `hh:mm:ss`, an optional `.`
    /// and one or more digits, then `Z`, `z` or `±hh:mm` (hours up to 23).
    /// A leap second (`:60`) stands for the last millisecond before it and is
    /// only valid at 23:59:60 UTC on a month's last day.
    pub fn parse(text: &str) -> Option<UnixMillis> {
        let mut r = Reader(text.as_bytes());
        let year = r.digits(4)?;
        r.byte(b'-')?;
        let month = r.digits(2)?;
        r.byte(b'-')?;
        let day = r.digits(2)?;
        r.any()?;
        let hour = r.digits(2)?;
        r.byte(b':')?;
        let minute = r.digits(2)?;
        r.byte(b':')?;
        let mut second = r.digits(2)?;
        let mut millis = 0;
        if r.byte(b'.').is_some() {
            // At least one digit; only the first three count.
            millis = r.digits(1)? * 100;
            let mut scale = 10;
            while let Some(digit) = r.digits(1) {
                millis += digit * scale;
                scale /= 10;
            }
        }
        let offset_secs = if r.0.first().is_some_and(|b| b.eq_ignore_ascii_case(&b'Z')) {
            r.any()?;
            0
        } else {
            let sign = match r.any()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hours = r.digits(2)?;
            r.byte(b':')?;
            let minutes = r.digits(2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            sign * (hours * 3600 + minutes * 60)
        };
        if !r.0.is_empty()
            || !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let leap = second == 60;
        if leap {
            // The last instant before the leap second, as `time` reads it.
            second = 59;
            millis = 999;
        }
        let utc_secs =
            days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
                - offset_secs;
        if leap {
            let (y, m, d) = civil_from_days(utc_secs.div_euclid(86_400));
            if utc_secs.rem_euclid(86_400) != 86_399 || d != days_in_month(y, m) {
                return None;
            }
        }
        let ms = utc_secs * 1000 + millis;
        (0..=UnixMillis::MAX_WIRE.0)
            .contains(&ms)
            .then_some(UnixMillis(ms))
    }

    /// A cursor over the bytes still to parse.
    struct Reader<'a>(&'a [u8]);

    impl Reader<'_> {
        /// Takes any one byte.
        fn any(&mut self) -> Option<u8> {
            let (&first, rest) = self.0.split_first()?;
            self.0 = rest;
            Some(first)
        }

        /// Takes the byte `want`, or nothing.
        fn byte(&mut self, want: u8) -> Option<()> {
            (self.0.first() == Some(&want)).then(|| self.0 = &self.0[1..])
        }

        /// Takes exactly `n` ASCII digits as a number, or nothing.
        fn digits(&mut self, n: usize) -> Option<i64> {
            let head = self.0.get(..n)?;
            if !head.iter().all(u8::is_ascii_digit) {
                return None;
            }
            self.0 = &self.0[n..];
            Some(head.iter().fold(0, |acc, d| acc * 10 + i64::from(d - b'0')))
        }
    }

    fn push_digits(out: &mut String, value: i64, width: u32) {
        let mut scale = 10_i64.pow(width - 1);
        while scale > 0 {
            let digit = (value / scale % 10) as u8;
            out.push(char::from(b'0' + digit));
            scale /= 10;
        }
    }

    fn is_leap_year(year: i64) -> bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    fn days_in_month(year: i64, month: i64) -> i64 {
        match month {
            2 if is_leap_year(year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
    /// `days_from_civil`).
    fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
    fn civil_from_days(days: i64) -> (i64, i64, i64) {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        (year, month, day)
    }

    /// `#[serde(with = "rfc3339")]` serializer.
    pub fn serialize<S: Serializer>(at: &UnixMillis, s: S) -> Result<S::Ok, S::Error> {
        let text = format(*at).ok_or_else(|| S::Error::custom("timestamp out of range"))?;
        s.serialize_str(&text)
    }

    /// `#[serde(with = "rfc3339")]` deserializer.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<UnixMillis, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        parse(&text).ok_or_else(|| D::Error::custom("expected an RFC 3339 timestamp"))
    }

    /// The same for `Option<UnixMillis>` (`null` for none).
    pub mod option {
        use super::UnixMillis;
        use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};

        /// `#[serde(with = "rfc3339::option")]` serializer.
        pub fn serialize<S: Serializer>(at: &Option<UnixMillis>, s: S) -> Result<S::Ok, S::Error> {
            match at {
                None => s.serialize_none(),
                Some(at) => {
                    let text = super::format(*at)
                        .ok_or_else(|| S::Error::custom("timestamp out of range"))?;
                    s.serialize_some(&text)
                }
            }
        }

        /// `#[serde(with = "rfc3339::option")]` deserializer.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<UnixMillis>, D::Error> {
            match Option::<std::borrow::Cow<str>>::deserialize(d)? {
                None => Ok(None),
                Some(text) => super::parse(&text)
                    .map(Some)
                    .ok_or_else(|| D::Error::custom("expected an RFC 3339 timestamp")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_with_millisecond_precision() {
        let at = UnixMillis(1_795_300_000_250);
        let text = rfc3339::format(at).unwrap();
        assert_eq!(text, "2026-11-21T22:26:40.250Z");
        assert_eq!(rfc3339::parse(&text), Some(at));
    }

    #[test]
    fn rfc3339_parse_converts_offsets_to_utc() {
        assert_eq!(
            rfc3339::parse("2026-11-22T00:26:40.250+02:00"),
            rfc3339::parse("2026-11-21T22:26:40.250Z")
        );
    }

    #[test]
    fn rfc3339_rejects_garbage_and_out_of_range() {
        assert_eq!(rfc3339::parse("yesterday"), None);
        assert_eq!(rfc3339::parse("1969-12-31T23:59:59Z"), None);
        assert_eq!(rfc3339::format(UnixMillis(-1)), None);
        assert_eq!(
            rfc3339::format(UnixMillis(UnixMillis::MAX_WIRE.0 + 1)),
            None
        );
    }

    #[test]
    fn durations_saturate_and_round_down() {
        assert_eq!(UnixMillis(5_500).since(UnixMillis(1_000)).whole_secs(), 4);
        assert_eq!(UnixMillis(1_000).since(UnixMillis(5_000)).whole_secs(), 0);
        assert_eq!(
            UnixMillis(i64::MAX) + DurationMillis(10),
            UnixMillis(i64::MAX)
        );
    }
}
