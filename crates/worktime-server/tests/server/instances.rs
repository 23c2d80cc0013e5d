//! Several server instances on one PostgreSQL database (built with the
//! `pg-tests` feature; `WORKTIME_TEST_PG` must name the cluster): a write
//! through one reaches another's event stream at once, revocations end
//! streams everywhere, one closer sweeps at a time, the feed never skips a
//! change under concurrent writers, and `migrate-db` moves an SQLite file over.

use crate::harness::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use worktime_protocol::{Session, UnixMillis, merge};
use worktime_server::ServerConfig;
use worktime_server::clock::Clock as _;
use worktime_server::clock::SystemClock;
use worktime_server::store::{PgStore, Store};

fn cluster() -> String {
    postgres().expect("the pg-tests need WORKTIME_TEST_PG (./build.sh test starts a cluster)")
}

/// Two instances, A and B, on one fresh database.
async fn two_instances(config: ServerConfig) -> (TestServer, TestServer) {
    let _ = cluster();
    let a = TestServer::start_with(
        TempDir::new().unwrap(),
        config.clone(),
        Arc::new(SystemClock),
    )
    .await;
    let url = std::fs::read_to_string(a.dir_path().join("pg-url")).unwrap();
    let store = worktime_server::store::open(&url, SystemClock.now(), 64)
        .await
        .unwrap();
    let b = TestServer::serve_store(
        TempDir::new().unwrap(),
        store,
        config,
        Arc::new(SystemClock),
    )
    .await;
    (a, b)
}

#[tokio::test]
async fn a_write_through_one_instance_reaches_the_other_ones_stream_within_a_second() {
    let (a, b) = two_instances(config()).await;
    let token = a.token("alice", false, "laptop").await;
    let mut stream = Stream::open(&b, &token).await;
    stream
        .next_kind("ready", 5)
        .await
        .expect("the stream is ready");
    let started = Instant::now();
    assert_eq!(a.put(&token, &ended("via-a", a.now())).await.status(), 200);
    let (id, event) = stream
        .next_event(1)
        .await
        .expect("B's stream hears of A's write within 1 s");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(event["local_id"], "via-a");
    assert_eq!(id, event["seq"].as_i64());
    // And the other way round, through the batch endpoint.
    let mut on_a = Stream::open(&a, &token).await;
    on_a.next_kind("ready", 5).await.unwrap();
    b.batch(&token, &[ended("via-b", b.now())]).await;
    let event = on_a.next_session(1).await.expect("A hears of B's write");
    assert_eq!(event["local_id"], "via-b");
}

#[tokio::test]
async fn a_revocation_through_one_instance_ends_streams_and_requests_on_every_instance() {
    // The periodic token re-check is far away: only the notification can do it.
    let (a, b) = two_instances(ServerConfig {
        token_recheck: Duration::from_secs(3600),
        ..config()
    })
    .await;
    let token = a.token("alice", false, "laptop").await;
    let other = a.token("alice", false, "desktop").await;
    let mut stream = Stream::open(&b, &token).await;
    stream.next_kind("ready", 5).await.unwrap();
    let me: Value = a.get(&token, "/api/v1/me").await.json().await.unwrap();
    let id = me["device_id"].as_i64().unwrap();
    let res = a
        .client
        .delete(a.url(&format!("/api/v1/devices/{id}")))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert!(
        stream.ends_within(1).await,
        "B ends the revoked token's stream at once"
    );
    assert_eq!(b.get(&token, "/api/v1/me").await.status(), 401);
    assert_eq!(b.get(&other, "/api/v1/me").await.status(), 200);
}

#[tokio::test]
async fn the_closer_sweeps_on_one_instance_at_a_time() {
    let (a, b) = two_instances(config()).await;
    let token = a.token("alice", false, "laptop").await;
    let now = a.now();
    let sessions: Vec<Value> = (0..20).map(|i| active(&format!("s{i}"), now, 60)).collect();
    a.batch(&token, &sessions).await;
    // Everything is silent from a minute in the future on.
    let later = UnixMillis(now.0 + 60_000);
    // An operator (here: the test) holding the closer's lock pauses every sweep.
    let mut holder = sqlx::PgConnection::connect_with(&url_options(&a))
        .await
        .unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(worktime_server::store::postgres::CLOSER_LOCK)
        .execute(&mut holder)
        .await
        .unwrap();
    assert!(
        a.state
            .store
            .close_stale(later, later)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        b.state
            .store
            .close_stale(later, later)
            .await
            .unwrap()
            .is_empty()
    );
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(worktime_server::store::postgres::CLOSER_LOCK)
        .execute(&mut holder)
        .await
        .unwrap();
    // Both sweep at once: every session is closed exactly once, by one of them.
    let (on_a, on_b) = tokio::join!(
        a.state.store.close_stale(later, later),
        b.state.store.close_stale(later, later)
    );
    let (on_a, on_b) = (on_a.unwrap(), on_b.unwrap());
    assert_eq!(
        on_a.len() + on_b.len(),
        20,
        "{} + {}",
        on_a.len(),
        on_b.len()
    );
    let stored = a.all_sessions(&token, "").await;
    assert!(stored.iter().all(|s| s["closed_by_server"] == true));
}

fn url_options(server: &TestServer) -> sqlx::postgres::PgConnectOptions {
    use std::str::FromStr;
    let url = std::fs::read_to_string(server.dir_path().join("pg-url")).unwrap();
    sqlx::postgres::PgConnectOptions::from_str(&url).unwrap()
}

use sqlx::Connection as _;

#[tokio::test]
async fn under_concurrent_writers_on_two_instances_the_feed_skips_nothing_and_every_row_ends_at_its_highest_version()
 {
    let (a, b) = two_instances(ServerConfig {
        writes_per_device: 64,
        ..config()
    })
    .await;
    let admin = a.token("root", true, "console").await;
    let tokens = [
        a.token("alice", false, "laptop").await,
        a.token("alice", false, "desktop").await,
    ];
    let now = a.now();
    // 60 batches of 20 versions over 50 ids, in a scrambled order, half
    // through each instance and each device.
    let mut batches = Vec::new();
    for n in 0..60u64 {
        let mut items = Vec::new();
        for k in 0..20u64 {
            let id = (n * 11 + k * 7) % 50;
            let age = 100 + ((n * 37 + k * 53) % 400) as i64;
            let mut v = if (n * 3 + k) % 4 == 0 {
                let mut e = ended(&format!("r{id}"), now);
                e["updated_at"] = json!(ts(ago(now, age)));
                e["ended_at"] = json!(ts(ago(now, age)));
                e
            } else {
                active(&format!("r{id}"), now, age)
            };
            v["active_seconds"] = json!((n + k) % 40);
            items.push(v);
        }
        batches.push(items);
    }
    let mut expected: HashMap<String, Session> = HashMap::new();
    for v in batches.iter().flatten() {
        let s: Session = serde_json::from_value(v.clone()).unwrap();
        let merged = match expected.get(s.local_id.as_str()) {
            Some(old) => merge::merge(old, &s).unwrap(),
            None => s.clone(),
        };
        expected.insert(s.local_id.to_string(), merged);
    }
    // A follower reads the feed from `next` to `next` while the writers run.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let follower = {
        let (client, url, admin, done) = (
            b.client.clone(),
            b.url("/api/v1/changes?user=*&limit=7"),
            admin.clone(),
            Arc::clone(&done),
        );
        tokio::spawn(async move {
            let mut after = 0i64;
            let mut seen: HashMap<String, i64> = HashMap::new();
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let page: Value = client
                    .get(format!("{url}&after={after}"))
                    .bearer_auth(&admin)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let changes = page["changes"].as_array().unwrap();
                for c in changes {
                    let seq = c["seq"].as_i64().unwrap();
                    assert!(seq > after, "the feed goes forward: {seq} after {after}");
                    after = seq;
                    seen.insert(c["local_id"].as_str().unwrap().to_owned(), seq);
                }
                if finished && changes.is_empty() {
                    return seen;
                }
            }
        })
    };
    let writers: Vec<_> = batches
        .into_iter()
        .enumerate()
        .map(|(n, items)| {
            let server = if n % 2 == 0 { &a } else { &b };
            let (client, url, token) = (
                server.client.clone(),
                server.url("/api/v1/sessions/batch"),
                tokens[(n / 2) % 2].clone(),
            );
            tokio::spawn(async move {
                let res = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({ "sessions": items }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = follower.await.unwrap();
    let stored = a.all_sessions(&tokens[0], "").await;
    assert_eq!(stored.len(), expected.len());
    for view in &stored {
        let s: Session = serde_json::from_value(contract(view)).unwrap();
        assert_eq!(
            Some(&s),
            expected.get(s.local_id.as_str()),
            "{}",
            s.local_id
        );
        // The follower saw every row at its final number: no change slipped
        // in behind its position.
        assert_eq!(
            seen.get(s.local_id.as_str()),
            view["seq"].as_i64().as_ref(),
            "{}",
            s.local_id
        );
    }
}

/// Follows the feed from `next` to `next` (as an admin, every user's) on
/// `server` until `done` is set and a page comes back empty; returns the
/// `(local_id, seq)` of every change seen, checking that numbers only rise.
fn follow_feed(
    server: &TestServer,
    admin: &str,
    limit: u32,
    done: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(String, i64)>> {
    let (client, url, admin) = (
        server.client.clone(),
        server.url(&format!("/api/v1/changes?user=*&limit={limit}")),
        admin.to_owned(),
    );
    tokio::spawn(async move {
        let mut after = 0i64;
        let mut seen = Vec::new();
        loop {
            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
            let page: Value = client
                .get(format!("{url}&after={after}"))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let changes = page["changes"].as_array().unwrap();
            for c in changes {
                let seq = c["seq"].as_i64().unwrap();
                assert!(seq > after, "the feed goes forward: {seq} after {after}");
                after = seq;
                seen.push((c["local_id"].as_str().unwrap().to_owned(), seq));
            }
            if finished && changes.is_empty() {
                return seen;
            }
        }
    })
}

#[tokio::test]
async fn a_follower_sees_every_new_session_written_concurrently_through_two_instances() {
    // 60 per instance: within each one's writer queue of 64.
    const WRITERS: usize = 120;
    // Every change here is a new session, so each is its row's last: a
    // change that committed behind the follower's position would be
    // missing from what it saw for good.
    let (a, b) = two_instances(ServerConfig {
        writes_per_device: 64,
        ..config()
    })
    .await;
    let admin = a.token("root", true, "console").await;
    let tokens = [
        a.token("alice", false, "laptop").await,
        a.token("bob", false, "desktop").await,
    ];
    let now = a.now();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Several followers on both instances, reading small pages, so some
    // read while later-numbered transactions commit.
    let followers: Vec<_> = (0..6)
        .map(|f| {
            follow_feed(
                if f % 2 == 0 { &a } else { &b },
                &admin,
                2 + f,
                Arc::clone(&done),
            )
        })
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|n| {
            let server = if n % 2 == 0 { &a } else { &b };
            let (client, url, token) = (
                server.client.clone(),
                server.url("/api/v1/sessions/batch"),
                tokens[(n / 2) % 2].clone(),
            );
            let items: Vec<Value> = (0..(1 + n % 4))
                .map(|k| ended(&format!("n{n}-{k}"), now))
                .collect();
            tokio::spawn(async move {
                let res = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({ "sessions": items }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let stored: usize = (0..WRITERS).map(|n| 1 + n % 4).sum();
    for follower in followers {
        let seen = follower.await.unwrap();
        let ids: std::collections::HashSet<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            seen.len(),
            stored,
            "each new session is one change, seen once"
        );
        assert_eq!(ids.len(), stored, "no change was skipped");
    }
}

#[tokio::test]
async fn a_transaction_held_up_mid_merge_is_numbered_after_what_committed_meanwhile() {
    let (a, b) = two_instances(config()).await;
    let admin = a.token("root", true, "console").await;
    let token = a.token("alice", false, "laptop").await;
    let now = a.now();
    let x: Value = a
        .put(&token, &active("x", now, 60))
        .await
        .json()
        .await
        .unwrap();
    let start = x["seq"].as_i64().unwrap();
    // Another client holds x's row: a batch touching x stops inside its merge.
    let mut holder = sqlx::PgConnection::connect_with(&url_options(&a))
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT 1 FROM sessions WHERE local_id = 'x' FOR UPDATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let held = {
        let (client, url, token) = (
            a.client.clone(),
            a.url("/api/v1/sessions/batch"),
            token.clone(),
        );
        let items = vec![ended("x", now), ended("y", now)];
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "sessions": items }))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let watcher = sqlx::PgPool::connect_with(url_options(&a)).await.unwrap();
    eventually(10, "the batch to wait for x's row lock", || {
        let watcher = watcher.clone();
        async move {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity                  WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&watcher)
            .await
            .unwrap();
            waiting == 1
        }
    })
    .await;
    // Meanwhile a change through the other instance commits, and a follower
    // reads the feed up to it.
    let z: Value = b.put(&token, &ended("z", now)).await.json().await.unwrap();
    let page: Value = b
        .get(&admin, &format!("/api/v1/changes?user=*&after={start}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["changes"].as_array().unwrap().len(), 1);
    assert_eq!(page["changes"][0]["local_id"], "z");
    let position = page["next"].as_i64().unwrap();
    assert_eq!(Some(position), z["seq"].as_i64());
    // The held-up batch commits last, so its changes come after that position.
    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
    assert_eq!(held.await.unwrap(), 200);
    let page: Value = b
        .get(&admin, &format!("/api/v1/changes?user=*&after={position}"))
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["local_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["x", "y"],
        "the late commit is not behind the follower"
    );
}

/// Runs the binary with `args`.
fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_worktime-server"))
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn migrate_db_moves_an_sqlite_database_onto_postgresql() {
    let admin = cluster();
    // An SQLite database with users, a revoked and a live token, sessions
    // and a server close, written by the real server.
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("old.db");
    let store = worktime_server::store::SqliteStore::open(&file, SystemClock.now()).unwrap();
    let server = TestServer::serve_store(
        TempDir::new().unwrap(),
        Arc::new(store),
        config(),
        Arc::new(SystemClock),
    )
    .await;
    let token = server.token("alice", false, "laptop").await;
    let old = server.token("alice", false, "old").await;
    let admin_token = server.token("root", true, "console").await;
    let now = server.now();
    let items: Vec<Value> = (0..30).map(|i| ended(&format!("m{i}"), now)).collect();
    server.batch(&token, &items).await;
    server.put(&token, &active("open", now, 5)).await;
    let later = UnixMillis(now.0 + 3_600_000);
    server.state.store.close_stale(later, later).await.unwrap();
    let me: Value = server.get(&old, "/api/v1/me").await.json().await.unwrap();
    server
        .client
        .delete(server.url(&format!("/api/v1/devices/{}", me["device_id"])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let before = server.all_sessions(&token, "").await;
    let feed_before: Value = server
        .get(&admin_token, "/api/v1/changes?user=*&limit=500")
        .await
        .json()
        .await
        .unwrap();
    drop(server.stop().await);

    // Bad input is refused with a clear message and changes nothing.
    let target = fresh_pg_database(&admin);
    let out = cli(&[
        "migrate-db",
        "--from",
        file.to_str().unwrap(),
        "--to",
        "/tmp/not-a-url.db",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("postgres://"));
    let missing = dir.path().join("missing.db");
    let out = cli(&[
        "migrate-db",
        "--from",
        missing.to_str().unwrap(),
        "--to",
        &target,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an existing SQLite file"));
    assert!(!missing.exists());

    let out = cli(&[
        "migrate-db",
        "--from",
        file.to_str().unwrap(),
        "--to",
        &target,
    ]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("2 users, 3 device tokens and 31 sessions"),
        "{said}"
    );
    // Copying again is refused: the target is no longer empty.
    let again = cli(&[
        "migrate-db",
        "--from",
        file.to_str().unwrap(),
        "--to",
        &target,
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("empty"));

    // The server on PostgreSQL: the same sessions, tokens and feed.
    let store = PgStore::open(&target, SystemClock.now(), 64).await.unwrap();
    let server = TestServer::serve_store(
        TempDir::new().unwrap(),
        Arc::new(store),
        config(),
        Arc::new(SystemClock),
    )
    .await;
    assert_eq!(server.all_sessions(&token, "").await, before);
    assert_eq!(server.get(&old, "/api/v1/me").await.status(), 401);
    let feed_after: Value = server
        .get(&admin_token, "/api/v1/changes?user=*&limit=500")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(feed_after, feed_before);
    // New rows continue after the copied ids and numbers.
    let res = server.put(&token, &ended("new", server.now())).await;
    let stored: Value = res.json().await.unwrap();
    assert_eq!(
        stored["seq"].as_i64(),
        Some(feed_before["next"].as_i64().unwrap() + 1)
    );
    let fresh = server.token("carol", false, "tablet").await;
    assert_eq!(server.get(&fresh, "/api/v1/me").await.status(), 200);
}

#[tokio::test]
async fn sslmode_require_connects_encrypted() {
    // ./build.sh's cluster has TLS on (a throwaway self-signed certificate).
    let url = fresh_pg_database(&cluster());
    let url = format!("{url}?sslmode=require");
    let store = PgStore::open(&url, SystemClock.now(), 4).await.unwrap();
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert!(encrypted);
    // And the store works over it.
    let user = store
        .add_user("alice", false, SystemClock.now())
        .await
        .unwrap();
    assert_eq!(store.find_user("alice").await.unwrap(), Some(user));
}
