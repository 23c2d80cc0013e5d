// server-ingest.js — the server's batch ingest: runs the server's own
// benchmark (crates/worktime-server/benches/batch_upsert.rs, the same as
// `./build.sh bench server`) and reads its figures from what it prints.
import { spawn } from 'node:child_process';
import { ROOT } from '../e2e/support/paths.js';

const LINES = [
  ['oneClient', /new sessions, 1 client\s*:\s*(\d+) sessions\/s/],
  ['eightClients', /new sessions, 8 clients\s*:\s*(\d+) sessions\/s/],
  ['replay', /replayed \(no-op\), 8 clients\s*:\s*(\d+) sessions\/s/],
  ['goal', /goal (\d+) sessions\/s/],
  ['sessions', /batch upsert, (\d+) sessions per round/],
];

/** Runs `cargo bench -p worktime-server --bench batch_upsert`; `sessions`
 * sets BENCH_SESSIONS (per round). Its output is passed through to `log`. */
export function measureServerIngest({ sessions, log }) {
  return new Promise((resolve, reject) => {
    const child = spawn('cargo', ['bench', '--locked', '-p', 'worktime-server', '--bench', 'batch_upsert'], {
      cwd: ROOT,
      env: { ...process.env, BENCH_SESSIONS: String(sessions) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      log(String(d).trimEnd());
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`cargo bench exited with ${code}:\n${err.split('\n').slice(-20).join('\n')}`));
        return;
      }
      const figures = {};
      for (const [key, re] of LINES) {
        const m = re.exec(out);
        if (!m) {
          reject(new Error(`cargo bench printed no "${re.source}" line:\n${out}`));
          return;
        }
        figures[key] = Number(m[1]);
      }
      resolve(figures);
    });
  });
}
