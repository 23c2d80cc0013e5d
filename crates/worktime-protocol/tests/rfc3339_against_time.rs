//! The hand-written RFC 3339 formatter and parser agree with the `time`
//! crate's, which the protocol used before (and the server validated with):
//! the same text for every instant on the wire, the same verdict and the same
//! instant for every input, valid or not.

use proptest::prelude::*;
use time::{OffsetDateTime, format_description::well_known::Rfc3339, macros::format_description};
use worktime_protocol::UnixMillis;
use worktime_protocol::time::rfc3339;

/// The former `rfc3339::format`, on `time`.
fn oracle_format(at: UnixMillis) -> Option<String> {
    if at.0 < 0 || at > UnixMillis::MAX_WIRE {
        return None;
    }
    let dt = OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.0) * 1_000_000).ok()?;
    dt.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .ok()
}

/// The former `rfc3339::parse`, on `time`.
fn oracle_parse(text: &str) -> Option<UnixMillis> {
    let dt = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let ms = dt.unix_timestamp_nanos().div_euclid(1_000_000);
    let ms = i64::try_from(ms).ok()?;
    (0..=UnixMillis::MAX_WIRE.0)
        .contains(&ms)
        .then_some(UnixMillis(ms))
}

fn agree(text: &str) {
    assert_eq!(rfc3339::parse(text), oracle_parse(text), "input {text:?}");
}

/// Two-digit fields that are sometimes out of range, and sometimes not digits.
fn field(max: u32) -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (0..=max).prop_map(|n| format!("{n:02}")),
        1 => "[0-9]{1,3}",
        1 => "[a-z+ -]{2}",
    ]
}

/// Inputs shaped like RFC 3339 timestamps, each part valid most of the time.
fn timestamp_like() -> impl Strategy<Value = String> {
    let year = prop_oneof![
        6 => (1960u32..=2100).prop_map(|y| format!("{y:04}")),
        2 => (0u32..=9999).prop_map(|y| format!("{y:04}")),
        1 => "[0-9]{3,5}",
    ];
    let separator = prop_oneof![
        Just("T".to_owned()),
        Just("t".to_owned()),
        Just(" ".to_owned()),
        Just("_".to_owned()),
        Just("é".to_owned()),
        Just(String::new()),
    ];
    let fraction = prop_oneof![
        3 => Just(String::new()),
        1 => Just(".".to_owned()),
        4 => "\\.[0-9]{1,12}",
        1 => "\\.[0-9]{0,3}[a-z]",
    ];
    let offset = prop_oneof![
        4 => Just("Z".to_owned()),
        1 => Just("z".to_owned()),
        4 => ("[+-]", field(25), field(61)).prop_map(|(s, h, m)| format!("{s}{h}:{m}")),
        1 => ("[+-]", field(25), field(61)).prop_map(|(s, h, m)| format!("{s}{h}{m}")),
        1 => Just(String::new()),
        1 => "[+-]?[0-9:]{0,6}",
    ];
    let trailing = prop_oneof![8 => Just(String::new()), 1 => "[ Zz0-9a-z]{1,3}"];
    (
        year,
        field(13),
        field(32),
        separator,
        field(25),
        field(61),
        field(61),
        fraction,
        offset,
        trailing,
    )
        .prop_map(|(y, mo, d, sep, h, mi, s, frac, off, tail)| {
            format!("{y}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{off}{tail}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn formatting_matches_time_for_every_instant_on_the_wire(
        ms in prop_oneof![
            0..=UnixMillis::MAX_WIRE.0,
            -10_000i64..10_000,
            (UnixMillis::MAX_WIRE.0 - 10_000)..(UnixMillis::MAX_WIRE.0 + 10_000),
        ]
    ) {
        let at = UnixMillis(ms);
        let ours = rfc3339::format(at);
        prop_assert_eq!(&ours, &oracle_format(at));
        if let Some(text) = ours {
            prop_assert_eq!(rfc3339::parse(&text), Some(at));
        }
    }

    #[test]
    fn parsing_matches_time_on_timestamp_shaped_input(text in timestamp_like()) {
        prop_assert_eq!(rfc3339::parse(&text), oracle_parse(&text), "input {:?}", text);
    }

    #[test]
    fn parsing_matches_time_on_arbitrary_text(text in "[0-9TZz:+. -]{0,30}|\\PC{0,30}") {
        prop_assert_eq!(rfc3339::parse(&text), oracle_parse(&text), "input {:?}", text);
    }

    #[test]
    fn parsing_matches_time_after_one_byte_changes(
        ms in 0..=UnixMillis::MAX_WIRE.0,
        at in 0usize..24,
        replacement in prop::sample::select(b"0123456789:+-.TZz x".to_vec()),
        delete in any::<bool>(),
    ) {
        let mut text = rfc3339::format(UnixMillis(ms)).unwrap_or_default().into_bytes();
        if delete {
            text.remove(at);
        } else {
            text[at] = replacement;
        }
        let text = String::from_utf8(text).unwrap_or_default();
        prop_assert_eq!(rfc3339::parse(&text), oracle_parse(&text), "input {:?}", text);
    }
}

#[test]
fn offsets_leap_seconds_and_fractions_read_as_time_reads_them() {
    for text in [
        "2026-11-21T22:26:40Z",
        "2026-11-21t22:26:40.2z",
        "2026-11-21 22:26:40.123456789+00:00",
        "2026-11-21T22:26:40.9999999999999-00:00",
        "2026-11-22T00:26:40.250+02:00",
        "2026-11-21T00:26:40.250-23:59",
        "2026-11-21T00:26:40.250+24:00",
        "2026-11-21T00:26:40.250+01:60",
        "2026-11-21T00:26:40.250+0100",
        "2016-12-31T23:59:60Z",
        "2016-12-31T23:59:60.5Z",
        "2017-01-01T00:59:60+01:00",
        "2016-12-30T23:59:60Z",
        "2016-12-31T22:59:60Z",
        "2024-02-29T12:00:00Z",
        "2023-02-29T12:00:00Z",
        "2000-02-29T12:00:00Z",
        "1900-02-29T12:00:00Z",
        "1970-01-01T00:00:00Z",
        "1970-01-01T00:00:00+00:01",
        "1970-01-01T00:59:00+01:00",
        "9999-12-31T23:59:59.999Z",
        "9999-12-31T23:59:59.999-00:01",
        "0000-01-01T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-04-30T24:00:00Z",
        "2026-04-30T23:60:00Z",
        "2026-04-30T23:59:61Z",
        "2026-04-30T23:59:59.Z",
        "2026-04-30T23:59:59",
        "2026-04-30T23:59:59Z ",
        "+2026-04-30T23:59:59Z",
        "２０２６-04-30T23:59:59Z",
        "",
    ] {
        agree(text);
    }
    assert_eq!(
        rfc3339::parse("2016-12-31T23:59:60Z"),
        Some(UnixMillis(1_483_228_799_999))
    );
    assert_eq!(rfc3339::parse("2016-12-30T23:59:60Z"), None);
}
