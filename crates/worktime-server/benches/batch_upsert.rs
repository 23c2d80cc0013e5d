//! Batch-upsert throughput of the real server binary on its SQLite default.
//!
//! Starts `worktime-server serve --addr 127.0.0.1:0 --no-rate-limit` on a
//! fresh database file (WAL, `synchronous = FULL`, default `info` logging to
//! a file), creates one device token per client with the CLI, then has 1 and
//! then 8 concurrent HTTP clients send `POST /api/v1/sessions/batch` with 500
//! new sessions each, and reports sessions per second. A last round replays
//! batches already stored (the no-op merge path). Every answer is checked:
//! 200 and 500 `"ok"` results. Request bodies are serialised before timing.
//!
//! Run with `./build.sh bench server` (or `cargo bench -p worktime-server`).
//! `BENCH_SESSIONS` changes how many sessions each round sends (default
//! 100,000).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_worktime-server");
const BATCH: usize = 500;
const GOAL: f64 = 20_000.0;

fn cli(db: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The server process, stopped by its pid when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.0.wait();
    }
}

fn rfc3339(ms: i64) -> String {
    worktime_protocol::time::rfc3339::format(worktime_protocol::UnixMillis(ms)).unwrap()
}

/// A `{"sessions": [...]}` body of 500 distinct ended sessions.
fn body(prefix: &str, batch: usize, now_ms: i64) -> Vec<u8> {
    let sessions: Vec<serde_json::Value> = (0..BATCH)
        .map(|i| {
            let start = now_ms - 3_600_000 + (i as i64) * 1000;
            let end = start + 600_000;
            serde_json::json!({
                "local_id": format!("{prefix}-{batch}-{i}"),
                "repo_owner": "octo-org",
                "repo_name": format!("repo-{}", i % 17),
                "pr_number": 1 + (i % 250),
                "started_at": rfc3339(start),
                "ended_at": rfc3339(end),
                "active_seconds": 300 + (i % 200),
                "state": "ended",
                "updated_at": rfc3339(end),
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "sessions": sessions })).unwrap()
}

/// Sends every body (split over `clients` concurrent clients); returns
/// sessions per second.
async fn round(base: &str, tokens: &[String], clients: usize, bodies: Arc<Vec<Vec<u8>>>) -> f64 {
    let url = format!("{base}/api/v1/sessions/batch");
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (url, token, bodies) = (url.clone(), tokens[c].clone(), Arc::clone(&bodies));
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for body in bodies.iter().skip(c).step_by(clients) {
                    let res = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), 200);
                    let text = res.text().await.unwrap();
                    assert_eq!(text.matches("\"status\":\"ok\"").count(), BATCH);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let sessions = bodies.len() * BATCH;
    sessions as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument may follow. Nothing to filter.
    let total: usize = std::env::var("BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let batches = total.div_ceil(BATCH).max(8);
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("bench.db");
    cli(&db, &["user", "add", "bench"]);
    let tokens: Vec<String> = (0..8)
        .map(|i| {
            let out = cli(
                &db,
                &[
                    "token",
                    "create",
                    "--user",
                    "bench",
                    "--device",
                    &format!("client {i}"),
                ],
            );
            out.lines().last().unwrap().to_owned()
        })
        .collect();
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--no-rate-limit", "--db"])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let server = Server(child);
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();

    let now_ms = worktime_server::clock::Clock::now(&worktime_server::clock::SystemClock).0;
    let make = |prefix: &str| {
        Arc::new(
            (0..batches)
                .map(|b| body(prefix, b, now_ms))
                .collect::<Vec<_>>(),
        )
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let warmup = Arc::new(vec![body("warmup", 0, now_ms)]);
    runtime.block_on(round(&base, &tokens, 1, warmup));

    println!(
        "batch upsert, {} sessions per round in batches of {BATCH}, {} CPU cores, SQLite WAL synchronous=FULL",
        batches * BATCH,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // Other work on the machine shares its cores; say how busy it was.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let one_minute = load.split_whitespace().next().unwrap_or("?");
        println!("  (1-minute load average before the run: {one_minute})");
    }
    let mut met = true;
    for (label, clients, prefix) in [
        ("new sessions, 1 client ", 1, "one"),
        ("new sessions, 8 clients", 8, "eight"),
    ] {
        let bodies = make(prefix);
        let rate = runtime.block_on(round(&base, &tokens, clients, bodies));
        met &= rate >= GOAL;
        println!("  {label}: {rate:>9.0} sessions/s");
    }
    let replay = make("eight");
    let rate = runtime.block_on(round(&base, &tokens, 8, replay));
    println!("  replayed (no-op), 8 clients: {rate:>9.0} sessions/s");
    println!(
        "goal {GOAL:.0} sessions/s with 1 and 8 clients: {}",
        if met { "met" } else { "NOT met" }
    );
    drop(server);
    std::thread::sleep(Duration::from_millis(10));
}
