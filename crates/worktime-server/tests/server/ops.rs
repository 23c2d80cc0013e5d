//! What operators use: health checks without a token and Prometheus
//! metrics for admins.

use crate::harness::*;

#[tokio::test]
async fn health_and_readiness_answer_without_a_token() {
    let server = TestServer::start().await;
    for path in ["/healthz", "/readyz"] {
        let res = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn metrics_are_for_admins_and_count_requests_streams_and_sessions() {
    let server = TestServer::start().await;
    let alice = server.token("alice", false, "laptop").await;
    let admin = server.token("root", true, "console").await;
    server.put(&alice, &ended("one", server.now())).await;
    assert_eq!(server.get(&alice, "/api/v1/me").await.status(), 200);
    let _stream = Stream::open(&server, &alice).await;
    let res = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(error_of(server.get(&alice, "/metrics").await).await.0, 403);
    let res = server.get(&admin, "/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = res.text().await.unwrap();
    for expected in [
        "worktime_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"200\"} 1",
        "worktime_http_requests_total{method=\"PUT\",route=\"/api/v1/sessions/{local_id}\",status=\"200\"} 1",
        "worktime_http_request_duration_seconds_bucket{",
        "worktime_sessions_stored 1",
        "worktime_sse_clients 1",
        "worktime_writer_queue_depth 0",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
}
