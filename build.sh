#!/usr/bin/env bash
# One entry point for WorkTime Sync: setup | build | test | demo | bench | sim.
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
}

# ---------------------------------------------------------------- build ----

WASM_OUT=${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/wasm-release/worktime_wasm.wasm

# dist/: a loadable unpacked extension. Built next to it and swapped in, so a
# failed build never leaves a half-written dist/.
build_extension() {
  setup_rust
  setup_node
  log "building worktime-wasm (wasm-release)"
  cargo build --locked --profile wasm-release --target wasm32-unknown-unknown -p worktime-wasm
  # A fresh directory per run: two builds at once (a shared tree) must not
  # delete each other's half-built output.
  mkdir -p target
  local tmp; tmp=$(mktemp -d target/dist.tmp.XXXXXX)
  log "wasm-bindgen --target web"
  wasm-bindgen --target web --no-typescript --out-dir "$tmp" --out-name worktime_wasm "$WASM_OUT"
  log "wasm-opt -Oz"
  node_modules/.bin/wasm-opt -Oz "$tmp/worktime_wasm_bg.wasm" -o "$tmp/worktime_wasm_bg.wasm"
  cp manifest.json "$tmp/"
  cp -R extension/. "$tmp/"
  # Test-only settings (tests/e2e/support/dist-with-hooks.js) never ship.
  rm -f "$tmp/test-hooks.json"
  chmod 755 "$tmp"
  rm -rf dist
  mv "$tmp" dist
  local raw gz
  raw=$(wc -c < dist/worktime_wasm_bg.wasm)
  gz=$(gzip -9 -c dist/worktime_wasm_bg.wasm | wc -c)
  log "dist/ ready: worktime_wasm_bg.wasm $((raw / 1024)) KB raw, $((gz / 1024)) KB gzipped (limit: < 500 KB raw, issue 11)"
}

# ----------------------------------------------------------------- test ----

test_rust() {
  log "cargo fmt --check"
  cargo fmt --all --check
  log "cargo clippy (native)"
  cargo clippy --workspace --all-targets --locked -- -D warnings
  log "cargo test (native)"
  cargo test --workspace --locked
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
# A tab forgotten for the real 10-minute limit waits longest: a third runner
# of its own, so it waits beside both others instead of after them.
E2E_LONG="tests/e2e/forgotten_tab.test.js"

test_e2e() {
  log "end-to-end: the extension from dist/ in Chromium (tests/e2e)"
  cargo build --locked -p worktime-server
  local waiting_log; waiting_log=$(mktemp)
  # shellcheck disable=SC2086
  node --test $E2E_WAITING >"$waiting_log" 2>&1 &
  local waiting_pid=$!
  local long_log; long_log=$(mktemp)
  # shellcheck disable=SC2086
  node --test $E2E_LONG >"$long_log" 2>&1 &
  local long_pid=$!
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
  wait "$long_pid" || long_status=$?
  log "end-to-end, the longest wait ($E2E_LONG)"
  cat "$long_log"
  rm -f "$long_log"
  [ "$status" -eq 0 ] && [ "$waiting_status" -eq 0 ] && [ "$long_status" -eq 0 ]
}

run_tests() {
  setup
  build_extension
  test_rust
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
  log "bench server: batch upsert against worktime-server serve (release build)"
  cargo bench --locked -p worktime-server --bench batch_upsert
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
run_sim() {
  log "sim: building worktime-sim (release)"
  cargo build --locked --release -p worktime-sim
  target/release/worktime-sim "$@"
}

# ----------------------------------------------------------------- main ----

usage() {
  cat <<USAGE
usage: ./build.sh <command>
  setup   install what is missing (wasm target, wasm-bindgen-cli, chromium, npm packages)
  build   build the loadable extension into dist/ (wasm in release mode, bound and shrunk)
  demo [--keep]  start the server, drive the real extension through two reviews, show them on the dashboard
  test    every test: fmt, clippy, native Rust tests, wasm tests in Chromium, end-to-end
  bench [--quick] [--idle-seconds N]   every benchmark in one table (and target/bench.json); --help for options
  bench server   batch-upsert throughput of the server (sessions/s, 1 and 8 clients)
  sim [--seeds N] [--steps M]   the engine's fault simulator over N seeds (release mode)
USAGE
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup ;;
  build) build_extension ;;
  test) run_tests "$@" ;;
  bench) run_bench "$@" ;;
  demo) run_demo "$@" ;;
  sim) run_sim "$@" ;;
  -h|--help|help|"") usage ;;
  *) usage >&2; die "unknown command: $cmd" ;;
esac
