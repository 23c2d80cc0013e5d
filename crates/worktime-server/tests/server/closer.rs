//! The stale-session closer, driven by an injected clock: it closes the
//! sessions of dead devices only, waits after a start, and its close gives
//! way to the device's own later version.

use crate::harness::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use worktime_protocol::UnixMillis;
use worktime_server::ServerConfig;
use worktime_server::clock::ManualClock;
use worktime_server::closer::close_stale_now;

const T0: UnixMillis = UnixMillis(1_795_300_000_000);
const MINUTE: i64 = 60_000;

fn fast_closer() -> ServerConfig {
    ServerConfig {
        closer_every: Duration::from_millis(30),
        ..config()
    }
}

async fn find(server: &TestServer, token: &str, id: &str) -> Value {
    server
        .all_sessions(token, "")
        .await
        .into_iter()
        .find(|s| s["local_id"] == id)
        .unwrap()
}

#[tokio::test]
async fn a_dead_devices_session_is_closed_and_its_own_later_version_replaces_the_close() {
    let clock = Arc::new(ManualClock::new(T0));
    let server =
        TestServer::start_with(TempDir::new().unwrap(), fast_closer(), clock.clone()).await;
    let laptop = server.token("alice", false, "laptop").await;
    let desktop = server.token("alice", false, "desktop").await;
    let silent = active("silent", T0, 20);
    server.put(&laptop, &silent).await;
    // Nine minutes later the other device updates its session; then the
    // laptop has been silent for 21 minutes, the desktop for 12.
    clock.set(UnixMillis(T0.0 + 9 * MINUTE));
    server
        .put(&desktop, &active("recent", server.now(), 5))
        .await;
    let mut stream = Stream::open(&server, &desktop).await;
    clock.set(UnixMillis(T0.0 + 21 * MINUTE));
    eventually(5, "the dead device's session to be closed", || async {
        find(&server, &desktop, "silent").await["state"] == "ended"
    })
    .await;
    let closed = find(&server, &desktop, "silent").await;
    assert_eq!(closed["closed_by_server"], true);
    assert_eq!(closed["ended_at"], silent["updated_at"]);
    assert_eq!(closed["updated_at"], silent["updated_at"]);
    assert_eq!(closed["active_seconds"], silent["active_seconds"]);
    assert_eq!(find(&server, &desktop, "recent").await["state"], "active");
    // Dashboards hear about it, with the reason.
    let event = stream.next_session(5).await.expect("a session event");
    assert_eq!(event, closed);
    // The laptop comes back: its own later version, still active, replaces
    // the server's guess.
    let mut resumed = silent.clone();
    resumed["updated_at"] = json!(ts(server.now()));
    resumed["active_seconds"] = json!(90);
    let stored: Value = server.put(&laptop, &resumed).await.json().await.unwrap();
    assert_eq!(contract(&stored), resumed);
    assert_eq!(stored["closed_by_server"], false);
    assert!(stored["seq"].as_i64().unwrap() > closed["seq"].as_i64().unwrap());
    // And its real end merges as usual.
    let mut real_end = resumed.clone();
    real_end["state"] = json!("ended");
    real_end["ended_at"] = resumed["updated_at"].clone();
    let stored: Value = server.put(&laptop, &real_end).await.json().await.unwrap();
    assert_eq!(contract(&stored), real_end);
}

#[tokio::test]
async fn a_hidden_review_of_a_living_device_stays_open_while_a_dead_devices_closes() {
    let clock = Arc::new(ManualClock::new(T0));
    let server =
        TestServer::start_with(TempDir::new().unwrap(), fast_closer(), clock.clone()).await;
    let living = server.token("alice", false, "living").await;
    let dead = server.token("bob", false, "dead").await;
    // Reading with a dead device's token would make it alive: bob's
    // dashboard reads with a token of its own.
    let bobs_dashboard = server.token("bob", false, "dashboard").await;
    // Both open a review that then sends no updates (a hidden tab).
    server.put(&living, &active("hidden", T0, 0)).await;
    server.put(&dead, &active("orphan", T0, 0)).await;
    // The living device keeps talking to the server (other requests), the
    // dead one says nothing for 25 minutes.
    for minutes in [5, 10, 15, 20, 25] {
        clock.set(UnixMillis(T0.0 + minutes * MINUTE));
        assert_eq!(server.get(&living, "/api/v1/me").await.status(), 200);
    }
    eventually(5, "the dead device's session to be closed", || async {
        find(&server, &bobs_dashboard, "orphan").await["state"] == "ended"
    })
    .await;
    // A sweep now still leaves the living device's review open.
    close_stale_now(&server.state).await.unwrap();
    let hidden = find(&server, &living, "hidden").await;
    assert_eq!(hidden["state"], "active");
    assert_eq!(hidden["closed_by_server"], false);
}

#[tokio::test]
async fn the_first_sweep_after_a_start_waits_so_clients_can_resend() {
    let clock = Arc::new(ManualClock::new(T0));
    let server = TestServer::start_with(TempDir::new().unwrap(), config(), clock.clone()).await;
    let token = server.token("alice", false, "laptop").await;
    let reader = server.token("alice", false, "dashboard").await;
    server.put(&token, &active("open", T0, 0)).await;
    let dir = server.stop().await;
    // Back after a two-hour outage: every device looks silent, yet nothing
    // is closed until the server has run for the stale time itself.
    clock.set(UnixMillis(T0.0 + 120 * MINUTE));
    let server = TestServer::start_with(dir, config(), clock.clone()).await;
    assert_eq!(close_stale_now(&server.state).await.unwrap(), 0);
    clock.set(UnixMillis(T0.0 + 139 * MINUTE));
    assert_eq!(close_stale_now(&server.state).await.unwrap(), 0);
    assert_eq!(find(&server, &reader, "open").await["state"], "active");
    // The device never came back: twenty minutes after the start it is dead.
    clock.set(UnixMillis(T0.0 + 141 * MINUTE));
    assert_eq!(close_stale_now(&server.state).await.unwrap(), 1);
    assert_eq!(
        find(&server, &reader, "open").await["closed_by_server"],
        true
    );
}
