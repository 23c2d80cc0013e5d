//! The stale-session closer, driven by an injected clock.

use crate::harness::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use worktime_protocol::UnixMillis;
use worktime_server::ServerConfig;
use worktime_server::clock::ManualClock;

#[tokio::test]
async fn silent_active_sessions_are_ended_at_their_last_update_and_still_merge() {
    let t0 = UnixMillis(1_795_300_000_000);
    let clock = Arc::new(ManualClock::new(t0));
    let config = ServerConfig {
        closer_every: Duration::from_millis(30),
        ..config()
    };
    let server = TestServer::start_with(TempDir::new().unwrap(), config, clock.clone()).await;
    let token = server.token("alice", false, "laptop").await;
    let silent = active("silent", t0, 20);
    server.put(&token, &silent).await;
    // Nine minutes later another session is updated; then two more minutes pass.
    clock.set(UnixMillis(t0.0 + 9 * 60_000));
    let recent = active("recent", server.now(), 5);
    server.put(&token, &recent).await;
    let mut stream = Stream::open(&server, &token, false).await;
    clock.set(UnixMillis(t0.0 + 11 * 60_000));
    let find = |id: &'static str| {
        let server = &server;
        let token = token.clone();
        async move {
            server
                .all_sessions(&token, "")
                .await
                .into_iter()
                .find(|s| s["local_id"] == id)
                .unwrap()
        }
    };
    eventually(5, "the silent session to be closed", || async {
        find("silent").await["state"] == "ended"
    })
    .await;
    let closed = find("silent").await;
    assert_eq!(closed["closed_by_server"], true);
    assert_eq!(closed["ended_at"], silent["updated_at"]);
    assert_eq!(closed["updated_at"], silent["updated_at"]);
    assert_eq!(closed["active_seconds"], silent["active_seconds"]);
    assert_eq!(find("recent").await["state"], "active");
    // Dashboards hear about it, with the reason.
    let event = stream.next_session(5).await.expect("a session event");
    assert_eq!(event, closed);
    // The client comes back and ends it for real: that version wins.
    let mut real_end = silent.clone();
    real_end["state"] = json!("ended");
    real_end["ended_at"] = json!(ts(UnixMillis(t0.0 + 60_000)));
    real_end["updated_at"] = real_end["ended_at"].clone();
    real_end["active_seconds"] = json!(300);
    let stored: Value = server.put(&token, &real_end).await.json().await.unwrap();
    assert_eq!(contract(&stored), real_end);
    assert_eq!(stored["closed_by_server"], false);
}
