// Issue #6, scenario 13 (promise 4): an idle extension with nothing pending
// makes no requests. For 3 minutes after its last sync no request reaches
// the fault proxy, the only route to the server, while the fallback alarm,
// shortened to 6 s through test-hooks.json in a copy of dist/ (the shipped
// build has no such file and keeps 1 minute), fires again and again: the
// alarm with nothing pending sends nothing. A review ended right after the
// window still goes through the proxy, so the silence was not a broken route.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker, launchExtension } from './support/browser.js';
import { startStack } from './support/stack.js';
import { distWithTestHooks } from './support/test-hooks.js';
import { waitFor } from './support/wait.js';

const FALLBACK_ALARM = 'worktime-fallback';
const HOOKED_MINUTES = 0.1;
const IDLE_MS = 3 * 60 * 1000;

let hooked;
let stack;

before(async () => {
  hooked = distWithTestHooks({ fallbackAlarmMinutes: HOOKED_MINUTES });
  stack = await startStack({ faultProxy: true, dist: hooked.dir });
});

after(async () => {
  await stack?.close();
  hooked?.remove();
});

/** Opens PR `number`, waits until it is timed, closes it and waits for the
 * ended session on the server. */
async function review(page, number, token) {
  const { ext, server } = stack;
  const pr = await ext.context.newPage();
  await pr.goto(`https://github.com/octo/hello-world/pull/${number}`);
  await waitFor(`PR ${number} to be timed`, async () =>
    (await askWorker(page, { type: 'get-status' })).reply.view.current?.pr === `octo/hello-world#${number}`);
  await pr.close();
  return waitFor(`PR ${number} ended on the server`, async () =>
    (await server.get('/api/v1/sessions?state=ended', token)).sessions.find((s) => s.pr_number === number), { timeoutMs: 20000 });
}

test('with nothing pending no request reaches the server for 3 minutes while the fallback alarm keeps firing', async () => {
  const { ext, server, proxy } = stack;
  const token = server.addUserWithToken('ida', 'desk');
  const options = await ext.context.newPage();
  await options.goto(ext.url('options.html'));
  assert.ok((await askWorker(options, { type: 'save-settings', serverUrl: proxy.url, token })).ok);

  const alarm = await ext.worker.evaluate((name) => chrome.alarms.get(name), FALLBACK_ALARM);
  assert.equal(alarm?.periodInMinutes, HOOKED_MINUTES, 'test-hooks.json shortened the fallback alarm');

  // Real traffic first: a review reaches the server through the proxy.
  await review(options, 71, token);
  await waitFor('Synced with nothing pending', async () =>
    (await askWorker(options, { type: 'get-status' })).reply.view.status.line === 'Synced');
  // Nothing may ask the worker from here on: a page asking for the status
  // is allowed to pull. Every request so far has been answered.
  await options.close();
  await waitFor('every request so far to be answered', () => proxy.requests.every((r) => r.status !== null));
  assert.ok(proxy.requests.some((r) => r.method === 'PUT' || r.method === 'POST'), 'the review went through the proxy');

  // Count the fallback alarm's firings in the worker itself (Playwright stays
  // attached, so Chrome does not stop this worker while idle).
  await ext.worker.evaluate(() => {
    self.e2eAlarms = [];
    chrome.alarms.onAlarm.addListener((a) => self.e2eAlarms.push({ name: a.name, at: Date.now() }));
  });
  const idleFrom = Date.now();
  while (Date.now() - idleFrom < IDLE_MS) {
    const seen = proxy.seenSince(idleFrom, { preflights: true });
    assert.deepEqual(
      seen.map((r) => `${r.method} ${r.path} after ${((r.at - idleFrom) / 1000).toFixed(1)} s`),
      [],
      'an idle extension with nothing pending sends no request',
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  assert.deepEqual(proxy.seenSince(idleFrom, { preflights: true }), [], 'no request in the whole idle window');

  // The check has teeth: the alarm fired all along (every 6 s: about 30 times
  // in 3 minutes; at least half of that on a loaded machine).
  const fired = await ext.worker.evaluate(() => self.e2eAlarms);
  const fallback = fired.filter((a) => a.name === FALLBACK_ALARM);
  assert.ok(fallback.length >= 15, `the fallback alarm fired ${fallback.length} times in 3 minutes (want >= 15)`);
  assert.ok(fallback.at(-1).at - idleFrom >= IDLE_MS - 30000, 'and still fired near the end of the window');
  assert.deepEqual(ext.consoleErrors, [], 'no errors in the service worker console');

  // And the route was alive: the next review goes through the proxy.
  const page = await ext.context.newPage();
  await page.goto(ext.url('options.html'));
  const after = Date.now();
  const session = await review(page, 72, token);
  assert.equal(session.state, 'ended');
  assert.ok(proxy.seenSince(after).some((r) => r.path.startsWith('/api/v1/sessions')), 'the review after the idle window went through the proxy');
});

test('the shipped build has no test hooks: its fallback alarm repeats every minute', async () => {
  const ext = await launchExtension({});
  try {
    const alarm = await waitFor('the fallback alarm', () =>
      ext.worker.evaluate((name) => chrome.alarms.get(name), FALLBACK_ALARM));
    assert.equal(alarm.periodInMinutes, 1);
    const hooks = await ext.worker.evaluate(() =>
      fetch(chrome.runtime.getURL('test-hooks.json')).then((r) => r.status, (e) => `fetch failed: ${e.name}`));
    assert.notEqual(hooks, 200, 'dist/ holds no test-hooks.json');
  } finally {
    await ext.close();
  }
});
