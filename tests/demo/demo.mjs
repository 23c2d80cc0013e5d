// demo.mjs — `./build.sh demo`: a newcomer's first look at WorkTime Sync.
//
// Starts the real worktime-server on its SQLite default (a file under
// target/demo/), opens its dashboard in headless Chromium, loads the real
// extension from dist/, configures it through its options page as a person
// would, and reviews two pull requests on a local stand-in for github.com:
// one while the server is up, one while it is briefly stopped. It prints, in
// plain words, when each session ended, when it reached the server and when
// it appeared on the open dashboard. It exits leaving no process behind,
// unless `--keep`, which keeps the server up for a person to look.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startGithub } from '../e2e/support/github.js';
import { launchExtension, askWorker } from '../e2e/support/browser.js';
import { waitFor } from '../e2e/support/wait.js';
import { ROOT } from '../e2e/support/paths.js';
import { SERVER_BIN } from '../e2e/support/server.js';

const keep = process.argv.includes('--keep');
const DEMO_DIR = path.join(ROOT, 'target', 'demo');
const DB = path.join(DEMO_DIR, 'worktime.db');
const t0 = Date.now();
/** The running server, stopped on every way out. */
let server = null;

const say = (text) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${text}`);
const clock = (ms) => new Date(ms).toISOString().slice(11, 23);

function cli(args) {
  return execFileSync(SERVER_BIN, [...args, '--db', DB], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `worktime-server serve` on `addr`; resolves with its URL and a stop(). */
async function serve(addr) {
  const child = spawn(SERVER_BIN, ['serve', '--addr', addr, '--db', DB], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: 'warn', NO_COLOR: '1' },
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  const url = await waitFor('the server to say where it listens', () => {
    if (exited) throw new Error(`worktime-server exited (${JSON.stringify(exited)}):\n${output}`);
    return /listening on (http:\/\/\S+)/.exec(output)?.[1];
  }, { timeoutMs: 20000 });
  return {
    url,
    child,
    async stop() {
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    },
  };
}

async function sessionOnServer(url, token, localIdOrPr) {
  const res = await fetch(`${url}/api/v1/sessions?limit=50`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) return null;
  const { sessions } = await res.json();
  return sessions.find((s) => s.state === 'ended' && `${s.repo_owner}/${s.repo_name}#${s.pr_number}` === localIdOrPr);
}

/** The popup's status line, as a person looking at the open popup reads it. */
async function popupLine(popup) {
  return (await popup.locator('#status').textContent()).trim();
}

/** Opens a PR, keeps it visible for `seconds`, closes the tab; returns the close time. */
async function review(context, pr, seconds) {
  const [owner, repo, number] = pr.split(/[/#]/);
  const tab = await context.newPage();
  await tab.goto(`https://github.com/${owner}/${repo}/pull/${number}`);
  say(`opened ${pr} — reviewing for ${seconds} s`);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000)); // the reviewer reads
  await tab.close({ runBeforeUnload: true });
  const closedAt = Date.now();
  say(`closed ${pr} at ${clock(closedAt)}`);
  return closedAt;
}

async function main() {
  fs.rmSync(DEMO_DIR, { recursive: true, force: true });
  fs.mkdirSync(DEMO_DIR, { recursive: true });
  cli(['user', 'add', 'demo', '--admin']);
  const extensionToken = cli(['token', 'create', '--user', 'demo', '--device', 'demo-chromium']).trim().split('\n').pop();
  const dashboardToken = cli(['token', 'create', '--user', 'demo', '--device', 'dashboard']).trim().split('\n').pop();

  server = await serve('127.0.0.1:0');
  const addr = new URL(server.url).host;
  say(`server up at ${server.url} (SQLite: ${path.relative(ROOT, DB)})`);

  const github = await startGithub();
  const ext = await launchExtension({ githubPort: github.port });
  const cleanups = [() => ext.close(), () => github.close()];
  try {
    const { context } = ext;
    say(`extension loaded from dist/ (id ${ext.extensionId})`);

    // Configure through the options page, as a person would.
    const options = await context.newPage();
    await options.goto(ext.url('options.html'));
    await options.getByLabel('Server URL').fill(server.url);
    await options.getByLabel('API token').fill(extensionToken);
    await options.getByRole('button', { name: 'Save' }).click();
    await options.getByRole('button', { name: 'Test connection' }).click();
    const connected = await waitFor('the options page to confirm the connection', async () => {
      const text = await options.locator('#result').textContent();
      return text.startsWith('Connected') ? text : null;
    });
    say(`options page: ${connected}`);

    // The dashboard, open and live, as a team lead would have it.
    const dashboard = await context.newPage();
    await dashboard.setViewportSize({ width: 1280, height: 900 });
    await dashboard.goto(server.url);
    await dashboard.locator('#token').fill(dashboardToken);
    await dashboard.locator('#signin-submit').click();
    await dashboard.locator('#conn[data-state="live"]').waitFor({ timeout: 15000 });
    say('dashboard signed in and live');

    const report = [];
    async function follow(pr, closedAt) {
      const row = await waitFor(`${pr} on the server`, () => sessionOnServer(server.url, dashboardToken, pr), {
        timeoutMs: 90000,
        intervalMs: 50,
      });
      const onServer = Date.now();
      await dashboard
        .locator(`#sessions-body tr[data-local-id="${row.local_id}"][data-state="ended"]`)
        // After an outage the dashboard reconnects with backoff (up to 30 s) and catches up.
        .waitFor({ timeout: 45000 });
      const onPage = Date.now();
      say(`${pr}: on the server ${onServer - closedAt} ms after the close, on the dashboard ${onPage - closedAt} ms after`);
      report.push({ pr, active: row.active_seconds, ended: row.ended_at, closedAt, onServer, onPage });
    }

    // 1. A review while everything is up.
    await follow('octo/hello-world#7', await review(context, 'octo/hello-world#7', 3));

    // 2. A review while the server is unreachable: it waits, durable, and goes when the server is back.
    await server.stop();
    say('server stopped (unreachable)');
    const closed = await review(context, 'octo/hello-world#8', 3);
    const popup = await context.newPage();
    await popup.goto(ext.url('popup.html'));
    const seen = new Set();
    const waiting = await waitFor('the popup to show the session waiting', async () => {
      const line = await popupLine(popup);
      seen.add(line);
      return /pending|Offline|failed/.test(line) ? line : null;
    }).catch((err) => {
      throw new Error(`${err.message}; the popup said: ${[...seen].join(' / ')}`);
    });
    say(`popup says: ${waiting}`);
    await new Promise((resolve) => setTimeout(resolve, 4000)); // the outage goes on a little
    server = await serve(addr);
    const backAt = Date.now();
    say('server back');
    await follow('octo/hello-world#8', closed);
    report.at(-1).note = `; the server had been back for ${report.at(-1).onServer - backAt} ms (retries back off: 1 s, 2 s, 4 s, 8 s…)`;
    say(`popup says: ${await waitFor('the popup to say Synced', async () => {
      const line = await popupLine(popup);
      return line === 'Synced' ? line : null;
    }, { timeoutMs: 30000 })}`);

    await dashboard.screenshot({ path: path.join(DEMO_DIR, 'dashboard.png'), fullPage: true });

    console.log('\nWhat happened:');
    for (const r of report) {
      console.log(
        `  ${r.pr.padEnd(20)} ${String(r.active).padStart(3)} s active, ended ${r.ended}; ` +
          `reached the server ${r.onServer - r.closedAt} ms and the dashboard ${r.onPage - r.closedAt} ms after the tab closed${r.note ?? ''}`,
      );
    }
    console.log(`\nDashboard screenshot: ${path.relative(ROOT, path.join(DEMO_DIR, 'dashboard.png'))}`);
    console.log(`Dashboard: ${server.url}/   token: ${dashboardToken}`);
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
  }

  if (keep) {
    console.log('\n--keep: the server stays up; press Ctrl-C to stop it.');
    const stop = () => server.stop().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } else {
    await server.stop();
  }
}

main().catch(async (err) => {
  console.error(`demo failed: ${err.stack || err}`);
  await server?.stop().catch(() => {});
  process.exit(1);
});
