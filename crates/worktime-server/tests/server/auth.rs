//! Tokens, users and devices: 401s, isolation between users, admins,
//! revocation, sign-out-everywhere, rate limiting, CORS and unknown routes.

use crate::harness::*;
use serde_json::Value;
use std::sync::Arc;
use tempfile::TempDir;
use worktime_server::ServerConfig;
use worktime_server::clock::SystemClock;
use worktime_server::ratelimit::RateLimit;

const API: [(&str, &str); 8] = [
    ("GET", "/api/v1/sessions"),
    ("PUT", "/api/v1/sessions/abc"),
    ("POST", "/api/v1/sessions/batch"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/devices"),
    ("DELETE", "/api/v1/devices/1"),
    ("DELETE", "/api/v1/devices"),
    ("GET", "/api/v1/totals"),
];

#[tokio::test]
async fn every_endpoint_refuses_missing_malformed_and_unknown_tokens() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    // Change the last character to another one, so the token is well formed
    // but unknown (replacing it with a fixed character would keep it the same
    // whenever the token already ends in that character).
    let last = token.chars().last().unwrap();
    let other = if last == 'a' { 'b' } else { 'a' };
    let wrong = format!("{}{other}", &token[..token.len() - 1]);
    assert_ne!(wrong, token);
    for (method, path) in API {
        let method: reqwest::Method = method.parse().unwrap();
        for auth in [
            None,
            Some(format!("Basic {token}")),
            Some("Bearer ".into()),
            Some(format!("Bearer {wrong}")),
        ] {
            let mut req = server.client.request(method.clone(), server.url(path));
            if let Some(auth) = &auth {
                req = req.header("authorization", auth);
            }
            let res = req.send().await.unwrap();
            assert_eq!(
                res.headers()["www-authenticate"],
                "Bearer realm=\"worktime\""
            );
            assert_eq!(
                error_of(res).await.1,
                "unauthorized",
                "{method} {path} {auth:?}"
            );
        }
    }
    let res = server.get(&token, "/api/v1/me").await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn api_answers_tell_caches_not_to_store_them() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    for path in ["/api/v1/me", "/api/v1/sessions", "/api/v1/devices"] {
        let res = server.get(&token, path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
    }
    // An error answer too: it may carry the caller's details.
    let res = server
        .client
        .get(server.url("/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn me_says_which_user_and_device_the_token_is() {
    let server = TestServer::start().await;
    let token = server.token("alice", true, "work laptop").await;
    let me: Value = server.get(&token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["user"], "alice");
    assert_eq!(me["device"], "work laptop");
    assert_eq!(me["admin"], true);
    assert!(me["device_id"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn users_cannot_read_or_overwrite_each_others_sessions() {
    let server = TestServer::start().await;
    let alice = server.token("alice", false, "a").await;
    let bob = server.token("bob", false, "b").await;
    let admin = server.token("root", true, "console").await;
    let now = server.now();
    let mut alices = ended("same-id", now);
    alices["active_seconds"] = 100.into();
    server.put(&alice, &alices).await;
    // Bob's session with the same local_id is a second session, not an overwrite.
    let mut bobs = ended("same-id", now);
    bobs["pr_number"] = 99.into();
    assert_eq!(server.put(&bob, &bobs).await.status(), 200);
    let seen_by_alice = server.all_sessions(&alice, "").await;
    assert_eq!(seen_by_alice.len(), 1);
    assert_eq!(contract(&seen_by_alice[0]), alices);
    let seen_by_bob = server.all_sessions(&bob, "").await;
    assert_eq!(seen_by_bob.len(), 1);
    assert_eq!(contract(&seen_by_bob[0]), bobs);
    // Bob may not ask for Alice's.
    let res = server.get(&bob, "/api/v1/sessions?user=alice").await;
    assert_eq!(error_of(res).await.0, 403);
    let res = server.get(&bob, "/api/v1/totals?user=alice").await;
    assert_eq!(error_of(res).await.0, 403);
    assert_eq!(server.all_sessions(&bob, "&user=bob").await.len(), 1);
    // An admin reads its own by default (what its extension counts), everyone's
    // with user=*, or one user's; user=* is refused to others.
    assert_eq!(server.all_sessions(&admin, "").await.len(), 0);
    assert_eq!(server.all_sessions(&admin, "&user=*").await.len(), 2);
    let res = server.get(&bob, "/api/v1/sessions?user=*").await;
    assert_eq!(error_of(res).await.0, 403);
    let only_alice = server.all_sessions(&admin, "&user=alice").await;
    assert_eq!(only_alice.len(), 1);
    assert_eq!(only_alice[0]["user"], "alice");
    let res = server.get(&admin, "/api/v1/sessions?user=nobody").await;
    assert_eq!(error_of(res).await.0, 404);
}

#[tokio::test]
async fn devices_are_listed_without_tokens_and_revoked_one_by_one() {
    let server = TestServer::start().await;
    let laptop = server.token("alice", false, "laptop").await;
    let desktop = server.token("alice", false, "desktop").await;
    let bobs = server.token("bob", false, "phone").await;
    let res = server.get(&laptop, "/api/v1/devices").await;
    let text = res.text().await.unwrap();
    assert!(!text.contains(&laptop) && !text.contains(&desktop));
    let devices: Vec<Value> = serde_json::from_str(&text).unwrap();
    let labels: Vec<(&str, bool)> = devices
        .iter()
        .map(|d| {
            (
                d["label"].as_str().unwrap(),
                d["current"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(labels, [("laptop", true), ("desktop", false)]);
    assert!(devices[0]["created_at"].is_string());
    let desktop_id = devices[1]["id"].as_i64().unwrap();
    // Bob cannot revoke Alice's device.
    let res = server
        .client
        .delete(server.url(&format!("/api/v1/devices/{desktop_id}")))
        .bearer_auth(&bobs)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, 404);
    assert_eq!(server.get(&desktop, "/api/v1/me").await.status(), 200);
    let res = server
        .client
        .delete(server.url("/api/v1/devices/notanumber"))
        .bearer_auth(&laptop)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.2.as_deref(), Some("id"));
    let res = server
        .client
        .delete(server.url(&format!("/api/v1/devices/{desktop_id}")))
        .bearer_auth(&laptop)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(server.get(&desktop, "/api/v1/me").await.status(), 401);
    assert_eq!(server.get(&laptop, "/api/v1/me").await.status(), 200);
    // Revoking it again is a 404.
    let res = server
        .client
        .delete(server.url(&format!("/api/v1/devices/{desktop_id}")))
        .bearer_auth(&laptop)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let devices: Vec<Value> = server
        .get(&laptop, "/api/v1/devices")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(devices.len(), 1);
}

#[tokio::test]
async fn sign_out_everywhere_revokes_every_token_of_that_user_only() {
    let server = TestServer::start().await;
    let tokens = [
        server.token("alice", false, "laptop").await,
        server.token("alice", false, "desktop").await,
        server.token("alice", false, "tablet").await,
    ];
    let bob = server.token("bob", false, "phone").await;
    let res = server
        .client
        .delete(server.url("/api/v1/devices"))
        .bearer_auth(&tokens[1])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    for token in &tokens {
        for path in ["/api/v1/me", "/api/v1/sessions", "/api/v1/devices"] {
            assert_eq!(server.get(token, path).await.status(), 401, "{path}");
        }
    }
    assert_eq!(server.get(&bob, "/api/v1/me").await.status(), 200);
}

#[tokio::test]
async fn an_empty_bucket_answers_429_with_retry_after() {
    let config = ServerConfig {
        rate_limit: Some(RateLimit {
            per_second: 10.0,
            burst: 20,
        }),
        ..config()
    };
    let server =
        TestServer::start_with(TempDir::new().unwrap(), config, Arc::new(SystemClock)).await;
    let token = server.token("alice", false, "laptop").await;
    let other = server.token("bob", false, "phone").await;
    let mut limited = None;
    for i in 0..40 {
        let res = server.get(&token, "/api/v1/me").await;
        if res.status() == 429 {
            limited = Some((i, res));
            break;
        }
    }
    let (i, res) = limited.expect("the bucket ran dry");
    assert!(i >= 20, "burst of 20 allowed, limited after {i}");
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry));
    assert_eq!(error_of(res).await.1, "rate_limited");
    // Another token has its own bucket.
    assert_eq!(server.get(&other, "/api/v1/me").await.status(), 200);
    // After waiting as told, the token works again.
    tokio::time::sleep(std::time::Duration::from_secs(retry)).await;
    assert_eq!(server.get(&token, "/api/v1/me").await.status(), 200);
}

#[tokio::test]
async fn cors_allows_extension_origins_and_configured_ones_only() {
    let config = ServerConfig {
        allow_origins: vec!["https://dash.example".into()],
        ..config()
    };
    let server =
        TestServer::start_with(TempDir::new().unwrap(), config, Arc::new(SystemClock)).await;
    let preflight = |origin: &'static str| {
        server
            .client
            .request(
                reqwest::Method::OPTIONS,
                server.url("/api/v1/sessions/batch"),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    for origin in [
        "chrome-extension://abcdefghijklmnop",
        "https://dash.example",
    ] {
        let res = preflight(origin).await.unwrap();
        assert!(res.status().is_success(), "{origin}");
        let h = res.headers();
        assert_eq!(h["access-control-allow-origin"], origin);
        assert_eq!(h["access-control-max-age"], "7200");
        let methods = h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .to_owned();
        for m in ["GET", "POST", "PUT", "DELETE"] {
            assert!(methods.contains(m), "{methods}");
        }
        let headers = h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        assert!(headers.contains("authorization") && headers.contains("content-type"));
    }
    let res = preflight("https://evil.example").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    // Error answers carry CORS headers too, so the extension can read them.
    let res = server
        .client
        .get(server.url("/api/v1/me"))
        .header("origin", "chrome-extension://abcdefghijklmnop")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "chrome-extension://abcdefghijklmnop"
    );
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_the_error_format() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    let res = server.get(&token, "/api/v1/nothing").await;
    assert_eq!(error_of(res).await, (404, "not_found".into(), None));
    let res = server
        .client
        .patch(server.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(res).await,
        (405, "method_not_allowed".into(), None)
    );
}
