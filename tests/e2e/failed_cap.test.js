// More than 50 permanent failures: the failed list keeps the newest 50 and
// the popup says how many older ones were dropped. 55 reviews follow one
// another in one tab (GitHub's in-page navigation from PR to PR); the fault
// proxy refuses every session write (a PUT with 400 naming the field, a batch
// item by item), so each one fails for good.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const REVIEWS = 55;
const CAP = 50;
const REFUSAL = { error: { code: 'invalid_field', message: 'pr_number: refused by the test', field: 'pr_number' } };

let stack;
let server;
let proxy;
let ext;

before(async () => {
  stack = await startStack({ faultProxy: true });
  ({ server, proxy, ext } = stack);
});

after(() => stack?.close());

test('55 refused sessions: the failed list holds the newest 50 and says 5 were dropped', async () => {
  const { page: popup, token } = await signIn(stack, { user: 'max', device: 'desk', page: 'popup.html', serverUrl: proxy.url });
  // The server's verdict on each session: a PUT refused naming the field, a
  // batch answered item by item (a 400 to a whole batch is not about its
  // items: it pauses sync instead, see server_problem.test.js).
  proxy.inject({ kind: 'status', status: 400, body: REFUSAL }, { method: 'PUT', path: '/api/v1/sessions' });
  proxy.inject({ kind: 'reject-all', message: REFUSAL.error.message }, { method: 'POST', path: '/api/v1/sessions/batch' });
  const view = async () => (await askWorker(popup, { type: 'get-status' })).reply.view;

  // PR 1, then in-page navigation to PR 2 (which ends 1), … PR 55, then off
  // pull requests (which ends 55).
  const page = await ext.context.newPage();
  await page.goto('https://github.com/octo/hello-world/pull/1');
  for (let n = 1; n <= REVIEWS; n += 1) {
    if (n > 1) await page.evaluate((path) => history.pushState({}, '', path), `/octo/hello-world/pull/${n}`);
    await waitFor(`PR ${n} to be timed`, async () => (await view()).current?.pr === `octo/hello-world#${n}`, {
      intervalMs: 20,
    });
  }
  await page.evaluate(() => history.pushState({}, '', '/octo/hello-world/pulls'));
  await waitFor('nothing timed', async () => (await view()).current === null);

  // The last refusal (PR 55's ended version) makes it 5 dropped.
  await waitFor(`the popup to say ${CAP} failed with ${REVIEWS - CAP} dropped`, async () =>
    (await popup.locator('#status').textContent()) === `${CAP} failed` &&
    (await popup.locator('#failed-dropped').isVisible()) &&
    (await popup.locator('#failed-dropped').textContent()) ===
      '5 older failed items were dropped (the list keeps the latest 50).', { timeoutMs: 20000 });
  assert.equal((await view()).failed_dropped, REVIEWS - CAP);
  const items = popup.locator('#failed-list li');
  assert.equal(await items.count(), CAP);
  const listed = await items.locator('.what').allTextContents();
  const newest = Array.from({ length: CAP }, (_, i) => `octo/hello-world#${REVIEWS - CAP + 1 + i}`);
  assert.deepEqual(listed, newest, 'the newest 50, oldest of them first; PRs 1 to 5 were dropped');
  for (const why of await items.locator('.why').allTextContents()) {
    assert.match(why, /^pr_number: refused by the test \(after \d+ attempts?\)$/);
  }
  // Every session write was refused; only the popup's pulls got through.
  const requests = proxy.requests.filter((r) => r.method !== 'OPTIONS' && r.path.startsWith('/api/v1/sessions'));
  assert.ok(requests.length > 0 && requests.every((r) => r.method === 'GET' || r.fault !== null));
  assert.deepEqual((await server.get('/api/v1/sessions', token)).sessions, [], 'nothing refused reached the server');
  assert.equal(await ext.worker.evaluate(() => chrome.action.getBadgeText({})), '!');
});
