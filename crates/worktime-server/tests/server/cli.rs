//! The binary as an operator runs it: `user`, `token` and `serve` as real
//! processes on one database file, and what the server writes to its log.

use crate::harness::{db_for, postgres};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_worktime-server");

fn run(db: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// A `serve` process; killed (by its pid) if a test fails before stopping it.
struct Served {
    child: Child,
    base: String,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Served {
    fn start(db: &str, env: &[(&str, &str)]) -> Served {
        Self::start_args(db, env, &[]).0
    }

    /// Starts `serve` with `extra` arguments; also returns the lines it
    /// printed after the first.
    fn start_args(db: &str, env: &[(&str, &str)], extra: &[&str]) -> (Served, Vec<String>) {
        let mut child = Command::new(BIN)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(extra)
            .arg("--db")
            .arg(db)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Drain standard error all along, so a chatty log never blocks the server.
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("serve prints its address");
        let base = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let more = if extra.contains(&"--metrics-addr") {
            vec![
                rx.recv_timeout(Duration::from_secs(20))
                    .expect("the metrics address"),
            ]
        } else {
            Vec::new()
        };
        (
            Served {
                child,
                base,
                stderr: Some(stderr),
            },
            more,
        )
    }

    /// Sends SIGTERM and waits for a clean exit; returns standard error.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "serve exited with {status}");
        self.stderr.take().unwrap().join().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn create_token(db: &str, user: &str, device: &str) -> String {
    let out = run(db, &["token", "create", "--user", user, "--device", device]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    let last = text.lines().last().unwrap().to_owned();
    assert!(last.starts_with("wt_") && !last.contains(' '), "{last:?}");
    last
}

#[tokio::test]
async fn cli_manages_users_and_tokens_beside_a_running_server() {
    let dir = TempDir::new().unwrap();
    let db = db_for(dir.path());
    let out = run(&db, &["user", "add", "alice"]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "added user alice\n");
    assert!(
        run(&db, &["user", "add", "root", "--admin"])
            .status
            .success()
    );
    // A taken name, a bad name and an unknown user fail with a message and status 1.
    let dup = run(&db, &["user", "add", "alice"]);
    assert_eq!(dup.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    assert_eq!(
        run(&db, &["user", "add", "bad name"]).status.code(),
        Some(1)
    );
    let nobody = run(
        &db,
        &["token", "create", "--user", "nobody", "--device", "x"],
    );
    assert_eq!(nobody.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("no user named"));
    let users = stdout(&run(&db, &["user", "list"]));
    assert_eq!(users, "alice\tuser\nroot\tadmin\n");

    let server = Served::start(&db, &[]);
    // Tokens made while the server runs work at once.
    let token = create_token(&db, "alice", "laptop");
    let client = reqwest::Client::new();
    let me = |token: String| {
        let client = client.clone();
        let url = format!("{}/api/v1/me", server.base);
        async move { client.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let res = me(token.clone()).await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        (body["user"].as_str(), body["device"].as_str()),
        (Some("alice"), Some("laptop"))
    );
    let listed = stdout(&run(&db, &["token", "list", "--user", "alice"]));
    assert!(
        listed.contains("laptop") && listed.contains("active"),
        "{listed}"
    );
    assert!(!listed.contains(&token), "token list never shows a token");
    let id = body["device_id"].as_i64().unwrap().to_string();
    let out = run(&db, &["token", "revoke", &id]);
    assert!(out.status.success());
    assert_eq!(me(token).await.status(), 401);
    assert!(stdout(&run(&db, &["token", "list", "--user", "alice"])).contains("revoked"));
    assert_eq!(run(&db, &["token", "revoke", &id]).status.code(), Some(1));
    server.stop();
}

#[tokio::test]
async fn no_token_appears_in_the_logs_even_at_trace_level() {
    let dir = TempDir::new().unwrap();
    let db = db_for(dir.path());
    assert!(run(&db, &["user", "add", "alice"]).status.success());
    let token = create_token(&db, "alice", "laptop");
    let other = create_token(&db, "alice", "desktop");
    let server = Served::start(&db, &[("RUST_LOG", "trace")]);
    let client = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.base);
    let now = worktime_server::clock::Clock::now(&worktime_server::clock::SystemClock);
    let session = crate::harness::ended("logged", now);
    let res = client
        .put(url("/api/v1/sessions/logged"))
        .bearer_auth(&token)
        .json(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A bad token, a token in the events query string (refused), and a stream.
    let wrong = format!("{token}x");
    assert_eq!(
        client
            .get(url("/api/v1/me"))
            .bearer_auth(&wrong)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let stream = client
        .get(url("/api/v1/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    drop(stream);
    let res = client
        .get(url(&format!("/api/v1/events?access_token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = client
        .delete(url("/api/v1/devices"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let log = server.stop();
    assert!(
        log.contains("/api/v1/sessions/logged"),
        "requests are logged:\n{log}"
    );
    assert!(
        log.contains("/api/v1/events"),
        "requests are logged:\n{log}"
    );
    for secret in [token.as_str(), other.as_str(), &token[3..], &other[3..]] {
        assert!(!log.contains(secret), "a token leaked into the log:\n{log}");
    }
    for hash in [
        worktime_server::token::hash(&token),
        worktime_server::token::hash(&other),
    ] {
        assert!(!log.contains(&hash), "a token hash leaked into the log");
    }
    assert!(
        !log.contains("access_token"),
        "a query string leaked into the log"
    );
    assert!(
        !log.to_lowercase().contains("bearer wt_"),
        "an Authorization header leaked"
    );
}

#[tokio::test]
async fn backup_and_user_administration_work_beside_a_running_server() {
    let dir = TempDir::new().unwrap();
    let db = db_for(dir.path());
    assert!(run(&db, &["user", "add", "alice"]).status.success());
    assert!(run(&db, &["user", "add", "bob"]).status.success());
    let (server, more) = Served::start_args(&db, &[], &["--metrics-addr", "127.0.0.1:0"]);
    let token = create_token(&db, "alice", "laptop");
    let bobs = create_token(&db, "bob", "phone");
    let client = reqwest::Client::new();
    let now = worktime_protocol::UnixMillis(
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap(),
    );
    for (who, id) in [(&token, "kept"), (&bobs, "bobs")] {
        let res = client
            .put(format!("{}/api/v1/sessions/{id}", server.base))
            .bearer_auth(who)
            .json(&crate::harness::ended(id, now))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    // The metrics listener answers without a token.
    let metrics = more[0].strip_prefix("metrics on ").unwrap().to_owned();
    let res = client.get(&metrics).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("worktime_sessions_stored 2")
    );

    let copy = dir.path().join("copy.db");
    if postgres().is_some() {
        // PostgreSQL has its own tool for this; `backup` says so and writes nothing.
        let out = run(&db, &["backup", "--to", copy.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("pg_dump"), "{err}");
        assert!(!copy.exists());
    } else {
        // An online backup while the server runs: a database with both sessions.
        let out = run(&db, &["backup", "--to", copy.to_str().unwrap()]);
        assert!(out.status.success(), "{out:?}");
        let raw = rusqlite::Connection::open(&copy).unwrap();
        let count: i64 = raw
            .query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 2);
        // A backup never overwrites a file.
        let again = run(&db, &["backup", "--to", copy.to_str().unwrap()]);
        assert_eq!(again.status.code(), Some(1));
    }

    // Rename and admin flag; the token keeps working under the new name.
    assert!(
        run(&db, &["user", "rename", "alice", "alicia"])
            .status
            .success()
    );
    assert_eq!(
        run(&db, &["user", "rename", "nobody", "x"]).status.code(),
        Some(1)
    );
    assert_eq!(
        run(&db, &["user", "rename", "alicia", "bob"]).status.code(),
        Some(1)
    );
    assert!(
        run(&db, &["user", "admin", "alicia", "on"])
            .status
            .success()
    );
    let me: serde_json::Value = client
        .get(format!("{}/api/v1/me", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["user"].as_str(), me["admin"].as_bool()),
        (Some("alicia"), Some(true))
    );
    assert!(
        run(&db, &["user", "admin", "alicia", "off"])
            .status
            .success()
    );
    assert_eq!(
        stdout(&run(&db, &["user", "list"])),
        "alicia\tuser\nbob\tuser\n"
    );

    // A privacy export: the user, the devices (no token), every session.
    let out = run(&db, &["user", "export", "alicia"]);
    assert!(out.status.success());
    let export: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(export["user"]["name"], "alicia");
    assert_eq!(export["devices"][0]["label"], "laptop");
    assert_eq!(export["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(export["sessions"][0]["local_id"], "kept");
    assert!(!stdout(&out).contains(&token[3..]));

    // Delete needs --yes; then every trace of the user is gone, others stay.
    let unconfirmed = run(&db, &["user", "delete", "alicia"]);
    assert_eq!(unconfirmed.status.code(), Some(1));
    let out = run(&db, &["user", "delete", "alicia", "--yes"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stdout(&out),
        "deleted user alicia, 1 sessions and 1 device tokens\n"
    );
    let res = client
        .get(format!("{}/api/v1/me", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(stdout(&run(&db, &["user", "list"])), "bob\tuser\n");
    let res = client
        .get(format!("{}/api/v1/sessions", server.base))
        .bearer_auth(&bobs)
        .send()
        .await
        .unwrap();
    let page: serde_json::Value = res.json().await.unwrap();
    assert_eq!(page["sessions"].as_array().unwrap().len(), 1);
    server.stop();
}

#[test]
fn the_database_comes_from_worktime_db_when_db_is_not_given() {
    let dir = TempDir::new().unwrap();
    let db = db_for(dir.path());
    let with_env = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("WORKTIME_DB", &db)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    assert!(with_env(&["user", "add", "alice"]).status.success());
    assert_eq!(stdout(&with_env(&["user", "list"])), "alice\tuser\n");
    // The same database as --db names, and no ./worktime.db was made instead.
    assert_eq!(stdout(&run(&db, &["user", "list"])), "alice\tuser\n");
    if postgres().is_some() {
        assert!(!dir.path().join("worktime.db").exists());
    }
}

#[test]
fn a_database_that_cannot_be_reached_or_a_bad_proxy_is_refused_clearly() {
    // Nothing listens on port 1: a clear error, without the password.
    let out = run(
        "postgres://wt:s3cret@127.0.0.1:1/worktime",
        &["user", "list"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("could not connect to PostgreSQL at postgres://wt@127.0.0.1:1/worktime"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    // A --trusted-proxy that is not an address or network stops `serve`
    // before it listens, naming the value.
    let dir = TempDir::new().unwrap();
    let out = Command::new(BIN)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--trusted-proxy",
            "10.0.0.0/33",
        ])
        .arg("--db")
        .arg(db_for(dir.path()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("10.0.0.0/33"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
}
