//! How an HTTP request ended, as data, and the one place that turns a status
//! code into a decision (so the shell holds no rules of its own).

use serde::{Deserialize, Serialize};
use worktime_protocol::{DurationMillis, ErrorBody, ErrorEnvelope, UnixMillis};

/// Longest `Retry-After` the engine honours.
pub const MAX_RETRY_AFTER: DurationMillis = DurationMillis::from_secs(3600);

/// The outcome of one request, fed back with [`crate::Input::Response`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HttpOutcome {
    /// A 2xx answer; `body` is the response text (parsed by the engine
    /// according to the request it answers).
    Delivered {
        /// The status code.
        status: u16,
        /// The response body.
        body: String,
    },
    /// A transient refusal (408, 429, 5xx, anything unexpected): try again
    /// later, not before `after` when the server said so.
    Retry {
        /// The status code.
        status: u16,
        /// `Retry-After`, capped at [`MAX_RETRY_AFTER`].
        after: Option<DurationMillis>,
    },
    /// A permanent refusal (4xx other than 401, 403, 408, 429): the request
    /// will never succeed as it is.
    Rejected {
        /// The status code.
        status: u16,
        /// The server's reason.
        reason: ErrorBody,
    },
    /// 401 or 403: the token is missing, wrong or revoked.
    Unauthorized {
        /// The status code.
        status: u16,
    },
    /// The request never got an answer (DNS, refused connection, offline,
    /// CORS): `fetch` rejected.
    NetworkError {
        /// The browser's message.
        message: String,
    },
    /// No answer in time (the shell aborted the request). The server may or
    /// may not have applied it.
    Timeout,
}

impl HttpOutcome {
    /// Classifies an HTTP answer. `retry_after` is the raw `Retry-After`
    /// header (seconds or an HTTP date), `body` the response text, `now` the
    /// time it arrived (to turn an HTTP date into a delay).
    pub fn from_response(
        status: u16,
        retry_after: Option<&str>,
        body: String,
        now: UnixMillis,
    ) -> HttpOutcome {
        match status {
            200..=299 => HttpOutcome::Delivered { status, body },
            401 | 403 => HttpOutcome::Unauthorized { status },
            408 | 429 => HttpOutcome::Retry {
                status,
                after: retry_after.and_then(|v| parse_retry_after(v, now)),
            },
            400..=499 => HttpOutcome::Rejected {
                status,
                reason: error_body(status, &body),
            },
            _ => HttpOutcome::Retry {
                status,
                after: retry_after.and_then(|v| parse_retry_after(v, now)),
            },
        }
    }

    /// A short description for the popup's "last error".
    pub fn describe(&self) -> String {
        match self {
            HttpOutcome::Delivered { status, .. } => format!("HTTP {status}"),
            HttpOutcome::Retry { status, .. } => format!("server answered {status}"),
            HttpOutcome::Rejected { status, reason } => {
                format!("server refused ({status}): {}", reason.message)
            }
            HttpOutcome::Unauthorized { status } => {
                format!("signed out: the server refused the token ({status})")
            }
            HttpOutcome::NetworkError { message } => format!("network error: {message}"),
            HttpOutcome::Timeout => "no answer from the server in time".to_owned(),
        }
    }
}

/// The `{"error": …}` body of a refusal, or a stand-in naming the status
/// when the body is not the contract's.
fn error_body(status: u16, body: &str) -> ErrorBody {
    serde_json::from_str::<ErrorEnvelope>(body)
        .map(|e| e.error)
        .unwrap_or_else(|_| ErrorBody {
            code: format!("http_{status}"),
            message: format!("the server refused the request with HTTP {status}"),
            field: None,
        })
}

/// `Retry-After` as delta-seconds or an IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), capped at [`MAX_RETRY_AFTER`]; a date
/// in the past is no delay. Anything else is ignored.
pub fn parse_retry_after(value: &str, now: UnixMillis) -> Option<DurationMillis> {
    let value = value.trim();
    let delay = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = value.parse().unwrap_or(i64::MAX);
        DurationMillis::from_secs(secs)
    } else {
        let at = parse_http_date(value)?;
        DurationMillis(at.0.saturating_sub(now.0).max(0))
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

/// IMF-fixdate only (RFC 9110 §5.6.7), the form servers must send.
fn parse_http_date(value: &str) -> Option<UnixMillis> {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let rest = value.split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let h: i64 = hms.next()?.parse().ok()?;
    let m: i64 = hms.next()?.parse().ok()?;
    let s: i64 = hms.next()?.parse().ok()?;
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(UnixMillis(((days * 24 + h) * 60 + m) * 60_000 + s * 1000))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = UnixMillis(784_111_777_000); // 1994-11-06T08:49:37Z

    #[test]
    fn statuses_are_classified_as_the_retry_policy_says() {
        let c = |s| HttpOutcome::from_response(s, None, String::new(), NOW);
        assert!(matches!(c(200), HttpOutcome::Delivered { .. }));
        assert!(matches!(c(204), HttpOutcome::Delivered { .. }));
        for s in [408, 429, 500, 502, 503, 504, 302] {
            assert!(matches!(c(s), HttpOutcome::Retry { .. }), "{s}");
        }
        for s in [401, 403] {
            assert!(matches!(c(s), HttpOutcome::Unauthorized { .. }), "{s}");
        }
        for s in [400, 404, 409, 413, 422] {
            assert!(matches!(c(s), HttpOutcome::Rejected { .. }), "{s}");
        }
    }

    #[test]
    fn a_rejection_carries_the_servers_reason_or_names_the_status() {
        let body =
            r#"{"error":{"code":"invalid_field","message":"pr_number: bad","field":"pr_number"}}"#;
        let HttpOutcome::Rejected { reason, .. } =
            HttpOutcome::from_response(400, None, body.into(), NOW)
        else {
            panic!("not a rejection")
        };
        assert_eq!(reason.code, "invalid_field");
        assert_eq!(reason.field.as_deref(), Some("pr_number"));
        let HttpOutcome::Rejected { reason, .. } =
            HttpOutcome::from_response(404, None, "<html>".into(), NOW)
        else {
            panic!("not a rejection")
        };
        assert_eq!(reason.code, "http_404");
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates_and_is_capped_at_an_hour() {
        assert_eq!(parse_retry_after("120", NOW), Some(DurationMillis(120_000)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", NOW),
            Some(DurationMillis(60_000))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", NOW),
            Some(DurationMillis(0))
        );
        assert_eq!(parse_retry_after("99999999", NOW), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", NOW), None);
        assert_eq!(parse_retry_after("-5", NOW), None);
        let HttpOutcome::Retry { after, .. } =
            HttpOutcome::from_response(429, Some("7"), String::new(), NOW)
        else {
            panic!("not a retry")
        };
        assert_eq!(after, Some(DurationMillis(7_000)));
    }
}
