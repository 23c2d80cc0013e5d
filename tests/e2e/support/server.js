// server.js — the real worktime-server for a test: a temporary SQLite file,
// a loopback port chosen by the OS, and a user + device token made through
// its own CLI. Stopped by pid when the test ends.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './paths.js';
import { waitFor } from './wait.js';

/** The server binary (`cargo build -p worktime-server`, honouring
 * $CARGO_TARGET_DIR), or $WORKTIME_SERVER_BIN. */
export const SERVER_BIN =
  process.env.WORKTIME_SERVER_BIN ||
  path.join(process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target'), 'debug/worktime-server');

function cli(db, args) {
  return execFileSync(SERVER_BIN, [...args, '--db', db], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Starts `worktime-server serve --addr 127.0.0.1:0 --db <tmp> [...args]` and
 * reads the port it logs. Returns `{ url, db, log(), addUserWithToken(user,
 * device), addToken(user, device), get(path, token), close() }`.
 */
export async function startServer({ args = [] } = {}) {
  if (!fs.existsSync(SERVER_BIN)) {
    throw new Error(`${SERVER_BIN} is missing: run cargo build -p worktime-server first`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-server-'));
  const db = path.join(dir, 'worktime.db');
  const child = spawn(SERVER_BIN, ['serve', '--addr', '127.0.0.1:0', '--db', db, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'info', NO_COLOR: '1' },
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });

  const port = await waitFor('the server to log its port', () => {
    if (exited) throw new Error(`worktime-server exited early (${JSON.stringify(exited)}):\n${output}`);
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
    return m && Number(m[1]) > 0 ? Number(m[1]) : null;
  }, { timeoutMs: 20000 });
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    db,
    log: () => output,
    /** `user add` + `token create`; the token is the last stdout line. */
    addUserWithToken(user, device) {
      cli(db, ['user', 'add', user]);
      return this.addToken(user, device);
    },
    /** `token create` for an existing user; the token is the last stdout line. */
    addToken(user, device) {
      const out = cli(db, ['token', 'create', '--user', user, '--device', device]);
      const lines = out.trim().split('\n');
      return lines[lines.length - 1].trim();
    },
    /** `GET path` with a bearer token; the parsed JSON body. */
    async get(pathAndQuery, token) {
      const res = await fetch(url + pathAndQuery, { headers: { authorization: `Bearer ${token}` } });
      const text = await res.text();
      if (!res.ok) throw new Error(`GET ${pathAndQuery}: ${res.status} ${text}`);
      return JSON.parse(text);
    },
    async close() {
      if (!exited) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
