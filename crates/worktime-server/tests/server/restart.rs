//! A restart on the same database file keeps sessions, users and tokens.

use crate::harness::*;
use std::sync::Arc;
use worktime_server::clock::SystemClock;

#[tokio::test]
async fn a_restart_on_the_same_file_keeps_everything() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    let revoked = server.token("alice", false, "old").await;
    let items: Vec<_> = (0..30)
        .map(|i| ended(&format!("k{i}"), server.now()))
        .collect();
    server.batch(&token, &items).await;
    server
        .client
        .delete(server.url("/api/v1/devices/2"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let before = server.all_sessions(&token, "").await;
    assert_eq!(before.len(), 30);
    let dir = server.stop().await;

    let server = TestServer::start_with(dir, config(), Arc::new(SystemClock)).await;
    assert_eq!(server.get(&token, "/api/v1/me").await.status(), 200);
    assert_eq!(server.get(&revoked, "/api/v1/me").await.status(), 401);
    assert_eq!(server.all_sessions(&token, "").await, before);
    // And the replay after the restart is still a no-op.
    server.batch(&token, &items).await;
    assert_eq!(server.all_sessions(&token, "").await, before);
}
