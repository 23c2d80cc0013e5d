// The duplicate trap: the server applied the request but its answer was
// lost on the way back. The extension cannot tell that from a lost request,
// so it sends the same sessions again; the server's idempotent upsert keeps
// exactly one row per session, with the active seconds the extension sent.
// Shown for a batch (POST /sessions/batch) and for a single session (PUT).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

let stack;
let server;
let proxy;
let ext;
let token;
let options;

before(async () => {
  stack = await startStack({ faultProxy: true });
  ({ server, proxy, ext } = stack);
  token = server.addUserWithToken('dee', 'desk');
  options = await ext.context.newPage();
  await options.goto(ext.url('options.html'));
});

after(() => stack?.close());

const view = async () => (await askWorker(options, { type: 'get-status' })).reply.view;
const rows = async () => (await server.get('/api/v1/sessions', token)).sessions;

/** Opens PR `number` and waits until the worker times it. */
async function open(number) {
  const page = await ext.context.newPage();
  await page.goto(`https://github.com/octo/hello-world/pull/${number}`);
  await waitFor(`PR ${number} to be timed`, async () => (await view()).current?.pr === `octo/hello-world#${number}`);
  return { page, number, openedAt: Date.now() };
}

async function close(review) {
  review.closedAt = Date.now();
  await review.page.close();
}

/** `active_seconds` within a second of how long the page was open. */
function assertAbout(row, review) {
  const stayed = (review.closedAt - review.openedAt) / 1000;
  assert.ok(
    row.active_seconds >= Math.floor(stayed) - 1 && row.active_seconds <= Math.ceil(stayed) + 1,
    `PR ${review.number}: active_seconds ${row.active_seconds}, page open ${stayed.toFixed(1)} s`,
  );
}

test('a batch applied by the server whose answer is lost is sent again and stored once', async () => {
  // Three reviews end before a server is configured, so they leave together
  // in one batch as soon as the token is saved.
  const reviews = [];
  for (const number of [71, 72, 73]) reviews.push(await open(number));
  await waitFor('2 s on the last PR', () => Date.now() - reviews[2].openedAt >= 2000, { timeoutMs: 5000 });
  for (const review of reviews) await close(review);
  await waitFor('nothing timed', async () => (await view()).current === null);

  proxy.inject({ kind: 'apply-then-drop' }, { times: 1, method: 'POST', path: '/api/v1/sessions/batch' });
  assert.ok((await askWorker(options, { type: 'save-settings', serverUrl: proxy.url, token })).ok);

  await waitFor('the retried batch to be answered', () =>
    proxy.requests.some((r) => r.path === '/api/v1/sessions/batch' && r.fault === null && r.status === 200));
  await waitFor('the worker to say Synced', async () => (await view()).status.line === 'Synced');

  const batches = proxy.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/sessions/batch');
  assert.equal(batches.length, 2, 'sent once, lost, sent once more');
  assert.equal(batches[0].fault, 'apply-then-drop');
  assert.equal(batches[0].status, 200, 'the server applied the first one');
  const sent = JSON.parse(batches[0].body).sessions;
  assert.deepEqual(JSON.parse(batches[1].body).sessions, sent, 'the retry carries the very same sessions');
  assert.deepEqual(sent.map((s) => s.pr_number).sort(), [71, 72, 73]);

  const stored = await rows();
  assert.equal(stored.length, 3, 'one row per session');
  for (const review of reviews) {
    const row = stored.find((s) => s.pr_number === review.number);
    const mine = sent.find((s) => s.pr_number === review.number);
    assert.equal(row.local_id, mine.local_id);
    assert.equal(row.state, 'ended');
    assert.equal(row.active_seconds, mine.active_seconds, `PR ${review.number}: the seconds sent, not twice them`);
    assertAbout(row, review);
  }
});

test('a single session applied by the server whose answer is lost is sent again and stored once', async () => {
  const review = await open(74);
  await waitFor('PR 74 started on the server', async () => (await rows()).some((s) => s.pr_number === 74));
  await waitFor('2 s on the PR', () => Date.now() - review.openedAt >= 2000, { timeoutMs: 5000 });

  const since = Date.now();
  proxy.inject({ kind: 'apply-then-drop' }, { times: 1, method: 'PUT', path: '/api/v1/sessions/' });
  await close(review);
  await waitFor('the retried PUT to be answered', () =>
    proxy.seenSince(since).some((r) => r.method === 'PUT' && r.fault === null && r.status === 200));
  await waitFor('the worker to say Synced', async () => (await view()).status.line === 'Synced');

  const puts = proxy.seenSince(since).filter((r) => r.method === 'PUT');
  assert.equal(puts.length, 2, 'sent once, lost, sent once more');
  assert.equal(puts[0].fault, 'apply-then-drop');
  assert.equal(puts[0].status, 200, 'the server applied the first one');
  assert.equal(puts[1].path, puts[0].path);
  const sent = JSON.parse(puts[0].body);
  assert.deepEqual(JSON.parse(puts[1].body), sent, 'the retry carries the very same session');
  assert.equal(sent.state, 'ended');

  const mine = (await rows()).filter((s) => s.pr_number === 74);
  assert.equal(mine.length, 1, 'one row');
  assert.equal(mine[0].local_id, sent.local_id);
  assert.equal(mine[0].state, 'ended');
  assert.equal(mine[0].active_seconds, sent.active_seconds);
  assertAbout(mine[0], review);
  assert.equal((await rows()).length, 4, 'the earlier three and this one, nothing else');
  assert.deepEqual(ext.consoleErrors, []);
});
