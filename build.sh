#!/usr/bin/env bash
# One entry point for WorkTime Sync: setup | build | test | demo | bench | sim | model.
# Idempotent: every install step checks first and is skipped when done.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$PWD

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- setup ----

# The wasm-bindgen version Cargo.lock resolved; the CLI must match it exactly.
locked_version() {
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

setup_rust() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  local want; want=$(locked_version wasm-bindgen)
  if [ -n "$want" ]; then
    local have=""
    command -v wasm-bindgen >/dev/null && have=$(wasm-bindgen --version | awk '{print $2}')
    if [ "$have" != "$want" ]; then
      log "installing wasm-bindgen-cli $want (had: ${have:-none}; takes a few minutes once)"
      # Not --locked: the CLI's own lock pins a webpki-roots the registry no longer serves.
      cargo install wasm-bindgen-cli --version "$want"
    fi
  fi
}

setup_browser() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    log "installing Debian's chromium and chromium-driver"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    # dpkg has been seen failing half-way once on this kind of machine; retry once.
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver \
      || $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver
  fi
}

setup_node() {
  [ -f package-lock.json ] || return 0
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

setup() {
  setup_rust
  setup_browser
  setup_node
  setup_postgres
}

# ---------------------------------------------------------------- build ----

WASM_OUT=${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/wasm-release/worktime_wasm.wasm

# dist/: a loadable unpacked extension. Built next to it and swapped in, so a
# failed build never leaves a half-written dist/.
# `--test-variant` builds the end-to-end tests' own copy instead, into
# target/dist-test/: the same files, with the wasm built with the cargo
# feature `test-variant` (a 6 s fallback alarm). dist/ never holds anything
# for tests (tests/e2e/manifest.test.js checks it is exactly what this makes).
DIST_TEST=target/dist-test

build_extension() {
  local out=dist features=() what="dist/"
  case "${1:-}" in
    "") ;;
    --test-variant) out=$DIST_TEST; features=(--features test-variant); what="$DIST_TEST/ (test variant)" ;;
    *) die "usage: ./build.sh build [--test-variant]" ;;
  esac
  setup_rust
  setup_node
  log "building worktime-wasm (wasm-release${features[*]:+, ${features[*]}})"
  cargo build --locked --profile wasm-release --target wasm32-unknown-unknown -p worktime-wasm "${features[@]}"
  # A fresh directory per run: two builds at once (a shared tree) must not
  # delete each other's half-built output.
  mkdir -p target
  local tmp; tmp=$(mktemp -d target/dist.tmp.XXXXXX)
  log "wasm-bindgen --target web"
  wasm-bindgen --target web --no-typescript --out-dir "$tmp" --out-name worktime_wasm "$WASM_OUT"
  log "wasm-opt -Oz"
  # --low-memory-unused: rustc links wasm32 with the stack first (it grows
  # down from 1 MiB toward 0) and data above it, so the lowest 1 KiB is only
  # ever reached by a stack that has already overflowed; told so, Binaryen
  # folds constant pointer offsets into loads and stores (about 5 KB less).
  node_modules/.bin/wasm-opt -Oz --low-memory-unused "$tmp/worktime_wasm_bg.wasm" -o "$tmp/worktime_wasm_bg.wasm"
  cp manifest.json "$tmp/"
  cp -R extension/. "$tmp/"
  chmod 755 "$tmp"
  rm -rf "$out"
  mv "$tmp" "$out"
  local raw gz
  raw=$(wc -c < "$out/worktime_wasm_bg.wasm")
  gz=$(gzip -9 -c "$out/worktime_wasm_bg.wasm" | wc -c)
  log "$what ready: worktime_wasm_bg.wasm $((raw / 1024)) KB raw, $((gz / 1024)) KB gzipped (limit: < 500 KB raw, issue 11)"
}

# ----------------------------------------------------------- postgresql ----

# A throwaway PostgreSQL cluster on a loopback port for the server's tests
# and bench: pg_start exports WORKTIME_TEST_PG (a URL of its `postgres`
# database, in which each test creates its own database); pg_stop stops the
# postmaster by its pid and removes the directory. initdb refuses root, so
# the cluster runs as the `postgres` user.
PG_DIR=""
pg_bin() {
  local bin
  for bin in /usr/lib/postgresql/*/bin; do
    [ -x "$bin/initdb" ] && { echo "$bin"; return 0; }
  done
  return 1
}

setup_postgres() {
  if ! pg_bin >/dev/null; then
    log "installing Debian's postgresql (the server's tests run against it)"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql
  fi
}

pg_start() {
  setup_postgres
  local bin; bin=$(pg_bin)
  PG_DIR=$(mktemp -d /tmp/worktime-pg.XXXXXX)
  local port
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  local as=()
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$PG_DIR"; as=(runuser -u postgres --); fi
  "${as[@]}" "$bin/initdb" -D "$PG_DIR/data" -A trust -U wt >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
  # TLS on, with a throwaway self-signed certificate: the suite's
  # connections (sslmode=prefer) then run encrypted, as on a company server.
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -keyout "$PG_DIR/data/server.key" -out "$PG_DIR/data/server.crt" >/dev/null 2>&1 \
    || die "openssl could not make the test cluster's certificate"
  chmod 600 "$PG_DIR/data/server.key"
  [ "$(id -u)" -eq 0 ] && chown postgres "$PG_DIR/data/server.key" "$PG_DIR/data/server.crt"
  "${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on -c ssl=on" start >/dev/null \
    || { cat "$PG_DIR/log" >&2; die "PostgreSQL did not start"; }
  export WORKTIME_TEST_PG="postgres://wt@127.0.0.1:$port/postgres"
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (pid $(head -1 "$PG_DIR/data/postmaster.pid"))"
}

pg_stop() {
  [ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/postmaster.pid" ] || return 0
  local pid; pid=$(head -1 "$PG_DIR/data/postmaster.pid")
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -rf "$PG_DIR"
  PG_DIR=""
}

# ----------------------------------------------------------------- test ----

test_rust() {
  log "cargo fmt --check"
  cargo fmt --all --check
  log "cargo clippy (native)"
  cargo clippy --workspace --all-targets --locked -- -D warnings
  log "cargo test (native)"
  cargo test --workspace --locked
  test_server_postgres
}

# The server's whole suite again, on PostgreSQL: the harness opens every
# test's store on a fresh database of the throwaway cluster instead of an
# SQLite file, and the PostgreSQL-only tests (several instances) run too.
test_server_postgres() {
  log "worktime-server: the same suite on PostgreSQL"
  pg_start
  trap pg_stop EXIT
  cargo clippy --locked -p worktime-server --all-targets --features pg-tests -- -D warnings
  cargo test --locked -p worktime-server --features pg-tests
  pg_stop
  trap - EXIT
}

# The dashboard in Debian's Chromium against the real server binary.
test_dashboard() {
  log "dashboard: building worktime-server, then browser tests (tests/dashboard)"
  cargo build --locked -p worktime-server
  node --disable-warning=MODULE_TYPELESS_PACKAGE_JSON --test tests/dashboard/
}

# The wasm shell in headless Chromium (wasm-bindgen-test-runner through
# chromedriver): storage in a real service worker's IndexedDB, and fetch
# against the real worktime-server, which with-server.mjs starts on a
# loopback port and stops by pid.
test_wasm() {
  log "cargo clippy (wasm32)"
  cargo clippy --locked --target wasm32-unknown-unknown -p worktime-wasm --all-targets -- -D warnings
  log "worktime-wasm: browser tests in headless Chromium"
  cargo build --locked -p worktime-server
  cargo test --locked --target wasm32-unknown-unknown -p worktime-wasm --test storage_in_service_worker --test settings_in_service_worker
  node tests/e2e/support/with-server.mjs \
    cargo test --locked --target wasm32-unknown-unknown -p worktime-wasm --test fetch_against_server
}

# The built extension (dist/) in Debian's Chromium with a local github.com and
# the real server, plus the Node checks of the glue (tests/e2e).
# Two scenarios spend minutes waiting on the clock with the browser all but
# idle (3 quiet minutes; a 2-minute outage): they run beside the others, in a
# second runner, instead of after them.
E2E_WAITING="tests/e2e/idle.test.js tests/e2e/server_errors_outage.test.js"
# A tab forgotten for the real 10-minute limit waits longest: it starts as
# soon as dist/ and the server are built, and waits beside everything else
# (native, wasm and dashboard tests included) instead of after it.
E2E_LONG="tests/e2e/forgotten_tab.test.js"
LONG_PID="" LONG_LOG=""

start_long_e2e() {
  log "end-to-end, started early beside the rest: $E2E_LONG"
  cargo build --locked -p worktime-server
  LONG_LOG=$(mktemp)
  # shellcheck disable=SC2086
  node --test $E2E_LONG >"$LONG_LOG" 2>&1 &
  LONG_PID=$!
  # A failing step before test_e2e must not leave it running.
  trap '[ -n "$LONG_PID" ] && kill "$LONG_PID" 2>/dev/null; rm -f "$LONG_LOG"' EXIT
}

test_e2e() {
  log "end-to-end: the extension from dist/ in Chromium (tests/e2e)"
  cargo build --locked -p worktime-server
  local waiting_log; waiting_log=$(mktemp)
  # shellcheck disable=SC2086
  node --test $E2E_WAITING >"$waiting_log" 2>&1 &
  local waiting_pid=$!
  local others=() f
  for f in tests/e2e/*.test.js tests/e2e/*.test.mjs; do
    case " $E2E_WAITING $E2E_LONG " in *" $f "*) ;; *) others+=("$f") ;; esac
  done
  local status=0
  node --test "${others[@]}" || status=$?
  local waiting_status=0 long_status=0
  wait "$waiting_pid" || waiting_status=$?
  log "end-to-end, the waiting scenarios ($E2E_WAITING)"
  cat "$waiting_log"
  rm -f "$waiting_log"
  if [ -n "$LONG_PID" ]; then
    wait "$LONG_PID" || long_status=$?
    LONG_PID=""
    log "end-to-end, the longest wait ($E2E_LONG)"
    cat "$LONG_LOG"
  else
    # shellcheck disable=SC2086
    node --test $E2E_LONG || long_status=$?
  fi
  [ "$status" -eq 0 ] && [ "$waiting_status" -eq 0 ] && [ "$long_status" -eq 0 ]
}

run_tests() {
  setup
  build_extension --test-variant
  build_extension
  start_long_e2e
  test_rust
  test_verify
  test_wasm
  test_dashboard
  test_e2e
}

# ----------------------------------------------------------------- demo ----

# The README's first command: the real server, the real extension in headless
# Chromium, two review sessions (one while the server is down), the dashboard.
run_demo() {
  setup
  build_extension
  log "building worktime-server"
  cargo build --locked -p worktime-server
  node tests/demo/demo.mjs "$@"
}

# ---------------------------------------------------------------- bench ----

# Batch-upsert throughput of the real server binary on SQLite, 1 and 8 clients.
bench_server() {
  log "bench server: batch upsert against worktime-server serve (release build), SQLite and PostgreSQL"
  pg_start
  trap pg_stop EXIT
  cargo bench --locked -p worktime-server --bench batch_upsert
  pg_stop
  trap - EXIT
}

# Every benchmark in one table, and as JSON in target/bench.json
# (tests/bench/bench.mjs): the built extension in Chromium against the
# release server and the fault proxy, then the server's batch bench.
# Figures, not pass/fail: exits non-zero only when a measurement failed.
# WORKTIME_DIST=<dir> measures that build instead of (re)building dist/.
bench_all() {
  setup
  [ -n "${WORKTIME_DIST:-}" ] || build_extension
  log "building worktime-server (release)"
  cargo build --locked --release -p worktime-server
  node tests/bench/bench.mjs "$@"
}

run_bench() {
  local what=${1:-}
  case "$what" in
    server) bench_server ;;
    -h|--help) node tests/bench/bench.mjs --help ;;
    ""|--*) bench_all "$@" ;;
    *) die "usage: ./build.sh bench [server] [--quick] [--idle-seconds N] (./build.sh bench --help)" ;;
  esac
}

# ------------------------------------------------------------------ sim ----

# The engine's deterministic fault simulator, in release mode, over many
# seeds: `./build.sh sim --seeds N [--steps M] [--first S]`; SIM_SEED=<n>
# replays one seed. Prints seeds, steps, violations and time; fails on any.
# `./build.sh sim --mutants` prints the mutation score: one line per planted
# bug (caught at seed N / step) and a last line `caught N of N`.
run_sim() {
  log "sim: building worktime-sim (release)"
  cargo build --locked --release -p worktime-sim
  target/release/worktime-sim "$@"
}

# The exhaustive model check (crates/worktime-model, stateright): every
# interleaving of a small world; prints the bounds, the distinct states
# explored and a last line `violations: N`; fails on any. `--quick` checks
# a smaller world.
run_model() {
  log "model: building worktime-model (release)"
  cargo build --locked --release -p worktime-model
  target/release/worktime-model "$@"
}

# What ./build.sh test adds to cargo test (which already runs 500 seeds,
# the mutants and a small model check in debug): the mutation table and the
# full model check, in release mode.
test_verify() {
  log "sim --mutants: every planted bug must be caught"
  run_sim --mutants
  log "model: exhaustive check of the small world"
  run_model
}

# ----------------------------------------------------------------- main ----

usage() {
  cat <<USAGE
usage: ./build.sh <command>
  setup   install what is missing (wasm target, wasm-bindgen-cli, chromium, npm packages)
  build   build the loadable extension into dist/ (wasm in release mode, bound and shrunk)
  build --test-variant   the end-to-end tests' own build (6 s fallback alarm) into target/dist-test/
  demo [--keep]  start the server, drive the real extension through two reviews, show them on the dashboard
  test    every test: fmt, clippy, native Rust tests, wasm tests in Chromium, end-to-end
  test server   the server's suite on SQLite, then on a throwaway PostgreSQL cluster
  bench [--quick] [--idle-seconds N]   every benchmark in one table (and target/bench.json); --help for options
  bench server   batch-upsert throughput of the server (sessions/s, 1 and 8 clients)
  sim [--seeds N] [--steps M]   the engine's fault simulator over N seeds (release mode)
  sim --mutants   the simulator's mutation score: each planted bug, where it was caught, 'caught N of N'
  model [--quick|--full]   exhaustive model check (stateright) of engine, storage, network and server; 'violations: 0'
USAGE
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup ;;
  build) build_extension "$@" ;;
  test)
    if [ "${1:-}" = server ]; then
      log "worktime-server: the suite on SQLite"
      cargo test --locked -p worktime-server
      test_server_postgres
    else
      run_tests "$@"
    fi ;;
  bench) run_bench "$@" ;;
  demo) run_demo "$@" ;;
  sim) run_sim "$@" ;;
  model) run_model "$@" ;;
  -h|--help|help|"") usage ;;
  *) usage >&2; die "unknown command: $cmd" ;;
esac
