//! The shell's `fetch` against the real worktime-server, in headless
//! Chromium: a session PUT lands with the token, a wrong token comes back as
//! 401 data (not an exception), an unreachable server is a network error and
//! Test connection names the user, and a 429's `Retry-After` is readable
//! through CORS.
//!
//! `./build.sh test` runs them through `tests/e2e/support/with-server.mjs`,
//! which starts the server on a loopback port, creates a user and tokens
//! through its CLI, and passes them in at compile time as
//! `WORKTIME_TEST_SERVER`, `WORKTIME_TEST_TOKEN` and
//! `WORKTIME_TEST_TOKEN_LIMITED`.
#![cfg(target_arch = "wasm32")]
// `allow-unwrap-in-tests` / `allow-expect-in-tests` do not see `#[wasm_bindgen_test]` functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use wasm_bindgen_test::*;
use worktime_core::HttpOutcome;
use worktime_protocol::{LocalId, Session, SessionState, UnixMillis};
use worktime_wasm::connection;
use worktime_wasm::error::HttpError;
use worktime_wasm::http::{self, HttpRequest};
use worktime_wasm::settings::Settings;

wasm_bindgen_test_configure!(run_in_browser);

fn server() -> (&'static str, &'static str) {
    match (
        option_env!("WORKTIME_TEST_SERVER"),
        option_env!("WORKTIME_TEST_TOKEN"),
    ) {
        (Some(url), Some(token)) => (url, token),
        _ => panic!(
            "WORKTIME_TEST_SERVER and WORKTIME_TEST_TOKEN are not set: run these tests through ./build.sh test"
        ),
    }
}

/// A second token of the same user, spent by the rate-limit test only (the
/// server limits each token on its own).
fn limited_token() -> &'static str {
    option_env!("WORKTIME_TEST_TOKEN_LIMITED").unwrap_or_else(|| {
        panic!("WORKTIME_TEST_TOKEN_LIMITED is not set: run these tests through ./build.sh test")
    })
}

fn ended_session(now: UnixMillis) -> Session {
    Session {
        local_id: LocalId::from_random(js_sys::Math::random().to_bits() as u128 * 7919),
        repo_owner: "octo".into(),
        repo_name: "hello-world".into(),
        pr_number: 42,
        started_at: UnixMillis(now.0 - 60_000),
        ended_at: Some(UnixMillis(now.0 - 1_000)),
        active_seconds: 30,
        state: SessionState::Ended,
        updated_at: UnixMillis(now.0 - 1_000),
    }
}

#[wasm_bindgen_test]
async fn a_session_put_with_the_token_is_stored_and_read_back() {
    let (url, token) = server();
    let now = worktime_wasm::clock::now();
    let session = ended_session(now);
    let put = HttpRequest {
        method: "PUT".into(),
        path: format!("/api/v1/sessions/{}", session.local_id),
        body: Some(serde_json::to_string(&session).unwrap()),
    };
    let resp = http::send(url, token, &put).await.unwrap();
    assert!(
        (200..300).contains(&resp.status),
        "PUT answered {}: {}",
        resp.status,
        resp.body
    );
    // The server's clock is readable (CORS exposes Date) and close to ours.
    let server_date = resp
        .date
        .as_deref()
        .and_then(worktime_core::outcome::parse_http_date)
        .expect("a Date header the extension can read");
    assert!(
        (server_date.0 - now.0).abs() < 5_000,
        "{server_date:?} vs {now:?}"
    );
    let outcome =
        HttpOutcome::from_response(resp.status, resp.retry_after.as_deref(), resp.body, now);
    assert!(
        matches!(outcome, HttpOutcome::Delivered { .. }),
        "{outcome:?}"
    );

    let get = HttpRequest {
        method: "GET".into(),
        path: "/api/v1/sessions?state=ended".into(),
        body: None,
    };
    let resp = http::send(url, token, &get).await.unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body);
    let page: worktime_protocol::SessionsPage = serde_json::from_str(&resp.body).unwrap();
    assert!(
        page.sessions
            .iter()
            .any(|s| s.local_id == session.local_id && s.active_seconds == 30),
        "the PUT session is not in {page:?}"
    );
}

#[wasm_bindgen_test]
async fn a_wrong_token_is_an_answer_the_engine_reads_as_unauthorized() {
    let (url, _) = server();
    let get = HttpRequest {
        method: "GET".into(),
        path: "/api/v1/me".into(),
        body: None,
    };
    let resp = http::send(url, "not-a-real-token", &get).await.unwrap();
    assert_eq!(resp.status, 401, "{}", resp.body);
    let outcome =
        HttpOutcome::from_response(resp.status, None, resp.body, worktime_wasm::clock::now());
    assert!(
        matches!(outcome, HttpOutcome::Unauthorized { status: 401 }),
        "{outcome:?}"
    );
}

#[wasm_bindgen_test]
async fn test_connection_names_the_user_and_device_of_the_token() {
    let (url, token) = server();
    let who = connection::test(&Settings {
        server_url: url.into(),
        token: token.into(),
    })
    .await
    .unwrap();
    assert_eq!(who.user, "wasm-tester");
    assert_eq!(who.device, "headless-chromium");
}

#[wasm_bindgen_test]
async fn an_unreachable_server_is_a_network_error_not_a_crash() {
    // Port 9 (discard) on loopback: nothing listens there in a test machine.
    let get = HttpRequest {
        method: "GET".into(),
        path: "/api/v1/me".into(),
        body: None,
    };
    let err = http::send("http://127.0.0.1:9", "t", &get)
        .await
        .unwrap_err();
    assert!(matches!(err, HttpError::Network { .. }), "{err:?}");
}

#[wasm_bindgen_test]
async fn a_429_from_the_server_carries_a_retry_after_the_engine_can_read() {
    let (url, _) = server();
    let token = limited_token();
    let get = HttpRequest {
        method: "GET".into(),
        path: "/api/v1/me".into(),
        body: None,
    };
    // The server's bucket holds 20 requests per token; well past that, one
    // of these must be refused. The header is only visible to the page if
    // the server exposes it through CORS.
    let mut refused = None;
    for _ in 0..60 {
        let resp = http::send(url, token, &get).await.unwrap();
        if resp.status == 429 {
            refused = Some(resp);
            break;
        }
        assert_eq!(resp.status, 200, "{}", resp.body);
    }
    let resp = refused.expect("60 requests in a row were never rate limited");
    let retry_after = resp
        .retry_after
        .clone()
        .expect("the 429's Retry-After is not readable (Access-Control-Expose-Headers)");
    let secs: u64 = retry_after.parse().unwrap();
    assert!(secs >= 1, "Retry-After: {retry_after}");
    let outcome = HttpOutcome::from_response(
        resp.status,
        resp.retry_after.as_deref(),
        resp.body,
        worktime_wasm::clock::now(),
    );
    assert!(
        matches!(
            outcome,
            HttpOutcome::Retry {
                status: 429,
                after: Some(_)
            }
        ),
        "{outcome:?}"
    );
}
