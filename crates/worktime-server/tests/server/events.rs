//! `GET /api/v1/events`: live upserts with their sequence ids, per-user
//! visibility, no token in the URL, resuming with `Last-Event-ID`, stream
//! caps, and streams ending at sign-out.

use crate::harness::*;
use futures_util::StreamExt;
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn an_upsert_reaches_an_open_stream_as_a_session_event() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    let mut stream = Stream::open(&server, &token).await;
    let s = ended("live", server.now());
    let stored: Value = server.put(&token, &s).await.json().await.unwrap();
    let event = stream.next_session(5).await.expect("a session event");
    assert_eq!(event, stored);
    // A duplicate changes nothing, so it sends nothing; the next change does.
    server.put(&token, &s).await;
    server.batch(&token, &[ended("second", server.now())]).await;
    let event = stream.next_session(5).await.expect("a second event");
    assert_eq!(event["local_id"], "second");
}

#[tokio::test]
async fn streams_show_own_sessions_and_admins_see_everyones() {
    let server = TestServer::start().await;
    let alice = server.token("alice", false, "a").await;
    let bob = server.token("bob", false, "b").await;
    let admin = server.token("root", true, "console").await;
    let mut alices = Stream::open(&server, &alice).await;
    let mut admins = Stream::open(&server, &admin).await;
    server.put(&bob, &ended("bobs", server.now())).await;
    server.put(&alice, &ended("alices", server.now())).await;
    assert_eq!(alices.next_session(5).await.unwrap()["local_id"], "alices");
    let first = admins.next_session(5).await.unwrap();
    let second = admins.next_session(5).await.unwrap();
    assert_eq!(
        (first["user"].as_str(), second["user"].as_str()),
        (Some("bob"), Some("alice"))
    );
}

#[tokio::test]
async fn streams_refuse_missing_or_bad_tokens() {
    let server = TestServer::start().await;
    let res = server
        .client
        .get(server.url("/api/v1/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = server
        .client
        .get(server.url("/api/v1/events?access_token=wt_nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn a_valid_token_in_the_url_is_refused() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    let res = server
        .client
        .get(server.url(&format!("/api/v1/events?access_token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await, (401, "unauthorized".into(), None));
}

#[tokio::test]
async fn sign_out_everywhere_ends_the_open_streams_of_that_user() {
    let server = TestServer::start().await;
    let laptop = server.token("alice", false, "laptop").await;
    let desktop = server.token("alice", false, "desktop").await;
    let bob = server.token("bob", false, "phone").await;
    let mut laptops = Stream::open(&server, &laptop).await;
    let mut bobs = Stream::open(&server, &bob).await;
    let res = server
        .client
        .delete(server.url("/api/v1/devices"))
        .bearer_auth(&desktop)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(laptops.ends_within(5).await, "alice's stream ended");
    // Bob's stream is still open and still delivers.
    server.put(&bob, &ended("still", server.now())).await;
    assert_eq!(bobs.next_session(5).await.unwrap()["local_id"], "still");
}

async fn configured(config: worktime_server::ServerConfig) -> TestServer {
    TestServer::start_with(
        tempfile::TempDir::new().unwrap(),
        config,
        std::sync::Arc::new(worktime_server::clock::SystemClock),
    )
    .await
}

#[tokio::test]
async fn idle_streams_get_keep_alive_comments() {
    let server = configured(worktime_server::ServerConfig {
        keep_alive: Duration::from_millis(50),
        ..config()
    })
    .await;
    let token = server.token("alice", false, "laptop").await;
    let mut stream = Stream::open(&server, &token).await;
    // The stream starts with its `ready` event; then only keep-alives come.
    stream.next_kind("ready", 5).await.expect("a ready event");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !stream.text.contains(':') {
        match tokio::time::timeout_at(deadline, stream.body.next()).await {
            Ok(Some(Ok(chunk))) => stream.text.push_str(std::str::from_utf8(&chunk).unwrap()),
            other => panic!("no keep-alive comment: {:?}", other.is_ok()),
        }
    }
    assert!(stream.text.starts_with(':'), "{:?}", stream.text);
}

#[tokio::test]
async fn a_token_revoked_outside_the_api_ends_its_stream_at_the_next_recheck() {
    let server = configured(worktime_server::ServerConfig {
        token_recheck: Duration::from_millis(100),
        ..config()
    })
    .await;
    let token = server.token("alice", false, "laptop").await;
    let mut stream = Stream::open(&server, &token).await;
    assert!(
        !stream.ends_within(1).await,
        "a live token's stream stays open"
    );
    // What `worktime-server token revoke` does from another process: the
    // database changes, the hub hears nothing.
    let me: Value = server.get(&token, "/api/v1/me").await.json().await.unwrap();
    let id = me["device_id"].as_i64().unwrap();
    let now = server.now();
    let revoked = server
        .state
        .store
        .revoke_device(None, id, now)
        .await
        .unwrap();
    assert!(revoked.is_some());
    assert!(
        stream.ends_within(5).await,
        "the stream ended after the recheck"
    );
}

#[tokio::test]
async fn shutdown_ends_open_streams_and_completes() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    let mut stream = Stream::open(&server, &token).await;
    // `stop` fails the test unless the server finishes within 10 s.
    let _dir = server.stop().await;
    assert!(stream.ends_within(5).await);
}
