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
    /// The server's verdict on the *item* sent: a `PUT` answered with the
    /// contract's JSON error naming what is wrong with it (400 with a
    /// `field`, 422 `conflict`, 413). The item will never succeed as it is.
    Rejected {
        /// The status code.
        status: u16,
        /// The server's reason.
        reason: ErrorBody,
    },
    /// A whole-request answer that is neither a success nor a verdict on an
    /// item: 404/405/400 without an item-naming JSON error, a redirect, an
    /// HTML page from a proxy. Something between the extension and the
    /// server is wrong (the URL, a path prefix, a proxy): sync pauses in a
    /// visible "server problem" state and every item is kept.
    ServerProblem {
        /// The status code (0 for a redirect the browser did not follow and
        /// so did not show).
        status: u16,
        /// What was answered, in plain words.
        detail: String,
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
            400..=499 => match item_verdict(status, &body) {
                Some(reason) => HttpOutcome::Rejected { status, reason },
                None => HttpOutcome::ServerProblem {
                    status,
                    detail: answer_detail(status, &body),
                },
            },
            500..=599 => HttpOutcome::Retry {
                status,
                after: retry_after.and_then(|v| parse_retry_after(v, now)),
            },
            0 => HttpOutcome::redirected(),
            _ => HttpOutcome::ServerProblem {
                status,
                detail: answer_detail(status, &body),
            },
        }
    }

    /// A redirect the shell did not follow (`fetch` with
    /// `redirect: "manual"`, whose answer hides status and target): the
    /// token is never sent on to another address.
    pub fn redirected() -> HttpOutcome {
        HttpOutcome::ServerProblem {
            status: 0,
            detail: "a redirect to another address (not followed, so the token stays with the \
                     configured server)"
                .to_owned(),
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
            HttpOutcome::ServerProblem { detail, .. } => {
                format!("server problem: the server answered {detail}")
            }
            HttpOutcome::Unauthorized { status } => {
                format!("signed out: the server refused the token ({status})")
            }
            HttpOutcome::NetworkError { message } => format!("network error: {message}"),
            HttpOutcome::Timeout => "no answer from the server in time".to_owned(),
        }
    }
}

/// The contract's `{"error": …}` body of a 4xx, if it is the server's
/// verdict on the item sent: 400 naming a `field`, 422 (a conflict with what
/// is stored) or 413 (too large). Anything else is not about the item.
fn item_verdict(status: u16, body: &str) -> Option<ErrorBody> {
    let error = serde_json::from_str::<ErrorEnvelope>(body).ok()?.error;
    let about_the_item = match status {
        400 => error.field.is_some(),
        413 | 422 => true,
        _ => false,
    };
    about_the_item.then_some(error)
}

/// What a non-success answer was, for the popup: the status and the
/// contract's message, or the start of whatever else came back.
fn answer_detail(status: u16, body: &str) -> String {
    if let Ok(e) = serde_json::from_str::<ErrorEnvelope>(body) {
        return format!("HTTP {status} ({}: {})", e.error.code, e.error.message);
    }
    let text: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let looks_html = text.trim_start().starts_with('<');
    match (text.is_empty(), looks_html) {
        (true, _) => format!("HTTP {status} with an empty body"),
        (false, true) => format!("HTTP {status} with an HTML page, not the WorkTime API"),
        (false, false) => {
            let start: String = text.chars().take(80).collect();
            format!("HTTP {status}: {start:?}")
        }
    }
}

/// `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3: an
/// IMF-fixdate, or the obsolete RFC 850 and asctime forms, parsed by the
/// `httpdate` crate), capped at [`MAX_RETRY_AFTER`]; a date in the past is
/// no delay. Anything else is ignored.
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

/// An HTTP date as Unix milliseconds (`httpdate` only builds a
/// `SystemTime` from the text; no clock is read).
pub fn parse_http_date(value: &str) -> Option<UnixMillis> {
    let at = httpdate::parse_http_date(value).ok()?;
    let since = at.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(since.as_millis()).ok().map(UnixMillis)
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
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(matches!(c(s), HttpOutcome::Retry { .. }), "{s}");
        }
        for s in [401, 403] {
            assert!(matches!(c(s), HttpOutcome::Unauthorized { .. }), "{s}");
        }
        for s in [
            0, 301, 302, 307, 308, 400, 404, 405, 409, 410, 413, 422, 100, 600,
        ] {
            assert!(matches!(c(s), HttpOutcome::ServerProblem { .. }), "{s}");
        }
    }

    #[test]
    fn only_the_contracts_error_naming_the_item_is_a_verdict_on_it() {
        let c = |s, body: &str| HttpOutcome::from_response(s, None, body.to_owned(), NOW);
        let field =
            r#"{"error":{"code":"invalid_field","message":"pr_number: bad","field":"pr_number"}}"#;
        let no_field = r#"{"error":{"code":"malformed_json","message":"expected a value"}}"#;
        let conflict = r#"{"error":{"code":"conflict","message":"ended before"}}"#;
        let not_found = r#"{"error":{"code":"not_found","message":"no such path"}}"#;
        let HttpOutcome::Rejected { reason, .. } = c(400, field) else {
            panic!("not a rejection")
        };
        assert_eq!(reason.code, "invalid_field");
        assert_eq!(reason.field.as_deref(), Some("pr_number"));
        assert!(matches!(c(422, conflict), HttpOutcome::Rejected { .. }));
        assert!(matches!(c(413, no_field), HttpOutcome::Rejected { .. }));
        // Not about the item: a 400 naming no field, a 404 or 405 even in
        // the contract's shape, a 422 that is not JSON.
        for (status, body) in [
            (400, no_field),
            (404, not_found),
            (405, not_found),
            (409, conflict),
            (422, "<html>Unprocessable</html>"),
            (400, field.trim_end_matches('}')),
        ] {
            assert!(
                matches!(c(status, body), HttpOutcome::ServerProblem { .. }),
                "{status} {body}"
            );
        }
    }

    #[test]
    fn a_server_problem_says_what_was_answered() {
        let detail = |s, body: &str| match HttpOutcome::from_response(s, None, body.into(), NOW) {
            HttpOutcome::ServerProblem { detail, .. } => detail,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            detail(404, "<!DOCTYPE html>\n<html><body>Not Found</body></html>"),
            "HTTP 404 with an HTML page, not the WorkTime API"
        );
        assert_eq!(
            detail(
                404,
                r#"{"error":{"code":"not_found","message":"no such path"}}"#
            ),
            "HTTP 404 (not_found: no such path)"
        );
        assert_eq!(detail(405, ""), "HTTP 405 with an empty body");
        assert_eq!(detail(400, "Bad   Request\n"), r#"HTTP 400: "Bad Request""#);
        let long = "x".repeat(500);
        assert!(detail(400, &long).len() < 100);
        assert!(detail(0, "").contains("redirect"));
        assert!(
            HttpOutcome::redirected()
                .describe()
                .starts_with("server problem: ")
        );
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
        // The obsolete forms RFC 9110 says a recipient must accept.
        assert_eq!(
            parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", NOW),
            Some(DurationMillis(60_000))
        );
        assert_eq!(
            parse_retry_after("Sun Nov  6 08:50:37 1994", NOW),
            Some(DurationMillis(60_000))
        );
        // What the old hand-written parser let through is not a date.
        for bad in [
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 31 Feb 1994 08:00:00 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 6 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(bad, NOW), None, "{bad}");
        }
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
