//! The change feed: `GET /api/v1/changes` in commit order with `seq`, and
//! event streams that resume with `Last-Event-ID` without missing a change.

use crate::harness::*;
use serde_json::{Value, json};

async fn feed(server: &TestServer, token: &str, query: &str) -> Value {
    let res = server.get(token, &format!("/api/v1/changes?{query}")).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn ids_and_seqs(page: &Value) -> Vec<(String, i64)> {
    page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["local_id"].as_str().unwrap().to_owned(),
                c["seq"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_feed_lists_every_change_in_commit_order_scoped_like_sessions() {
    let server = TestServer::start().await;
    let alice = server.token("alice", false, "laptop").await;
    let bob = server.token("bob", false, "phone").await;
    let admin = server.token("root", true, "console").await;
    let now = server.now();
    server.put(&alice, &active("a", now, 30)).await;
    server.put(&alice, &ended("b", now)).await;
    server.put(&bob, &ended("c", now)).await;
    // A later change to `a` moves it to the end of the feed.
    let mut a = active("a", now, 10);
    a["active_seconds"] = json!(70);
    server.put(&alice, &a).await;
    // A duplicate changes nothing, so it is no change.
    server.put(&alice, &ended("b", now)).await;
    let page = feed(&server, &alice, "after=0").await;
    assert_eq!(ids_and_seqs(&page), vec![("b".into(), 2), ("a".into(), 4)]);
    assert_eq!(page["next"], 4);
    assert_eq!(page["changes"][1]["active_seconds"], 70);
    // Following from `next` gives nothing new, and `next` stays.
    let page = feed(&server, &alice, "after=4").await;
    assert_eq!(ids_and_seqs(&page), vec![]);
    assert_eq!(page["next"], 4);
    // Pages.
    let page = feed(&server, &alice, "after=0&limit=1").await;
    assert_eq!(ids_and_seqs(&page), vec![("b".into(), 2)]);
    // Bob sees his own only; an admin may ask for everyone's.
    assert_eq!(
        ids_and_seqs(&feed(&server, &bob, "").await),
        vec![("c".into(), 3)]
    );
    assert_eq!(
        ids_and_seqs(&feed(&server, &admin, "user=*").await),
        vec![("b".into(), 2), ("c".into(), 3), ("a".into(), 4)]
    );
    let res = server.get(&bob, "/api/v1/changes?user=*").await;
    assert_eq!(error_of(res).await.0, 403);
    for (query, field) in [
        ("after=-1", "after"),
        ("after=x", "after"),
        ("limit=0", "limit"),
        ("limit=5000", "limit"),
    ] {
        let res = server
            .get(&alice, &format!("/api/v1/changes?{query}"))
            .await;
        assert_eq!(
            error_of(res).await,
            (400, "invalid_field".into(), Some(field.into())),
            "{query}"
        );
    }
}

#[tokio::test]
async fn a_stream_resumed_with_last_event_id_misses_nothing() {
    let server = TestServer::start().await;
    let alice = server.token("alice", false, "laptop").await;
    let bob = server.token("bob", false, "phone").await;
    let now = server.now();
    server.put(&bob, &ended("before", now)).await;
    // A fresh stream starts with the latest change's id, even one it may
    // not see (bob's): a point to resume from before any session arrives.
    let mut stream = Stream::open(&server, &alice).await;
    let (ready, data) = stream.next_kind("ready", 5).await.expect("a ready event");
    assert_eq!(ready, Some(1));
    assert_eq!(data, json!({ "seq": 1 }));
    server.put(&alice, &ended("first", now)).await;
    let (id, event) = stream.next_event(5).await.expect("an event");
    assert_eq!(event["local_id"], "first");
    let id = id.expect("events carry an id");
    assert_eq!(Some(id), event["seq"].as_i64());
    // The dashboard loses its connection; changes go on meanwhile.
    drop(stream);
    server.put(&alice, &ended("second", now)).await;
    server.put(&bob, &ended("bobs", now)).await;
    server
        .batch(&alice, &[ended("third", now), ended("fourth", now)])
        .await;
    // Back with the id of the last event it saw: first what it missed, in
    // order, then live changes.
    let mut stream = Stream::open_after(&server, &alice, Some(id)).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (id, event) = stream.next_event(5).await.expect("a missed change");
        assert_eq!(id, event["seq"].as_i64());
        seen.push(event["local_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, ["second", "third", "fourth"]);
    server.put(&alice, &ended("fifth", now)).await;
    let (_, live) = stream.next_event(5).await.expect("a live change");
    assert_eq!(live["local_id"], "fifth");
    // A Last-Event-ID this server never sent is refused, naming the header.
    let res = server
        .client
        .get(server.url("/api/v1/events"))
        .bearer_auth(&alice)
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(res).await,
        (400, "invalid_field".into(), Some("Last-Event-ID".into()))
    );
}
