//! Starts the real server on 127.0.0.1:0 with a temporary database and
//! offers a few helpers to talk to it.
//!
//! The backend: an SQLite file in the test's directory, or — when
//! `WORKTIME_TEST_PG` names a PostgreSQL server (`./build.sh test` starts a
//! throwaway cluster and sets it) — a fresh database on it per test, named
//! in the directory's `pg-url` file so a restart finds it again. Every test
//! runs on either; the few that only make sense on one say so.

use futures_util::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use worktime_protocol::UnixMillis;
use worktime_protocol::time::rfc3339;
use worktime_server::clock::{Clock, SystemClock};
use worktime_server::store::Store;
use worktime_server::token::Token;
use worktime_server::{AppState, ServerConfig};

pub struct TestServer {
    pub base: String,
    pub state: AppState,
    pub client: reqwest::Client,
    dir: Option<TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// The PostgreSQL server the suite runs against, if any.
pub fn postgres() -> Option<String> {
    std::env::var("WORKTIME_TEST_PG")
        .ok()
        .filter(|url| !url.is_empty())
}

/// A fresh, empty PostgreSQL database on the test cluster; its URL.
pub fn fresh_pg_database(admin_url: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "wt_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        SystemClock.now().0
    );
    let out = std::process::Command::new("psql")
        .args([admin_url, "-q", "-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .expect("psql runs");
    assert!(out.status.success(), "CREATE DATABASE: {out:?}");
    let (base, _) = admin_url.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{name}")
}

/// What `--db` names for the test directory `dir`: its SQLite file, or its
/// PostgreSQL database (created on first use).
pub fn db_for(dir: &std::path::Path) -> String {
    match postgres() {
        None => dir.join("worktime.db").to_str().unwrap().to_owned(),
        Some(admin) => {
            let file = dir.join("pg-url");
            if let Ok(url) = std::fs::read_to_string(&file) {
                return url;
            }
            let url = fresh_pg_database(&admin);
            std::fs::write(&file, &url).unwrap();
            url
        }
    }
}

/// Opens the test directory's store like `serve` does.
pub async fn open_store(dir: &std::path::Path, now: UnixMillis, queue: usize) -> Arc<dyn Store> {
    worktime_server::store::open(&db_for(dir), now, queue)
        .await
        .unwrap()
}

/// Production settings without the rate limits (tests that need them turn
/// them on).
pub fn config() -> ServerConfig {
    ServerConfig {
        rate_limit: None,
        unauthenticated_rate_limit: None,
        ..ServerConfig::default()
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(TempDir::new().unwrap(), config(), Arc::new(SystemClock)).await
    }

    pub async fn start_with(dir: TempDir, config: ServerConfig, clock: Arc<dyn Clock>) -> Self {
        Self::start_full(
            dir,
            config,
            clock,
            worktime_server::store::sqlite::DEFAULT_WRITER_QUEUE,
        )
        .await
    }

    /// A server whose writer queue holds `queue` waiting jobs.
    pub async fn start_with_queue(dir: TempDir, config: ServerConfig, queue: usize) -> Self {
        Self::start_full(dir, config, Arc::new(SystemClock), queue).await
    }

    async fn start_full(
        dir: TempDir,
        config: ServerConfig,
        clock: Arc<dyn Clock>,
        queue: usize,
    ) -> Self {
        let store = open_store(dir.path(), clock.now(), queue).await;
        Self::serve_store(dir, store, config, clock).await
    }

    /// Serves `store` (another instance on a shared database, for one).
    pub async fn serve_store(
        dir: TempDir,
        store: Arc<dyn Store>,
        config: ServerConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let state = AppState::new(store, clock, config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(worktime_server::serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        TestServer {
            base,
            state,
            client: reqwest::Client::new(),
            dir: Some(dir),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The test's directory (its database file, or `pg-url`); used by the
    /// several-instances tests.
    #[cfg_attr(not(feature = "pg-tests"), allow(dead_code))]
    pub fn dir_path(&self) -> &std::path::Path {
        self.dir.as_ref().unwrap().path()
    }

    /// Stops the server gracefully and hands back its directory.
    pub async fn stop(mut self) -> TempDir {
        self.shutdown().await;
        self.dir.take().unwrap()
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("server stops within 10 s")
                .unwrap()
                .unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Adds a user (if new) and returns a fresh device token for them.
    pub async fn token(&self, user: &str, admin: bool, device: &str) -> String {
        let store = &self.state.store;
        let now = self.state.clock.now();
        let owner = match store.find_user(user).await.unwrap() {
            Some(u) => u,
            None => store.add_user(user, admin, now).await.unwrap(),
        };
        let token = Token::generate().unwrap();
        store
            .create_device(owner.id, device, &token.hash(), now)
            .await
            .unwrap();
        token.reveal().to_owned()
    }

    pub fn now(&self) -> UnixMillis {
        self.state.clock.now()
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn put(&self, token: &str, session: &Value) -> reqwest::Response {
        let id = session["local_id"].as_str().unwrap_or("x").to_owned();
        self.client
            .put(self.url(&format!("/api/v1/sessions/{id}")))
            .bearer_auth(token)
            .json(session)
            .send()
            .await
            .unwrap()
    }

    pub async fn batch(&self, token: &str, sessions: &[Value]) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/sessions/batch"))
            .bearer_auth(token)
            .json(&json!({ "sessions": sessions }))
            .send()
            .await
            .unwrap()
    }

    /// Every session the token can read, following cursors.
    pub async fn all_sessions(&self, token: &str, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/sessions?limit=500{query}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let res = self.get(token, &path).await;
            assert_eq!(res.status(), 200);
            let page: Value = res.json().await.unwrap();
            out.extend(page["sessions"].as_array().unwrap().iter().cloned());
            match page["next"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return out,
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn ts(at: UnixMillis) -> String {
    rfc3339::format(at).unwrap()
}

pub fn ago(now: UnixMillis, secs: i64) -> UnixMillis {
    UnixMillis(now.0 - secs * 1000)
}

/// A valid ended session that started 10 minutes before `now` and lasted 5.
pub fn ended(id: &str, now: UnixMillis) -> Value {
    json!({
        "local_id": id,
        "repo_owner": "octo",
        "repo_name": "hello",
        "pr_number": 7,
        "started_at": ts(ago(now, 600)),
        "ended_at": ts(ago(now, 300)),
        "active_seconds": 240,
        "state": "ended",
        "updated_at": ts(ago(now, 300)),
    })
}

/// A valid active session that started 10 minutes before `now`, last updated
/// `updated_secs_ago` seconds ago.
pub fn active(id: &str, now: UnixMillis, updated_secs_ago: i64) -> Value {
    json!({
        "local_id": id,
        "repo_owner": "octo",
        "repo_name": "hello",
        "pr_number": 7,
        "started_at": ts(ago(now, 600)),
        "ended_at": null,
        "active_seconds": 60,
        "state": "active",
        "updated_at": ts(ago(now, updated_secs_ago)),
    })
}

/// The contract's fields of a server view (drops the server-side extras).
pub fn contract(view: &Value) -> Value {
    let mut v = view.clone();
    let obj = v.as_object_mut().unwrap();
    for extra in ["user", "device", "closed_by_server", "received_at", "seq"] {
        obj.remove(extra);
    }
    v
}

/// Waits until `check` holds, failing after `secs` seconds.
pub async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads the error envelope of a response: `(status, code, field)`.
pub async fn error_of(res: reqwest::Response) -> (u16, String, Option<String>) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    (
        status,
        body["error"]["code"].as_str().unwrap().to_owned(),
        body["error"]["field"].as_str().map(str::to_owned),
    )
}

/// An open event stream, read as text.
pub struct Stream {
    pub body: futures_util::stream::BoxStream<'static, reqwest::Result<axum::body::Bytes>>,
    pub text: String,
}

impl Stream {
    /// Opens `GET /api/v1/events` with the token in the header.
    pub async fn open(server: &TestServer, token: &str) -> Stream {
        Self::open_after(server, token, None).await
    }

    /// Opens the stream, resuming after `last_event_id` when given.
    pub async fn open_after(
        server: &TestServer,
        token: &str,
        last_event_id: Option<i64>,
    ) -> Stream {
        let mut req = server
            .client
            .get(server.url("/api/v1/events"))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        Stream {
            body: res.bytes_stream().boxed(),
            text: String::new(),
        }
    }

    /// Reads until a `session` event arrives; returns its data.
    pub async fn next_session(&mut self, secs: u64) -> Option<Value> {
        self.next_event(secs).await.map(|(_, data)| data)
    }

    /// Reads until a `session` event arrives; returns its `id` and data.
    pub async fn next_event(&mut self, secs: u64) -> Option<(Option<i64>, Value)> {
        self.next_kind("session", secs).await
    }

    /// Reads until an event named `kind` arrives; returns its `id` and data.
    pub async fn next_kind(&mut self, kind: &str, secs: u64) -> Option<(Option<i64>, Value)> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            while let Some(end) = self.text.find("\n\n") {
                let block = self.text[..end].to_owned();
                self.text = self.text[end + 2..].to_owned();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(str::to_owned)
                };
                if field("event: ").as_deref() == Some(kind) {
                    let data = serde_json::from_str(&field("data: ").unwrap()).unwrap();
                    let id = field("id: ").map(|id| id.parse().unwrap());
                    return Some((id, data));
                }
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.text.push_str(std::str::from_utf8(&chunk).unwrap()),
                Ok(_) => return None,
                Err(_) => return None,
            }
        }
    }
    /// True if the server ends the stream within `secs`.
    pub async fn ends_within(&mut self, secs: u64) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(Some(Ok(_))) => continue,
                Ok(_) => return true,
                Err(_) => return false,
            }
        }
    }
}
