// Promise 6, the network half: during a whole review session the extension
// talks to the configured server and to nothing else, and the token goes
// nowhere else. Two records, each checked with a control request to another
// host that it must catch:
// - Playwright's context-level request events: every request of pages and
//   workers, the extension's service worker included (also after MV3
//   restarted it), with headers, so the token can be followed;
// - Chromium's NetLog: everything the network stack did from the browser's
//   first second (the extension's first worker start included, before
//   Playwright attached), each request with the origin that asked for it.
// The test's own github.com page loads are told apart by where a request
// came from; Chromium's own traffic (no origin) is not the extension's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { netLogArgs, netLogRequests } from './support/netlog.js';
import { startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const CONTROL = 'http://127.0.0.2:9';

let stack;
let server;
let ext;
let logDir;
let netLog;
const recorded = [];

before(async () => {
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-netlog-'));
  netLog = path.join(logDir, 'netlog.json');
  stack = await startStack({ browserArgs: netLogArgs(netLog) });
  ({ server, ext } = stack);
  ext.context.on('request', (request) => recorded.push(describe(request)));
});

after(async () => {
  await stack?.close();
  if (logDir) fs.rmSync(logDir, { recursive: true, force: true });
});

/** `scheme://host[:port]`; Node's URL gives `null` as the origin of
 * chrome-extension:// URLs, so it is put together by hand. */
function originOf(href) {
  const url = new URL(href);
  return url.host ? `${url.protocol}//${url.host}` : url.protocol;
}

/** Where a request came from: the worker, a page (by its origin), or a
 * navigation the test started. Headers are read later (they are async). */
function describe(request) {
  let source;
  if (request.serviceWorker()) source = 'worker';
  else if (request.isNavigationRequest()) source = 'navigation';
  else {
    try {
      source = `page ${originOf(request.frame().page().url())}`;
    } catch {
      source = 'unknown';
    }
  }
  return {
    source,
    origin: originOf(request.url()),
    url: request.url(),
    method: request.method(),
    body: request.postData(),
    headers: request.allHeaders().catch(() => ({})),
  };
}

test('a review session contacts no host but the configured server, and the token goes only there', async (t) => {
  const token = server.addUserWithToken('uma', 'laptop');
  const { context } = ext;
  const own = `chrome-extension://${ext.extensionId}`;
  const github = 'https://github.com';

  // Configure as a user does, and test the connection.
  const options = await context.newPage();
  await options.goto(ext.url('options.html'));
  await options.getByLabel('Server URL').fill(server.url);
  await options.getByLabel('API token').fill(token);
  await options.getByRole('button', { name: 'Save' }).click();
  // Save tests the connection too, and says who the token is.
  await waitFor('"Saved. Connected as uma …"', async () =>
    (await options.locator('#result').textContent()).startsWith('Saved. Connected as uma'));
  await options.getByRole('button', { name: 'Test connection' }).click();
  await waitFor('the connection test to name the user', async () =>
    (await options.locator('#result').textContent()).startsWith('Connected as uma'));

  // Review, with the popup open (it pulls today's sessions) and an MV3
  // worker stop in the middle; closing the tab wakes the worker.
  const pr = await context.newPage();
  await pr.goto('https://github.com/octo/hello-world/pull/15/files');
  const popup = await context.newPage();
  await popup.goto(ext.url('popup.html'));
  await waitFor('the popup to name the PR', async () => (await popup.locator('#current-pr').textContent()) === 'octo/hello-world#15');
  await waitFor('the started session on the server', async () =>
    (await server.get('/api/v1/sessions?state=active', token)).sessions.some((s) => s.pr_number === 15));
  const cdp = await context.newCDPSession(options);
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  const stoppedAt = recorded.length;
  await pr.close();
  await waitFor('the ended session on the server', async () =>
    (await server.get('/api/v1/sessions?state=ended', token)).sessions.some((s) => s.pr_number === 15));
  await popup.reload();
  await waitFor('Sync now to be enabled', async () => !(await popup.getByRole('button', { name: 'Sync now' }).isDisabled()));
  await popup.getByRole('button', { name: 'Sync now' }).click();
  await waitFor('the popup to say Synced', async () => (await popup.locator('#status').textContent()) === 'Synced');

  // What may come from where.
  const allowed = {
    worker: [server.url, own],
    navigation: [github, own],
    [`page ${own}`]: [own],
    [`page ${github}`]: [github],
  };
  const seen = [...recorded];
  const stray = seen.filter((r) => !(allowed[r.source] ?? []).includes(r.origin));
  assert.deepEqual(stray.map((r) => `${r.source}: ${r.method} ${r.url}`), [], 'requests to hosts other than the server');
  const fromWorker = seen.filter((r) => r.source === 'worker' && r.origin === server.url);
  assert.ok(fromWorker.some((r) => r.method === 'PUT'), 'the recorder saw the worker send the session');
  assert.ok(
    seen.slice(stoppedAt).some((r) => r.source === 'worker' && r.origin === server.url),
    'and the restarted worker send the ended session',
  );
  assert.ok(seen.some((r) => r.source === 'navigation' && r.origin === github), 'and the test\'s own PR page load');

  // The token: only in requests to the server, never in a URL or a body.
  for (const r of seen) {
    const headers = await r.headers;
    const carries = Object.values(headers).some((v) => String(v).includes(token));
    if (carries) assert.equal(r.origin, server.url, `${r.method} ${r.url} carries the token`);
    assert.ok(!r.url.includes(token), `${r.url} holds the token`);
    assert.ok(!(r.body ?? '').includes(token), `the body of ${r.method} ${r.url} holds the token`);
  }
  const authorized = [];
  for (const r of fromWorker) if ((await r.headers).authorization === `Bearer ${token}`) authorized.push(r);
  assert.ok(authorized.length > 0, 'the worker\'s requests to the server carry the token');

  // Control: a request from the worker to another host is caught, by both.
  const before = recorded.length;
  await ext.worker.evaluate((url) => fetch(url).catch(() => null), `${CONTROL}/control`);
  await waitFor('the recorder to see the control request', () =>
    recorded.slice(before).some((r) => r.source === 'worker' && r.origin === CONTROL));
  const net = await waitFor('the NetLog to show the control request as the extension\'s', () => {
    const all = netLogRequests(netLog);
    return all.some((r) => r.initiator === own && originOf(r.url) === CONTROL) && all;
  });

  // The NetLog, from launch: what the extension asked for went to the
  // server; what github.com pages asked for stayed on github.com.
  const review = net.filter((r) => originOf(r.url) !== CONTROL);
  const netAllowed = { [own]: [server.url, own], [github]: [github] };
  const netStray = review.filter((r) => r.initiator in netAllowed && !netAllowed[r.initiator].includes(originOf(r.url)));
  assert.deepEqual(netStray.map((r) => `${r.initiator}: ${r.method} ${r.url}`), [], 'NetLog: the extension reached another host');
  const askers = new Set(review.map((r) => r.initiator));
  for (const asker of askers) {
    assert.ok([own, github, 'not an origin', null].includes(asker), `NetLog: a request asked for by ${asker}`);
  }
  assert.ok(
    review.some((r) => r.initiator === own && originOf(r.url) === server.url && r.method === 'PUT'),
    'NetLog: the extension\'s session PUT is there',
  );
  const browserOwn = [...new Set(review.filter((r) => r.initiator !== own && r.initiator !== github).map((r) => originOf(r.url)))];
  t.diagnostic(`asked for by no page and no extension (the test's navigations, Chromium's own services): ${browserOwn.join(', ') || 'none'}`);
});
