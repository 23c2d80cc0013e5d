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
pub mod rfc3339 {
    use super::UnixMillis;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};
    use time::{
        OffsetDateTime, format_description::well_known::Rfc3339, macros::format_description,
    };

    /// Formats `at` as RFC 3339 in UTC, or `None` if it is outside years 1970..=9999.
    pub fn format(at: UnixMillis) -> Option<String> {
        if at.0 < 0 || at > UnixMillis::MAX_WIRE {
            return None;
        }
        let dt = OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.0) * 1_000_000).ok()?;
        dt.format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .ok()
    }

    /// Parses an RFC 3339 timestamp (any offset), truncating below milliseconds.
    pub fn parse(text: &str) -> Option<UnixMillis> {
        let dt = OffsetDateTime::parse(text, &Rfc3339).ok()?;
        let ms = dt.unix_timestamp_nanos().div_euclid(1_000_000);
        let ms = i64::try_from(ms).ok()?;
        (0..=UnixMillis::MAX_WIRE.0)
            .contains(&ms)
            .then_some(UnixMillis(ms))
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
