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
//! Then the flood figure: 16 clients send batches of new sessions (every
//! one new) as fast as they can for `BENCH_FLOOD_SECS` (default 10) while one normal client
//! PUTs its session and asks `GET /api/v1/me` every 100 ms; it reports the
//! normal client's p50/p99/max latency, what the flood got stored and shed
//! (503 with `Retry-After` from the bounded writer queue and in-flight
//! limit), and the server's peak memory (`VmHWM`).
//!
//! With `WORKTIME_TEST_PG` naming a PostgreSQL server (`./build.sh bench
//! server` starts a throwaway cluster and sets it), the same rounds run on a
//! fresh PostgreSQL database — 1 and 8 clients on one instance, then 8
//! clients spread over two instances on that database — and one table
//! puts both backends side by side.
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
/// Clients flooding batch writes in the flood round.
const FLOODERS: usize = 16;

fn cli(db: &str, args: &[&str]) -> String {
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

/// What the flood round measured.
struct Flood {
    /// Latencies of the normal client's requests, sorted.
    latencies: Vec<Duration>,
    /// Normal requests that were not answered 200.
    normal_failed: usize,
    /// Flood batches stored (200) and shed (503).
    stored: usize,
    shed: usize,
}

/// 16 clients flood batch writes for `length`; one normal client PUTs its
/// session and reads `/api/v1/me` every 100 ms meanwhile.
async fn flood(
    base: &str,
    flooders: &[String],
    normal: &str,
    length: Duration,
    now_ms: i64,
) -> Flood {
    let until = Instant::now() + length;
    let url = format!("{base}/api/v1/sessions/batch");
    let tasks: Vec<_> = flooders
        .iter()
        .enumerate()
        .map(|(c, token)| {
            let (url, token) = (url.clone(), token.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let (mut stored, mut shed) = (0, 0);
                // Every batch is new sessions (built as it goes: ~1 ms each).
                for b in 0.. {
                    if Instant::now() >= until {
                        break;
                    }
                    let res = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body(&format!("flood{c}"), b, now_ms))
                        .send()
                        .await
                        .unwrap();
                    match res.status().as_u16() {
                        200 => stored += 1,
                        503 => {
                            assert!(res.headers().contains_key("retry-after"));
                            shed += 1;
                        }
                        other => panic!("flood batch answered {other}"),
                    }
                    let _ = res.bytes().await;
                }
                (stored, shed)
            })
        })
        .collect();
    let client = reqwest::Client::new();
    let mut latencies = Vec::new();
    let mut normal_failed = 0;
    let put_url = format!("{base}/api/v1/sessions/normal");
    let me_url = format!("{base}/api/v1/me");
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut n: i64 = 0;
    while Instant::now() < until {
        tick.tick().await;
        n += 1;
        let updated = now_ms - 60_000 + n * 10;
        let session = serde_json::json!({
            "local_id": "normal", "repo_owner": "octo-org", "repo_name": "app",
            "pr_number": 1, "started_at": rfc3339(now_ms - 600_000), "ended_at": null,
            "active_seconds": 60, "state": "active", "updated_at": rfc3339(updated),
        });
        for put in [true, false] {
            let started = Instant::now();
            let req = if put {
                client.put(&put_url).json(&session)
            } else {
                client.get(&me_url)
            };
            let res = req.bearer_auth(normal).send().await.unwrap();
            let ok = res.status() == 200;
            let _ = res.bytes().await;
            latencies.push(started.elapsed());
            normal_failed += usize::from(!ok);
        }
    }
    let (mut stored, mut shed) = (0, 0);
    for t in tasks {
        let (s, d) = t.await.unwrap();
        stored += s;
        shed += d;
    }
    latencies.sort();
    Flood {
        latencies,
        normal_failed,
        stored,
        shed,
    }
}

/// The peak resident memory of a process, from `/proc/<pid>/status`.
fn peak_memory_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Adds a user and `n` device tokens with the CLI.
fn tokens(db: &str, n: usize) -> Vec<String> {
    cli(db, &["user", "add", "bench"]);
    (0..n)
        .map(|i| {
            let out = cli(
                db,
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
        .collect()
}

/// Starts `serve` on `db`; returns it and its base URL.
fn start(db: &str, log: &Path) -> (Server, String) {
    let log = std::fs::File::create(log).unwrap();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--no-rate-limit",
            "--db",
            db,
        ])
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("serve printed {first:?}"))
        .to_owned();
    (Server(child), base)
}

/// Sends every body over `clients` clients spread over the servers at
/// `bases` (client c talks to `bases[c % len]`); returns sessions per second.
async fn spread(
    bases: &[String],
    tokens: &[String],
    clients: usize,
    bodies: Arc<Vec<Vec<u8>>>,
) -> f64 {
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let url = format!("{}/api/v1/sessions/batch", bases[c % bases.len()]);
            let (token, bodies) = (tokens[c].clone(), Arc::clone(&bodies));
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
    (bodies.len() * BATCH) as f64 / started.elapsed().as_secs_f64()
}

/// A fresh database on the PostgreSQL server at `admin_url`; its URL.
fn fresh_pg_database(admin_url: &str) -> String {
    let name = format!("wt_bench_{}", std::process::id());
    let out = Command::new("psql")
        .args([admin_url, "-q", "-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// Sessions per second on one backend: 1 client, 8 clients, 8 clients over
/// two instances (PostgreSQL only), replay.
struct Rates {
    one: f64,
    eight: f64,
    two_instances: Option<f64>,
    replay: f64,
}

fn postgres_rounds(
    runtime: &tokio::runtime::Runtime,
    admin_url: &str,
    dir: &Path,
    batches: usize,
    now_ms: i64,
) -> Rates {
    let db = fresh_pg_database(admin_url);
    let tokens = tokens(&db, 8);
    let (a, base_a) = start(&db, &dir.join("pg-a.log"));
    let (b, base_b) = start(&db, &dir.join("pg-b.log"));
    let make = |prefix: &str| {
        Arc::new(
            (0..batches)
                .map(|n| body(prefix, n, now_ms))
                .collect::<Vec<_>>(),
        )
    };
    let one_base = [base_a.clone()];
    runtime.block_on(spread(
        &one_base,
        &tokens,
        1,
        Arc::new(vec![body("pg-warmup", 0, now_ms)]),
    ));
    let one = runtime.block_on(spread(&one_base, &tokens, 1, make("pg-one")));
    let eight = runtime.block_on(spread(&one_base, &tokens, 8, make("pg-eight")));
    let both = [base_a, base_b];
    let two = runtime.block_on(spread(&both, &tokens, 8, make("pg-two")));
    let replay = runtime.block_on(spread(&one_base, &tokens, 8, make("pg-eight")));
    drop((a, b));
    Rates {
        one,
        eight,
        two_instances: Some(two),
        replay,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument may follow. Nothing to filter.
    let total: usize = std::env::var("BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let batches = total.div_ceil(BATCH).max(8);
    let dir = tempfile::TempDir::new().unwrap();
    let db_path = dir.path().join("bench.db");
    let db = db_path.to_str().unwrap().to_owned();
    let tokens = tokens(&db, FLOODERS + 1);
    let (server, base) = start(&db, &dir.path().join("server.log"));
    let one_base = [base.clone()];

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
    runtime.block_on(spread(&one_base, &tokens, 1, warmup));

    println!(
        "batch upsert, {} sessions per round in batches of {BATCH}, {} CPU cores",
        batches * BATCH,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // Other work on the machine shares its cores; say how busy it was.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let one_minute = load.split_whitespace().next().unwrap_or("?");
        println!("  (1-minute load average before the run: {one_minute})");
    }
    let one = runtime.block_on(spread(&one_base, &tokens, 1, make("one")));
    let eight = runtime.block_on(spread(&one_base, &tokens, 8, make("eight")));
    let replay = runtime.block_on(spread(&one_base, &tokens, 8, make("eight")));
    let sqlite = Rates {
        one,
        eight,
        two_instances: None,
        replay,
    };
    let postgres = std::env::var("WORKTIME_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty())
        .map(|admin| postgres_rounds(&runtime, &admin, dir.path(), batches, now_ms));
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let one_minute = load.split_whitespace().next().unwrap_or("?");
        println!("  (1-minute load average after the throughput rounds: {one_minute})");
    }
    println!();
    println!(
        "| sessions/s | 1 client | 8 clients | 8 clients, 2 instances | replayed (no-op), 8 clients |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    let row = |name: &str, r: &Rates| {
        println!(
            "| {name} | {:.0} | {:.0} | {} | {:.0} |",
            r.one,
            r.eight,
            r.two_instances
                .map_or("n/a (one process per file)".to_owned(), |v| format!(
                    "{v:.0}"
                )),
            r.replay
        );
    };
    row("SQLite (WAL, synchronous=FULL)", &sqlite);
    match &postgres {
        Some(r) => row("PostgreSQL (fsync on, loopback)", r),
        None => println!(
            "| PostgreSQL | not run: set WORKTIME_TEST_PG (./build.sh bench server does) | | | |"
        ),
    }
    println!();
    let met = sqlite.one >= GOAL && sqlite.eight >= GOAL;
    println!(
        "goal {GOAL:.0} sessions/s with 1 and 8 clients on SQLite: {}",
        if met { "met" } else { "NOT met" }
    );
    let secs: u64 = std::env::var("BENCH_FLOOD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let f = runtime.block_on(flood(
        &base,
        &tokens[..FLOODERS],
        &tokens[FLOODERS],
        Duration::from_secs(secs),
        now_ms,
    ));
    let pct = |p: f64| {
        let i = ((f.latencies.len() as f64 * p).ceil() as usize).clamp(1, f.latencies.len());
        f.latencies[i - 1].as_secs_f64() * 1000.0
    };
    println!(
        "flood (SQLite): {FLOODERS} clients sending batches of {BATCH} new sessions for {secs} s: {} batches stored, {} shed with 503",
        f.stored, f.shed
    );
    println!(
        "  normal client meanwhile: {} requests, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {} not 200",
        f.latencies.len(),
        pct(0.50),
        pct(0.99),
        pct(1.0),
        f.normal_failed
    );
    if let Some(kib) = peak_memory_kib(server.0.id()) {
        println!(
            "  server peak memory (VmHWM): {:.1} MiB",
            kib as f64 / 1024.0
        );
    }
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let one_minute = load.split_whitespace().next().unwrap_or("?");
        println!("  (1-minute load average after the flood: {one_minute})");
    }
    drop(server);
    std::thread::sleep(Duration::from_millis(10));
}
