//! `GET /api/v1/totals`: per day (with time zones), per repository and per
//! pull request, and its parameter errors.

use crate::harness::*;
use serde_json::{Value, json};
use worktime_protocol::UnixMillis;
use worktime_protocol::time::rfc3339;

fn at(text: &str) -> UnixMillis {
    rfc3339::parse(text).unwrap()
}

/// An ended session starting at `start` lasting `secs`, on `owner/repo#pr`.
fn review(id: &str, start: &str, secs: i64, repo: &str, pr: u64) -> Value {
    let (owner, name) = repo.split_once('/').unwrap();
    let end = ts(UnixMillis(at(start).0 + secs * 1000));
    json!({
        "local_id": id, "repo_owner": owner, "repo_name": name, "pr_number": pr,
        "started_at": start, "ended_at": end, "active_seconds": secs,
        "state": "ended", "updated_at": end,
    })
}

fn rows(body: &Value) -> Vec<(String, i64, i64)> {
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_owned(),
                r["seconds"].as_i64().unwrap(),
                r["sessions"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn row(key: &str, seconds: i64, sessions: i64) -> (String, i64, i64) {
    (key.to_owned(), seconds, sessions)
}

async fn seeded() -> (TestServer, String) {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    let items = vec![
        review("a", "2026-11-01T23:30:00Z", 100, "octo/hello", 1),
        review("b", "2026-11-02T08:00:00Z", 200, "octo/hello", 2),
        review("c", "2026-11-02T09:00:00Z", 50, "octo/world", 3),
        review("d", "2026-11-04T12:00:00Z", 400, "acme/tool", 12),
    ];
    let res: Value = server.batch(&token, &items).await.json().await.unwrap();
    assert!(
        res["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "ok")
    );
    (server, token)
}

#[tokio::test]
async fn day_totals_cover_every_day_of_the_range_oldest_first() {
    let (server, token) = seeded().await;
    let body: Value = server
        .get(
            &token,
            "/api/v1/totals?group=day&from=2026-11-01&to=2026-11-05",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["group"], "day");
    assert_eq!(
        rows(&body),
        [
            row("2026-11-01", 100, 1),
            row("2026-11-02", 250, 2),
            row("2026-11-03", 0, 0),
            row("2026-11-04", 400, 1),
            row("2026-11-05", 0, 0),
        ]
    );
}

#[tokio::test]
async fn day_boundaries_follow_the_time_zone_offset() {
    let (server, token) = seeded().await;
    // At UTC+01:00, 23:30Z on the 1st is 00:30 on the 2nd.
    let body: Value = server
        .get(
            &token,
            "/api/v1/totals?group=day&from=2026-11-01&to=2026-11-02&tz_offset_minutes=60",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["from"], "2026-10-31T23:00:00.000Z");
    assert_eq!(
        rows(&body),
        [row("2026-11-01", 0, 0), row("2026-11-02", 350, 3)]
    );
}

#[tokio::test]
async fn repo_and_pr_totals_rank_by_seconds_and_filter_by_repo() {
    let (server, token) = seeded().await;
    let range = "from=2026-11-01T00:00:00Z&to=2026-11-10T00:00:00Z";
    let body: Value = server
        .get(&token, &format!("/api/v1/totals?group=repo&{range}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        rows(&body),
        [
            row("acme/tool", 400, 1),
            row("octo/hello", 300, 2),
            row("octo/world", 50, 1)
        ]
    );
    let body: Value = server
        .get(
            &token,
            &format!("/api/v1/totals?group=pr&{range}&repo=octo/hello"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        rows(&body),
        [row("octo/hello#2", 200, 1), row("octo/hello#1", 100, 1)]
    );
}

#[tokio::test]
async fn repo_totals_keep_the_top_ten() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    let items: Vec<Value> = (0..12)
        .map(|i| {
            review(
                &format!("r{i}"),
                "2026-11-03T10:00:00Z",
                10 + i,
                &format!("o/r{i}"),
                1,
            )
        })
        .collect();
    server.batch(&token, &items).await;
    let body: Value = server
        .get(
            &token,
            "/api/v1/totals?group=repo&from=2026-11-01&to=2026-11-30",
        )
        .await
        .json()
        .await
        .unwrap();
    let got = rows(&body);
    assert_eq!(got.len(), 10);
    assert_eq!(got[0], row("o/r11", 21, 1));
    assert_eq!(got[9], row("o/r2", 12, 1));
}

#[tokio::test]
async fn totals_default_to_the_last_seven_days() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    server.put(&token, &ended("today", server.now())).await;
    let body: Value = server
        .get(&token, "/api/v1/totals")
        .await
        .json()
        .await
        .unwrap();
    let got = rows(&body);
    assert_eq!(got.len(), 7);
    assert_eq!(got.iter().map(|r| r.1).sum::<i64>(), 240);
}

#[tokio::test]
async fn bad_totals_parameters_are_refused_naming_them() {
    let (server, token) = seeded().await;
    for (query, field) in [
        ("group=week", "group"),
        ("tz_offset_minutes=900", "tz_offset_minutes"),
        ("tz_offset_minutes=east", "tz_offset_minutes"),
        ("from=2026-11-05&to=2026-11-01", "to"),
        ("from=2020-01-01&to=2026-11-01", "from"),
        ("from=someday", "from"),
        ("repo=octo", "repo"),
        ("tz=Mars/Olympus", "tz"),
        ("tz=Europe/Berlin&tz_offset_minutes=60", "tz"),
    ] {
        let res = server.get(&token, &format!("/api/v1/totals?{query}")).await;
        assert_eq!(
            error_of(res).await,
            (400, "invalid_field".into(), Some(field.into())),
            "{query}"
        );
    }
}

#[tokio::test]
async fn berlin_days_are_right_across_the_daylight_saving_change() {
    let server = TestServer::start().await;
    let token = server.token("alice", false, "laptop").await;
    // 00:30 local on both days: CET (+1) on the 29th, CEST (+2) on the 30th.
    let items = vec![
        review("winter", "2026-03-28T23:30:00Z", 100, "octo/hello", 1),
        review("summer", "2026-03-29T22:30:00Z", 200, "octo/hello", 1),
    ];
    server.batch(&token, &items).await;
    let path = "/api/v1/totals?group=day&from=2026-03-29&to=2026-03-30&tz=Europe/Berlin";
    let body: Value = server.get(&token, path).await.json().await.unwrap();
    assert_eq!(body["tz"], "Europe/Berlin");
    assert_eq!(body["from"], "2026-03-28T23:00:00.000Z");
    assert_eq!(body["to"], "2026-03-30T22:00:00.000Z");
    assert_eq!(
        rows(&body),
        vec![row("2026-03-29", 100, 1), row("2026-03-30", 200, 1)]
    );
    // A fixed +1 h offset gets the summer day wrong: that is what tz= fixes.
    let fixed = "/api/v1/totals?group=day&from=2026-03-29&to=2026-03-30&tz_offset_minutes=60";
    let body: Value = server.get(&token, fixed).await.json().await.unwrap();
    assert_eq!(
        rows(&body),
        vec![row("2026-03-29", 300, 2), row("2026-03-30", 0, 0)]
    );
}

#[tokio::test]
async fn owner_and_repo_differing_in_case_from_two_clients_are_one_pr() {
    let server = TestServer::start().await;
    let laptop = server.token("alice", false, "laptop").await;
    let desktop = server.token("bob", false, "desktop").await;
    let admin = server.token("root", true, "console").await;
    server
        .batch(
            &laptop,
            &[review(
                "x1",
                "2026-11-02T08:00:00Z",
                100,
                "Octo-Org/Widget",
                8,
            )],
        )
        .await;
    server
        .batch(
            &desktop,
            &[review(
                "x2",
                "2026-11-02T09:00:00Z",
                50,
                "octo-org/widget",
                8,
            )],
        )
        .await;
    let range = "from=2026-11-01&to=2026-11-03&user=*";
    let prs: Value = server
        .get(&admin, &format!("/api/v1/totals?group=pr&{range}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rows(&prs), vec![row("octo-org/widget#8", 150, 2)]);
    // Stored folded; filters match in any case.
    let stored = server.all_sessions(&laptop, "&repo=OCTO-ORG/widget").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (
            stored[0]["repo_owner"].as_str(),
            stored[0]["repo_name"].as_str()
        ),
        (Some("octo-org"), Some("widget"))
    );
    // The same session sent again in another case is the same PR, not a conflict.
    let again = review("x1", "2026-11-02T08:00:00Z", 100, "OCTO-ORG/WIDGET", 8);
    assert_eq!(server.put(&laptop, &again).await.status(), 200);
}
