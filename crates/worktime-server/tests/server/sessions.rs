//! Session writes and reads: validation, idempotency, concurrency, paging
//! and filters.

use crate::harness::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use worktime_protocol::{Session, UnixMillis, merge};
use worktime_server::ServerConfig;

#[tokio::test]
async fn put_stores_a_session_and_get_returns_it_with_server_fields() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    let s = ended("s1", server.now());
    let res = server.put(&token, &s).await;
    assert_eq!(res.status(), 200);
    let stored: Value = res.json().await.unwrap();
    assert_eq!(contract(&stored), s);
    assert_eq!(stored["user"], "alice");
    assert_eq!(stored["device"], "laptop");
    assert_eq!(stored["closed_by_server"], false);
    assert!(stored["received_at"].is_string());
    let all = server.all_sessions(&token, "").await;
    assert_eq!(all, vec![stored]);
}

#[tokio::test]
async fn invalid_sessions_are_refused_naming_the_field_and_change_nothing() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    let now = server.now();
    let future = ts(UnixMillis(now.0 + 6 * 60 * 1000));
    let cases: Vec<(&str, Value)> = vec![
        ("repo_owner", json!({"repo_owner": "bad owner"})),
        ("repo_owner", json!({"repo_owner": "-octo"})),
        ("repo_name", json!({"repo_name": ".."})),
        ("repo_name", json!({"repo_name": "a/b"})),
        ("pr_number", json!({"pr_number": 0})),
        ("pr_number", json!({"pr_number": -3})),
        ("active_seconds", json!({"active_seconds": 86_401})),
        ("active_seconds", json!({"active_seconds": 306})),
        ("active_seconds", json!({"active_seconds": -1})),
        ("updated_at", json!({"updated_at": future})),
        (
            "ended_at",
            json!({"ended_at": future, "updated_at": future}),
        ),
        ("state", json!({"state": "paused"})),
        ("ended_at", json!({"ended_at": null})),
        ("started_at", json!({"started_at": "yesterday"})),
    ];
    for (field, patch) in cases {
        let mut s = ended("bad", now);
        for (k, v) in patch.as_object().unwrap() {
            s[k] = v.clone();
        }
        let (status, code, got) = error_of(server.put(&token, &s).await).await;
        assert_eq!(
            (status, code.as_str(), got.as_deref()),
            (400, "invalid_field", Some(field)),
            "{patch}"
        );
        // The same item in a batch is a per-item rejection naming the field.
        let res: Value = server.batch(&token, &[s]).await.json().await.unwrap();
        assert_eq!(res["results"][0]["status"], "rejected", "{patch}");
        assert_eq!(res["results"][0]["local_id"], "bad");
        assert_eq!(res["results"][0]["error"]["field"], field, "{patch}");
    }
    assert!(server.all_sessions(&token, "").await.is_empty());
}

#[tokio::test]
async fn malformed_bodies_and_limits_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    let now = server.now();
    let send = |path: &str, body: Vec<u8>, content_type: &str| {
        server
            .client
            .request(
                if path.ends_with("batch") {
                    reqwest::Method::POST
                } else {
                    reqwest::Method::PUT
                },
                server.url(path),
            )
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let res = send(
        "/api/v1/sessions/s1",
        b"{not json".to_vec(),
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(error_of(res).await, (400, "malformed_json".into(), None));
    let res = send(
        "/api/v1/sessions/batch",
        b"[1,2]".to_vec(),
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(error_of(res).await.1, "invalid_field");
    let body = serde_json::to_vec(&ended("s1", now)).unwrap();
    let res = send("/api/v1/sessions/s1", body, "text/plain")
        .await
        .unwrap();
    assert_eq!(error_of(res).await.0, 415);
    // Body over 1 MiB.
    let huge = format!("{{\"sessions\": [{}]}}", " ".repeat(1 << 20));
    let res = send(
        "/api/v1/sessions/batch",
        huge.into_bytes(),
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(error_of(res).await, (413, "payload_too_large".into(), None));
    // Batch over 500 items (well under 1 MiB).
    let many: Vec<Value> = (0..501).map(|i| ended(&format!("m{i}"), now)).collect();
    let res = server.batch(&token, &many).await;
    assert_eq!(error_of(res).await, (413, "batch_too_large".into(), None));
    // Path id and body id must agree; path id must be valid.
    let res = server
        .client
        .put(server.url("/api/v1/sessions/other"))
        .bearer_auth(&token)
        .json(&ended("s1", now))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(res).await,
        (400, "invalid_field".into(), Some("local_id".into()))
    );
    let res = server
        .client
        .put(server.url("/api/v1/sessions/has.dot"))
        .bearer_auth(&token)
        .json(&ended("has.dot", now))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.2.as_deref(), Some("local_id"));
    assert!(server.all_sessions(&token, "").await.is_empty());
}

#[tokio::test]
async fn batch_answers_one_result_per_item_in_order() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    let now = server.now();
    server.put(&token, &ended("taken", now)).await;
    let mut other_pr = ended("taken", now);
    other_pr["pr_number"] = json!(8);
    let mut bad = ended("bad", now);
    bad["pr_number"] = json!(0);
    let items = vec![
        ended("a", now),
        bad,
        json!(42),
        other_pr,
        ended("b", now),
        ended("a", now),
    ];
    let res = server.batch(&token, &items).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let summary: Vec<(String, String, String)> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["local_id"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
                r["error"]["code"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expect = [
        ("a", "ok", ""),
        ("bad", "rejected", "invalid_field"),
        ("", "rejected", "invalid_field"),
        ("taken", "rejected", "conflict"),
        ("b", "ok", ""),
        ("a", "ok", ""),
    ];
    let expect: Vec<(String, String, String)> = expect
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(summary, expect);
    let ids: Vec<String> = server
        .all_sessions(&token, "")
        .await
        .iter()
        .map(|s| s["local_id"].as_str().unwrap().to_owned())
        .collect();
    let mut ids = ids;
    ids.sort();
    assert_eq!(ids, ["a", "b", "taken"]);
    // The conflicting PUT is a 422 and leaves the stored pull request alone.
    let mut other_pr = ended("taken", now);
    other_pr["pr_number"] = json!(8);
    assert_eq!(error_of(server.put(&token, &other_pr).await).await.0, 422);
    let taken = server.all_sessions(&token, "&repo=octo/hello").await;
    assert!(taken.iter().all(|s| s["pr_number"] == 7));
}

#[tokio::test]
async fn the_same_batch_twice_changes_nothing_the_second_time() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    let now = server.now();
    let items: Vec<Value> = (0..50).map(|i| ended(&format!("s{i}"), now)).collect();
    let first: Value = server.batch(&token, &items).await.json().await.unwrap();
    let after_first = server.all_sessions(&token, "").await;
    let second: Value = server.batch(&token, &items).await.json().await.unwrap();
    let after_second = server.all_sessions(&token, "").await;
    assert_eq!(first, second);
    assert_eq!(after_first.len(), 50);
    // Identical, down to the server's received_at: the replay wrote nothing.
    assert_eq!(after_first, after_second);
}

#[tokio::test]
async fn ended_never_reverts_and_the_later_update_wins() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    let now = server.now();
    let mut running = active("s", now, 400);
    server.put(&token, &running).await;
    let mut later = active("s", now, 350);
    later["active_seconds"] = json!(200);
    let stored: Value = server.put(&token, &later).await.json().await.unwrap();
    assert_eq!(stored["active_seconds"], 200);
    // An older version arriving late changes nothing.
    let stale: Value = server.put(&token, &running).await.json().await.unwrap();
    assert_eq!(stale["active_seconds"], 200);
    let done = ended("s", now);
    server.put(&token, &done).await;
    // A newer active version cannot reopen it.
    running["updated_at"] = json!(ts(ago(now, 10)));
    let after: Value = server.put(&token, &running).await.json().await.unwrap();
    assert_eq!(contract(&after), done);
}

#[tokio::test]
async fn a_hundred_concurrent_overlapping_batches_leave_exactly_the_merged_rows() {
    // Room for all hundred in the writer's queue: this is about merging, not
    // shedding (limits.rs shows a full queue answering 503).
    let server = TestServer::start_with_queue(
        tempfile::TempDir::new().unwrap(),
        ServerConfig {
            writes_per_device: 128,
            ..config()
        },
        128,
    )
    .await;
    let token = server.token("alice", false, "laptop").await;
    let now = server.now();
    // 100 batches of 40 versions over a pool of 120 ids: every id gets many
    // competing versions (active and ended, various update times).
    let mut batches = Vec::new();
    for b in 0..100u64 {
        let mut items = Vec::new();
        for k in 0..40u64 {
            let id = (b * 7 + k * 13) % 120;
            let age = 300 + ((b * 31 + k * 17) % 250) as i64;
            let mut v = if (b + k) % 3 == 0 {
                let mut e = ended(&format!("c{id}"), now);
                e["updated_at"] = json!(ts(ago(now, age)));
                e["ended_at"] = json!(ts(ago(now, age)));
                e
            } else {
                active(&format!("c{id}"), now, age)
            };
            v["active_seconds"] = json!((b + k) % 50);
            items.push(v);
        }
        batches.push(items);
    }
    let mut expected: HashMap<String, Session> = HashMap::new();
    for v in batches.iter().flatten() {
        let s: Session = serde_json::from_value(v.clone()).unwrap();
        let merged = match expected.get(s.local_id.as_str()) {
            Some(old) => merge(old, &s).unwrap(),
            None => s.clone(),
        };
        expected.insert(s.local_id.to_string(), merged);
    }
    let tasks: Vec<_> = batches
        .into_iter()
        .map(|items| {
            let client = server.client.clone();
            let url = server.url("/api/v1/sessions/batch");
            let token = token.clone();
            tokio::spawn(async move {
                let res = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({ "sessions": items }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
                let body: Value = res.json().await.unwrap();
                assert!(
                    body["results"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|r| r["status"] == "ok")
                );
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let stored = server.all_sessions(&token, "").await;
    assert_eq!(stored.len(), expected.len());
    for view in stored {
        let s: Session = serde_json::from_value(contract(&view)).unwrap();
        assert_eq!(
            Some(&s),
            expected.get(s.local_id.as_str()),
            "{}",
            s.local_id
        );
    }
}

#[tokio::test]
async fn pages_walk_newest_first_without_gaps_or_repeats() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    let now = server.now();
    // 25 sessions, some sharing a start time (ties break by row id).
    let items: Vec<Value> = (0..25)
        .map(|i| {
            let mut s = ended(&format!("p{i:02}"), now);
            s["started_at"] = json!(ts(ago(now, 600 + (i / 2) as i64)));
            s
        })
        .collect();
    server.batch(&token, &items).await;
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page: Value = server
            .get(&token, &format!("/api/v1/sessions?limit=7{cursor}"))
            .await
            .json()
            .await
            .unwrap();
        let sessions = page["sessions"].as_array().unwrap();
        assert!(sessions.len() <= 7);
        seen.extend(sessions.iter().cloned());
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    let starts: Vec<&str> = seen
        .iter()
        .map(|s| s["started_at"].as_str().unwrap())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(starts, sorted, "newest first");
    let mut ids: Vec<&str> = seen
        .iter()
        .map(|s| s["local_id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 25, "no repeats");
}

#[tokio::test]
async fn list_filters_by_state_since_range_and_repo() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    let now = server.now();
    let mut old = ended("old", now);
    old["started_at"] = json!(ts(ago(now, 3 * 86_400)));
    let mut other_repo = ended("other", now);
    other_repo["repo_name"] = json!("world");
    server
        .batch(
            &token,
            &[old, other_repo, ended("done", now), active("open", now, 30)],
        )
        .await;
    let ids = |v: Vec<Value>| {
        let mut ids: Vec<String> = v
            .iter()
            .map(|s| s["local_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(
        ids(server.all_sessions(&token, "&state=active").await),
        ["open"]
    );
    assert_eq!(
        ids(server
            .all_sessions(&token, "&state=ended&repo=octo/hello")
            .await),
        ["done", "old"]
    );
    let since = ts(ago(now, 60));
    assert_eq!(
        ids(server
            .all_sessions(&token, &format!("&since={since}"))
            .await),
        ["open"]
    );
    let from = ts(ago(now, 86_400));
    assert_eq!(
        ids(server.all_sessions(&token, &format!("&from={from}")).await),
        ["done", "open", "other"]
    );
    let to = ts(ago(now, 86_400));
    assert_eq!(
        ids(server.all_sessions(&token, &format!("&to={to}")).await),
        ["old"]
    );
}

#[tokio::test]
async fn bad_query_parameters_are_refused_naming_them() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("state=paused", "state"),
        ("cursor=nope", "cursor"),
        ("since=yesterday", "since"),
        ("from=soon", "from"),
        ("repo=nobody", "repo"),
    ] {
        let res = server
            .get(&token, &format!("/api/v1/sessions?{query}"))
            .await;
        assert_eq!(
            error_of(res).await,
            (400, "invalid_field".into(), Some(field.into())),
            "{query}"
        );
    }
}
