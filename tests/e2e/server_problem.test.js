// Issue #10, loss path 1: a reverse proxy in front of the server answers its
// own HTML 404 page to every request while reviews end — with CORS headers
// (the worker reads the 404) or without (the browser only reports a network
// error). No review is lost or failed: the popup says "Server problem" with
// what was answered and what to check (or, without CORS, that they wait),
// the fallback alarm probes, and once the proxy is fixed every review
// arrives, each once, none failed. A redirect is never followed: the address
// it points to sees no request, so the token stays with the configured
// server. The fallback alarm is 6 s in the tests' own build (--test-variant).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { askWorker } from './support/browser.js';
import { testVariant } from './support/test-variant.js';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

/** The test variant's fallback alarm period. */
const ALARM_MINUTES = 0.1;
const REVIEWS = 4;

let stack;
let elsewhere;
const elsewhereSaw = [];

before(async () => {
  stack = await startStack({ faultProxy: true, dist: testVariant() });
  // Where a redirect would send the token, were it followed.
  elsewhere = http.createServer((req, res) => {
    elsewhereSaw.push({ method: req.method, path: req.url, authorization: req.headers.authorization ?? null });
    res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
    res.end('{}');
  });
  await new Promise((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  await stack?.close();
  await new Promise((resolve) => (elsewhere ? elsewhere.close(resolve) : resolve()));
});

/** Opens PR `number`, waits until the worker times it, and closes it. */
async function review(popup, number) {
  const pr = await stack.ext.context.newPage();
  await pr.goto(`https://github.com/octo/hello-world/pull/${number}`);
  await waitFor(`PR ${number} to be timed`, async () =>
    (await askWorker(popup, { type: 'get-status' })).reply.view.current?.pr === `octo/hello-world#${number}`);
  await pr.close();
}

/** The ended sessions of `numbers` on the server, once all are there. */
async function allEndedOnServer(token, numbers) {
  return waitFor(`PRs ${numbers.join(', ')} ended on the server`, async () => {
    const rows = (await stack.server.get('/api/v1/sessions?state=ended&limit=500', token)).sessions;
    const mine = rows.filter((s) => numbers.includes(s.pr_number));
    return mine.length === numbers.length && mine;
  }, { timeoutMs: 60000, intervalMs: 250 });
}

test('a proxy answering its own HTML 404 page with CORS headers: "Server problem", nothing failed, all arrive once it is fixed', async () => {
  const { ext, proxy, server } = stack;
  const { page: popup, token } = await signIn(stack, { user: 'pia', device: 'desk', page: 'popup.html', serverUrl: proxy.url });
  proxy.inject({ kind: 'page', status: 404 });
  const brokenFrom = Date.now();
  const numbers = Array.from({ length: REVIEWS }, (_, i) => 1000 + i);
  for (const n of numbers) await review(popup, n);

  await waitFor(`the popup to say "Server problem" with ${REVIEWS} waiting`, async () =>
    (await popup.locator('#status').textContent()) === 'Server problem' &&
    (await popup.locator('#server-problem').isVisible()) &&
    (await askWorker(popup, { type: 'get-status' })).reply.view.server_problem?.includes(`${REVIEWS} reviews wait`));
  const banner = await popup.locator('#server-problem').textContent();
  for (const part of [proxy.url, 'HTTP 404 with an HTML page', 'Check the server URL', 'nothing is lost']) {
    assert.ok(banner.includes(part), `${JSON.stringify(part)} missing from ${JSON.stringify(banner)}`);
  }
  const { view } = (await askWorker(popup, { type: 'get-status' })).reply;
  assert.deepEqual(view.failed, [], 'nothing dead-lettered');
  assert.equal(view.failed_dropped, 0);
  assert.equal(await ext.worker.evaluate(() => chrome.action.getBadgeText({})), '!');

  // The fallback alarm probes (GET /api/v1/me), and nothing hammers the proxy.
  await waitFor('a probe on the fallback alarm', () =>
    proxy.seenSince(brokenFrom).some((r) => r.method === 'GET' && r.path === '/api/v1/me' && r.fault === 'page'),
  { timeoutMs: 20000 });
  const brokenMs = Date.now() - brokenFrom;
  const seen = proxy.seenSince(brokenFrom);
  assert.ok(seen.every((r) => r.fault === 'page'), 'nothing got past the proxy');
  const allowed = 3 + REVIEWS + Math.ceil(brokenMs / (ALARM_MINUTES * 60000));
  assert.ok(seen.length <= allowed, `${seen.length} requests in ${brokenMs} ms (at most ${allowed})`);
  assert.equal((await server.get('/api/v1/sessions', token)).sessions.length, 0, 'nothing reached the server');

  proxy.heal();
  const rows = await allEndedOnServer(token, numbers);
  assert.deepEqual(rows.map((s) => s.pr_number).sort(), numbers);
  assert.equal((await server.get('/api/v1/sessions?limit=500', token)).sessions.length, REVIEWS, 'each once');
  await waitFor('the popup to say Synced', async () =>
    (await popup.locator('#status').textContent()) === 'Synced' && !(await popup.locator('#server-problem').isVisible()));
  const healed = (await askWorker(popup, { type: 'get-status' })).reply.view;
  assert.deepEqual(healed.failed, []);
  assert.equal(healed.server_problem, null);
  assert.equal(await ext.worker.evaluate(() => chrome.action.getBadgeText({})), '');
  await popup.close();
});

test('the same page without CORS headers: the reviews wait as unreachable, none failed, all arrive once it is fixed', async () => {
  const { proxy, server } = stack;
  const { page: popup, token } = await signIn(stack, { user: 'quinn', device: 'desk', page: 'popup.html', serverUrl: proxy.url });
  proxy.inject({ kind: 'page', status: 404, cors: false });
  const brokenFrom = Date.now();
  const numbers = Array.from({ length: REVIEWS }, (_, i) => 2000 + i);
  for (const n of numbers) await review(popup, n);
  await waitFor(`the popup to say "${REVIEWS} pending" with the last error`, async () =>
    (await popup.locator('#status').textContent()) === `${REVIEWS} pending` &&
    (await popup.locator('#last-error').isVisible()));
  assert.deepEqual((await askWorker(popup, { type: 'get-status' })).reply.view.failed, []);
  assert.ok(proxy.seenSince(brokenFrom).every((r) => r.fault === 'page'));

  proxy.heal();
  await allEndedOnServer(token, numbers);
  assert.equal((await server.get('/api/v1/sessions?limit=500', token)).sessions.length, REVIEWS, 'each once');
  await waitFor('the popup to say Synced', async () => (await popup.locator('#status').textContent()) === 'Synced');
  assert.deepEqual((await askWorker(popup, { type: 'get-status' })).reply.view.failed, []);
  await popup.close();
});

test('a redirect is not followed: the other address sees nothing, sync pauses, and resumes when the server answers again', async () => {
  const { proxy, server } = stack;
  const { page: popup, token } = await signIn(stack, { user: 'rosa', device: 'desk', page: 'popup.html', serverUrl: proxy.url });
  const target = `http://127.0.0.1:${elsewhere.address().port}/api/v1/sessions/x`;
  proxy.inject({ kind: 'page', status: 307, headers: { location: target } });
  const numbers = [3000, 3001];
  for (const n of numbers) await review(popup, n);
  await waitFor('the popup to say "Server problem"', async () =>
    (await popup.locator('#status').textContent()) === 'Server problem');
  assert.match(await popup.locator('#server-problem').textContent(), /redirect/);
  assert.deepEqual(elsewhereSaw, [], 'the redirect target got no request, so no token');
  assert.deepEqual((await askWorker(popup, { type: 'get-status' })).reply.view.failed, []);

  proxy.heal();
  await allEndedOnServer(token, numbers);
  assert.equal((await server.get('/api/v1/sessions?limit=500', token)).sessions.length, numbers.length);
  assert.deepEqual(elsewhereSaw, []);
  await waitFor('the popup to say Synced', async () => (await popup.locator('#status').textContent()) === 'Synced');
  assert.deepEqual(stack.ext.consoleErrors, []);
});
