//! The server against slow, broken and hostile clients: header and body
//! timeouts, load shedding, the bounded writer queue, event stream caps and
//! the rate limit on requests without a valid token.

use crate::harness::*;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use worktime_server::ServerConfig;
use worktime_server::client_addr::TrustedProxies;
use worktime_server::clock::SystemClock;
use worktime_server::ratelimit::RateLimit;

async fn with(config: ServerConfig) -> TestServer {
    TestServer::start_with(TempDir::new().unwrap(), config, Arc::new(SystemClock)).await
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection (or `secs` pass: `None`).
async fn read_to_close(conn: &mut (impl AsyncRead + Unpin), secs: u64) -> Option<String> {
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&text).into_owned()),
            Ok(Ok(n)) => text.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    let server = with(ServerConfig {
        header_timeout: Duration::from_millis(300),
        ..config()
    })
    .await;
    let mut slow = connect(&server).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    assert!(
        read_to_close(&mut slow, 5).await.is_some(),
        "the server closes a connection whose headers never end"
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
    // Others are served meanwhile and after.
    let res = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn idle_connections_are_closed_too_before_and_between_requests() {
    let server = with(ServerConfig {
        header_timeout: Duration::from_millis(300),
        ..config()
    })
    .await;
    // Connects and never says a word.
    let mut silent = connect(&server).await;
    assert!(
        read_to_close(&mut silent, 5).await.is_some(),
        "a silent connection is closed"
    );
    // One request, then an idle keep-alive connection.
    let mut idle = connect(&server).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut idle, 5)
        .await
        .expect("an idle keep-alive connection is closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_trickled_body_is_cut_off_with_408() {
    let server = with(ServerConfig {
        body_timeout: Duration::from_millis(500),
        ..config()
    })
    .await;
    let token = server.token("alice", false, "laptop").await;
    let mut conn = connect(&server).await;
    let head = format!(
        "PUT /api/v1/sessions/slow HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n{{"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let (mut read, mut write) = conn.into_split();
    // One byte every 100 ms: each frame is quick, the whole body never is.
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if write.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let answer = read_to_close(&mut read, 5)
        .await
        .expect("the trickled request is cut off");
    trickle.abort();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");
    // Nothing was stored.
    assert!(server.all_sessions(&token, "").await.is_empty());
}

#[tokio::test]
async fn a_flood_of_bad_tokens_meets_429_while_valid_tokens_pass() {
    let server = with(ServerConfig {
        unauthenticated_rate_limit: Some(RateLimit {
            per_second: 1.0,
            burst: 5,
        }),
        ..config()
    })
    .await;
    let token = server.token("alice", false, "laptop").await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..30 {
        let res = server.get(&format!("wt_guess{i}"), "/api/v1/me").await;
        if res.status() == 429 {
            retry_after = res.headers().get("retry-after").cloned();
        }
        statuses.push(res.status().as_u16());
    }
    assert_eq!(&statuses[..5], &[401; 5]);
    assert!(statuses[6..].iter().all(|s| *s == 429), "{statuses:?}");
    assert!(retry_after.is_some(), "429 says when to retry");
    // A request without any token counts as well.
    let res = server
        .client
        .get(server.url("/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.1, "rate_limited");
    // A valid token from the same address is not held back.
    assert_eq!(server.get(&token, "/api/v1/me").await.status(), 200);
}

#[tokio::test]
async fn event_streams_beyond_the_caps_are_refused_while_other_requests_answer_promptly() {
    let server = with(ServerConfig {
        streams_per_token: 2,
        streams_total: 3,
        keep_alive: Duration::from_millis(50),
        ..config()
    })
    .await;
    let alice = server.token("alice", false, "laptop").await;
    let bob = server.token("bob", false, "phone").await;
    let first = Stream::open(&server, &alice).await;
    let _second = Stream::open(&server, &alice).await;
    let open = |token: String| {
        let server = &server;
        async move {
            server
                .client
                .get(server.url("/api/v1/events"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    let refused = open(alice.clone()).await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(error_of(refused).await.1, "too_many_streams");
    let _bobs = Stream::open(&server, &bob).await;
    let full = open(bob.clone()).await;
    assert_eq!(full.status(), 503);
    assert!(full.headers().contains_key("retry-after"));
    assert_eq!(error_of(full).await.1, "overloaded");
    // Everything else still answers, and quickly.
    for _ in 0..10 {
        let started = Instant::now();
        assert_eq!(server.get(&alice, "/api/v1/me").await.status(), 200);
        assert!(started.elapsed() < Duration::from_secs(1));
    }
    // A stream that goes away frees its slot.
    drop(first);
    eventually(5, "the closed stream's slot to be freed", || async {
        open(alice.clone()).await.status() == 200
    })
    .await;
}

#[tokio::test]
async fn requests_beyond_the_in_flight_limit_are_shed_with_503() {
    let server = with(ServerConfig {
        max_in_flight: 1,
        body_timeout: Duration::from_secs(3),
        ..config()
    })
    .await;
    let token = server.token("alice", false, "laptop").await;
    // One request holds the only place while its body trickles in.
    let mut holder = connect(&server).await;
    let head = format!(
        "PUT /api/v1/sessions/held HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    holder.write_all(head.as_bytes()).await.unwrap();
    eventually(5, "a second request to be shed", || async {
        let res = server.get(&token, "/api/v1/me").await;
        if res.status() != 503 {
            return false;
        }
        assert!(res.headers().contains_key("retry-after"));
        error_of(res).await.1 == "overloaded"
    })
    .await;
    // Health checks pass outside the limit.
    let res = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    drop(holder);
    eventually(5, "the place to be free again", || async {
        server.get(&token, "/api/v1/me").await.status() == 200
    })
    .await;
}

#[tokio::test]
async fn a_full_writer_queue_answers_503_and_loses_nothing_it_accepted() {
    let server = TestServer::start_with_queue(TempDir::new().unwrap(), config(), 1).await;
    let token = server.token("alice", false, "laptop").await;
    let now = server.now();
    let batches: Vec<Vec<Value>> = (0..24)
        .map(|b| (0..200).map(|i| ended(&format!("b{b}-{i}"), now)).collect())
        .collect();
    let answers = futures_util::future::join_all(batches.iter().map(|items| {
        let server = &server;
        let token = &token;
        async move {
            let res = server.batch(token, items).await;
            let status = res.status().as_u16();
            let retry = res.headers().contains_key("retry-after");
            let code = if status == 200 {
                String::new()
            } else {
                error_of(res).await.1
            };
            (status, retry, code)
        }
    }))
    .await;
    let shed = answers.iter().filter(|(s, _, _)| *s == 503).count();
    let ok = answers.iter().filter(|(s, _, _)| *s == 200).count();
    assert!(
        shed > 0,
        "a one-job queue sheds some of 24 concurrent batches"
    );
    assert_eq!(ok + shed, answers.len(), "{answers:?}");
    assert!(
        answers
            .iter()
            .filter(|(s, _, _)| *s == 503)
            .all(|(_, retry, code)| *retry && code == "overloaded")
    );
    assert_eq!(server.all_sessions(&token, "").await.len(), ok * 200);
}

/// Five requests with a bad token from "client" (as forwarded) and one more,
/// returning the statuses.
async fn bad_token_statuses(server: &TestServer, forwarded_for: &str) -> Vec<u16> {
    let mut statuses = Vec::new();
    for i in 0..4 {
        let res = server
            .client
            .get(server.url("/api/v1/me"))
            .bearer_auth(format!("wt_guess{i}"))
            .header("x-forwarded-for", forwarded_for)
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    let limit = Some(RateLimit {
        per_second: 0.01,
        burst: 3,
    });
    // Without --trusted-proxy the header is ignored: one bucket for the peer.
    let server = with(ServerConfig {
        unauthenticated_rate_limit: limit,
        ..config()
    })
    .await;
    assert_eq!(
        bad_token_statuses(&server, "198.51.100.1").await,
        [401, 401, 401, 429]
    );
    assert_eq!(
        bad_token_statuses(&server, "198.51.100.2").await,
        [429; 4],
        "a claimed address does not buy a fresh bucket"
    );

    // Behind a trusted proxy (the loopback peer), each forwarded client
    // has its own bucket, and a forged entry further left changes nothing.
    let server = with(ServerConfig {
        unauthenticated_rate_limit: limit,
        trusted_proxies: TrustedProxies::parse(&["127.0.0.0/8".into()]).unwrap(),
        ..config()
    })
    .await;
    assert_eq!(
        bad_token_statuses(&server, "198.51.100.1").await,
        [401, 401, 401, 429]
    );
    assert_eq!(
        bad_token_statuses(&server, "198.51.100.2").await,
        [401, 401, 401, 429]
    );
    assert_eq!(
        bad_token_statuses(&server, "203.0.113.9, 198.51.100.1").await,
        [429; 4],
        "the rightmost untrusted hop is the client, not what it claims"
    );
}

#[tokio::test]
async fn a_flooding_device_is_held_to_its_share_and_another_device_still_writes() {
    let server = TestServer::start_with_queue(TempDir::new().unwrap(), config(), 8).await;
    let flooder = server.token("alice", false, "flooder").await;
    let other = server.token("bob", false, "laptop").await;
    let now = server.now();
    let batches: Vec<Vec<Value>> = (0..24)
        .map(|b| (0..300).map(|i| ended(&format!("f{b}-{i}"), now)).collect())
        .collect();
    // 24 concurrent batches from one device, and meanwhile another device's PUTs.
    let flood = futures_util::future::join_all(batches.iter().map(|items| {
        let (server, flooder) = (&server, &flooder);
        async move {
            let res = server.batch(flooder, items).await;
            let status = res.status().as_u16();
            let code = if status == 200 {
                String::new()
            } else {
                error_of(res).await.1
            };
            (status, code)
        }
    }));
    let others = async {
        let mut statuses = Vec::new();
        for i in 0..5 {
            statuses.push(
                server
                    .put(&other, &ended(&format!("o{i}"), now))
                    .await
                    .status(),
            );
        }
        statuses
    };
    let (flood, others) = tokio::join!(flood, others);
    assert!(others.iter().all(|s| *s == 200), "{others:?}");
    let shed = flood.iter().filter(|(s, _)| *s == 503).count();
    let ok = flood.iter().filter(|(s, _)| *s == 200).count();
    assert!(
        shed > 0,
        "one device's 24 concurrent batches exceed its share"
    );
    assert_eq!(ok + shed, flood.len(), "{flood:?}");
    assert!(
        flood
            .iter()
            .filter(|(s, _)| *s == 503)
            .all(|(_, c)| c == "overloaded")
    );
    assert_eq!(server.all_sessions(&flooder, "").await.len(), ok * 300);
    assert_eq!(server.all_sessions(&other, "").await.len(), 5);
}
