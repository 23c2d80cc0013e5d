// The real worktime-server for dashboard tests: started on 127.0.0.1:0 with a
// fresh SQLite file in a temp dir, users and tokens made through its CLI,
// and stopped (by its own pid) at the end.
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Repository root (two levels above this folder's parent). */
export const ROOT = resolve(import.meta.dirname, '..', '..', '..');

/** The server binary: $WORKTIME_SERVER_BIN or the debug build. */
export const SERVER_BIN = process.env.WORKTIME_SERVER_BIN ?? join(ROOT, 'target', 'debug', 'worktime-server');

// Logs never carry colour codes, whatever the terminal.
const ENV = { ...process.env, NO_COLOR: '1', RUST_LOG: process.env.RUST_LOG ?? 'info' };

function stripAnsi(text) {
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

/** Runs a CLI subcommand against `db`; resolves to its standard output. */
export async function cli(db, ...args) {
  const { stdout } = await run(SERVER_BIN, [...args, '--db', db], { env: ENV, timeout: 20_000 });
  return stdout;
}

/**
 * Starts `worktime-server serve` on a free port. Resolves once it logged the
 * address it bound. `logs` collects everything it printed.
 */
export async function startServer({ startupTimeoutMs = 20_000, reuse, args = [] } = {}) {
  if (!existsSync(SERVER_BIN)) {
    throw new Error(`${SERVER_BIN} is missing: run \`cargo build -p worktime-server\` first`);
  }
  // `reuse`: a stopped server whose database this one opens (a restart).
  const dir = reuse ? reuse.dir : await mkdtemp(join(tmpdir(), 'worktime-dashboard-'));
  const db = join(dir, 'worktime.db');
  const child = spawn(SERVER_BIN, ['serve', '--addr', '127.0.0.1:0', '--db', db, ...args], {
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = {
    child,
    dir,
    db,
    logs: '',
    url: null,
    /** Stops the server; its files go too unless `keepFiles` (for a restart). */
    async stop({ keepFiles = false } = {}) {
      await stopChild(child);
      if (!keepFiles) await rm(dir, { recursive: true, force: true });
    },
  };
  const address = new Promise((resolveAddr, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not log its address within ${startupTimeoutMs} ms:\n${server.logs}`)), startupTimeoutMs);
    const onData = (chunk) => {
      server.logs += stripAnsi(chunk.toString());
      const m = /(127\.0\.0\.1:\d+)/.exec(server.logs);
      if (m && !m[1].endsWith(':0')) {
        clearTimeout(timer);
        resolveAddr(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${server.logs}`));
    });
  });
  try {
    server.url = `http://${await address}`;
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** `user add NAME [--admin]`. */
export async function addUser(server, name, { admin = false } = {}) {
  await cli(server.db, 'user', 'add', name, ...(admin ? ['--admin'] : []));
}

/** `token create`: the new token (the last line of standard output). */
export async function createToken(server, user, device) {
  const out = await cli(server.db, 'token', 'create', '--user', user, '--device', device);
  const lines = out.trim().split('\n');
  return lines[lines.length - 1].trim();
}

/** Calls the API like a device would; resolves to {status, body}. */
export async function api(server, token, method, path, body) {
  const res = await fetch(new URL(path, server.url), {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, body: json, headers: res.headers };
}

/** `PUT /api/v1/sessions/{id}`, failing loudly on anything but 2xx. */
export async function putSession(server, token, session) {
  const res = await api(server, token, 'PUT', `/api/v1/sessions/${session.local_id}`, session);
  if (res.status >= 300) throw new Error(`PUT ${session.local_id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** `POST /api/v1/sessions/batch`, failing loudly on any rejected item. */
export async function putBatch(server, token, sessions) {
  const res = await api(server, token, 'POST', '/api/v1/sessions/batch', { sessions });
  if (res.status >= 300) throw new Error(`batch: ${res.status} ${JSON.stringify(res.body)}`);
  const bad = res.body.results.filter((r) => r.status !== 'ok');
  if (bad.length) throw new Error(`batch rejected items: ${JSON.stringify(bad)}`);
  return res.body;
}

let counter = 0;

/**
 * A valid session body. `startedAgoS` seconds ago; ended after
 * `durationS` unless `active`.
 */
export function session({ owner = 'octo', repo = 'hello', pr = 1, startedAgoS = 600, durationS = 300, active = false, id, at } = {}) {
  const now = at ?? Date.now();
  const started = now - startedAgoS * 1000;
  const ended = started + durationS * 1000;
  const iso = (ms) => new Date(ms).toISOString();
  return {
    local_id: id ?? `t${process.pid}-${Date.now().toString(36)}-${counter++}`,
    repo_owner: owner,
    repo_name: repo,
    pr_number: pr,
    started_at: iso(started),
    ended_at: active ? null : iso(ended),
    active_seconds: active ? Math.max(0, Math.min(durationS, startedAgoS)) : durationS,
    state: active ? 'active' : 'ended',
    updated_at: iso(active ? now : ended),
  };
}

