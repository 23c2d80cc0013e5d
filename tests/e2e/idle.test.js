// Issue #6, scenario 13 (promise 4): an idle extension with nothing pending
// makes no requests. For 3 minutes after its last sync no request reaches
// the fault proxy, the only route to the server, while the fallback alarm,
// shortened to 6 s in the tests' own build (`./build.sh build --test-variant`;
// the shipped build keeps 1 minute), fires again and again: for
// 90 s into a running worker, then for 90 s into a worker stopped after
// each start as MV3 does, so each firing starts it afresh. Neither the
// alarm nor a start with nothing pending sends anything. A review ended
// right after the window still goes through the proxy, so the silence was
// not a broken route.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker, launchExtension } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';
import { testVariant } from './support/test-variant.js';
import { waitFor } from './support/wait.js';
import { controlWorker } from './support/worker-control.js';

const FALLBACK_ALARM = 'worktime-fallback';
const TEST_VARIANT_MINUTES = 0.1;
const IDLE_MS = 3 * 60 * 1000;

let stack;

before(async () => {
  stack = await startStack({ faultProxy: true, dist: testVariant() });
});

after(async () => {
  await stack?.close();
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
  const { page: options, token } = await signIn(stack, { user: 'ida', device: 'desk', serverUrl: proxy.url });

  const alarm = await ext.worker.evaluate((name) => chrome.alarms.get(name), FALLBACK_ALARM);
  assert.equal(alarm?.periodInMinutes, TEST_VARIANT_MINUTES, 'the test variant shortened the fallback alarm');

  // Real traffic first: a review reaches the server through the proxy.
  await review(options, 71, token);
  await waitFor('Synced with nothing pending', async () =>
    (await askWorker(options, { type: 'get-status' })).reply.view.status.line === 'Synced');
  // Nothing may ask the worker from here on: a page asking for the status
  // is allowed to pull. Every request so far has been answered.
  await options.close();
  await waitFor('every request so far to be answered', () => proxy.requests.every((r) => r.status !== null));
  assert.ok(proxy.requests.some((r) => r.method === 'PUT' || r.method === 'POST'), 'the review went through the proxy');

  /** Fails at once, naming them, if any request reached the proxy. */
  const assertSilentSince = (from) =>
    assert.deepEqual(
      proxy.seenSince(from, { preflights: true }).map((r) => `${r.method} ${r.path} after ${((r.at - from) / 1000).toFixed(1)} s`),
      [],
      'an idle extension with nothing pending sends no request',
    );
  const tick = () => new Promise((resolve) => setTimeout(resolve, 500));

  // First half: the worker stays up (Playwright is attached, so Chrome does
  // not stop it); count the fallback alarm's firings in the worker itself.
  await ext.worker.evaluate(() => {
    self.e2eAlarms = [];
    chrome.alarms.onAlarm.addListener((a) => self.e2eAlarms.push({ name: a.name, at: Date.now() }));
  });
  const idleFrom = Date.now();
  while (Date.now() - idleFrom < IDLE_MS / 2) {
    assertSilentSince(idleFrom);
    await tick();
  }
  const fired = (await ext.worker.evaluate(() => self.e2eAlarms)).filter((a) => a.name === FALLBACK_ALARM);
  // Every 6 s: about 15 times in 90 s; at least half of that on a loaded machine.
  assert.ok(fired.length >= 8, `the fallback alarm fired ${fired.length} times in 90 s (want >= 8)`);
  assert.ok(fired.at(-1).at - idleFrom >= IDLE_MS / 2 - 20000, 'and still fired near the end of that half');

  // Second half, as MV3 lives: the worker is stopped soon after each start
  // and only the fallback alarm starts it again (nothing else happens), so
  // every start below is the alarm's; a started worker with nothing pending
  // sends nothing either.
  const blank = await ext.context.newPage();
  const worker = await controlWorker(ext.context, blank);
  await worker.stop();
  const startsBefore = worker.starts();
  let runningSince = null;
  while (Date.now() - idleFrom < IDLE_MS) {
    assertSilentSince(idleFrom);
    if (worker.status() === 'running') {
      runningSince ??= Date.now();
      // Give the start time to resume (and to send, were it to).
      if (Date.now() - runningSince >= 2000) {
        await worker.stop();
        runningSince = null;
      }
    }
    await tick();
  }
  assertSilentSince(idleFrom);
  const starts = worker.starts() - startsBefore;
  assert.ok(starts >= 5, `the fallback alarm started the stopped worker ${starts} times in 90 s (want >= 5)`);
  console.log(`idle: 0 requests in ${IDLE_MS / 1000} s; the fallback alarm fired ${fired.length} times into the running worker, then started the stopped worker ${starts} times`);
  assert.deepEqual(ext.consoleErrors, [], 'no errors in the service worker console');
  assert.deepEqual(ext.extensionConsole(), [], 'nothing logged by the extension, the hooks file read included');

  // And the route was alive: the next review goes through the proxy.
  const page = await ext.context.newPage();
  await page.goto(ext.url('options.html'));
  const after = Date.now();
  const session = await review(page, 72, token);
  assert.equal(session.state, 'ended');
  assert.ok(proxy.seenSince(after).some((r) => r.path.startsWith('/api/v1/sessions')), 'the review after the idle window went through the proxy');
});

test('the shipped build keeps the 1-minute fallback alarm', async () => {
  const ext = await launchExtension({});
  try {
    const alarm = await waitFor('the fallback alarm', () =>
      ext.worker.evaluate((name) => chrome.alarms.get(name), FALLBACK_ALARM));
    assert.equal(alarm.periodInMinutes, 1);
  } finally {
    await ext.close();
  }
});
