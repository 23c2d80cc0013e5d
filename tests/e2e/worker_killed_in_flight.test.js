// Issue #6, scenario 6 (promises 1 and 2): the worker is killed while a
// request is in flight, 20 times in a row, and nothing is lost or counted
// twice. The fault proxy holds every session write, so each worker life
// ends with its request in flight: in even rounds the request never reached
// the server ("hang"), in odd rounds the server applied it and only the
// answer was held ("apply-then-hang": the duplicate trap). Each round the
// stopped worker is woken another way (a content-script message, an alarm,
// a tab closing), a review is timed, and the worker is stopped with
// ServiceWorker.stopAllWorkers as MV3 does. Reviews of even rounds end
// while the request is in flight; reviews of odd rounds are still open at
// the kill and end in the next round, either after another wake-up (a
// restart with the tab open) or by their tab closing while the worker is
// stopped. At the end the proxy heals and the server must hold each of the
// 20 reviews exactly once, ended, with its PR and active seconds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';
import { controlWorker } from './support/worker-control.js';

const ROUNDS = 20;
const FIRST_PR = 200;
/** Long enough that active seconds of 0 (time lost) cannot pass for right. */
const STAY_MS = 2200;

let stack;
/** pr number -> { openedAt, closedAt, how } once the rounds have run. */
const reviews = new Map();
/** The server's rows once everything was delivered. */
let rows = null;

before(async () => {
  stack = await startStack({ faultProxy: true });
});

after(() => stack?.close());

const iso = (ms) => new Date(ms).toISOString();
const isWrite = (r) => r.path.startsWith('/api/v1/sessions') && (r.method === 'PUT' || r.method === 'POST');

/** The reviews (of `how`) whose active seconds on the server are not the
 * time their page was open, ±1 s, each described. */
function wrongActiveSeconds(how) {
  assert.ok(rows, 'the rounds ran and every review reached the server');
  const wrong = [];
  for (const row of rows) {
    const review = reviews.get(row.pr_number);
    if (!how.includes(review.how)) continue;
    const stayed = (review.closedAt - review.openedAt) / 1000;
    // A close taken in by a worker that was just woken is stamped once the
    // wake is done: allow it one more second.
    const slack = review.how === 'closed while stopped' ? 2 : 1;
    if (row.active_seconds < Math.floor(stayed) - 1 || row.active_seconds > Math.ceil(stayed) + slack) {
      wrong.push(
        `PR ${row.pr_number} (${review.how}): active_seconds ${row.active_seconds} for ${stayed.toFixed(1)} s open ` +
          `[opened ${iso(review.openedAt)}, closed ${iso(review.closedAt)}; server: ${row.started_at} to ${row.ended_at}]`,
      );
    }
  }
  return wrong;
}

test('killing the worker with a request in flight 20 times loses no review and counts none twice', async () => {
  const { ext, server, proxy } = stack;
  const { context } = ext;
  const { page: options, token } = await signIn(stack, { user: 'rosa', device: 'flaky-laptop', serverUrl: proxy.url });
  const worker = await controlWorker(context, options);
  const startsBefore = worker.starts();

  let open = null; // { page, number }: a review left open across the last kill
  const closeReview = async ({ page, number }, how) => {
    await page.close();
    Object.assign(reviews.get(number), { closedAt: Date.now(), how });
  };

  for (let round = 0; round < ROUNDS; round += 1) {
    const number = FIRST_PR + round;
    const fault = round % 2 === 0 ? { kind: 'hang' } : { kind: 'apply-then-hang' };
    proxy.heal();
    proxy.inject(fault, { path: '/api/v1/sessions', method: 'PUT' });
    proxy.inject(fault, { path: '/api/v1/sessions', method: 'POST' });
    const wokeAt = Date.now();

    // Wake the stopped worker (round 0: it runs already).
    let wakeBy = 'the pull request page';
    if (open && round % 4 === 2) {
      wakeBy = 'the tab of the review left open closing';
      await closeReview(open, 'closed while stopped');
      open = null;
    } else if (open || round % 3 === 1) {
      wakeBy = 'an alarm';
      await options.evaluate(() => chrome.alarms.create('e2e-wake', { when: Date.now() }));
    } else if (round % 3 === 2) {
      wakeBy = 'a tab closing';
      const blank = await context.newPage();
      await blank.close();
    }
    const wakes = `round ${round}: the worker to be woken by ${wakeBy}`;
    if (wakeBy !== 'the pull request page') await worker.waitRunning(wakes);
    if (open) {
      // Open across a restart, closed while the woken worker runs.
      await closeReview(open, 'closed after a restart');
      open = null;
    }

    const page = await context.newPage();
    await page.goto(`https://github.com/octo/hello-world/pull/${number}`);
    const openedAt = Date.now();
    await worker.waitRunning(wakes);
    reviews.set(number, { openedAt, closedAt: null, how: null });
    await waitFor(`round ${round}: PR ${number} to be timed`, async () =>
      (await askWorker(options, { type: 'get-status' })).reply.view.current?.pr === `octo/hello-world#${number}`);

    // This worker life has a session write in flight, held by the proxy;
    // in the duplicate-trap rounds the server has already applied it.
    await waitFor(`round ${round}: a session write of this worker life to be held by the proxy`, () =>
      proxy.requests.some((r) => r.at >= wokeAt && isWrite(r) && r.fault === fault.kind &&
        (fault.kind === 'hang' || r.status === 200)));

    await waitFor(`round ${round}: time on PR ${number}`, () => Date.now() - openedAt >= STAY_MS, { timeoutMs: 5000 });
    if (round % 2 === 0) {
      // Ended while the request is in flight; the kill comes once the worker
      // has taken the end in.
      await closeReview({ page, number }, 'closed while running');
      await waitFor(`round ${round}: PR ${number} to end`, async () =>
        (await askWorker(options, { type: 'get-status' })).reply.view.current === null);
    } else {
      open = { page, number };
    }
    await worker.stop();
  }

  // The server comes back; the last open review's tab closing wakes the worker.
  proxy.heal();
  if (open) await closeReview(open, 'closed while stopped');
  await worker.waitRunning('the worker to be woken by the last tab closing');

  rows = await waitFor('all 20 reviews ended on the server', async () => {
    const page = await server.get('/api/v1/sessions?limit=500', token);
    return page.sessions.filter((s) => s.state === 'ended').length >= ROUNDS && page.sessions;
  }, { timeoutMs: 40000, intervalMs: 500 });

  assert.equal(worker.starts() - startsBefore, ROUNDS, 'the worker was started again after each of the 20 kills');
  const trapped = proxy.requests.filter((r) => isWrite(r) && r.fault === 'apply-then-hang' && r.status === 200);
  assert.ok(trapped.length >= ROUNDS / 2, `${trapped.length} writes were applied by the server and their answers lost`);

  const numbers = [...reviews.keys()];
  assert.equal(rows.length, ROUNDS, `one row per review, nothing twice: ${JSON.stringify(rows.map((s) => s.pr_number))}`);
  assert.deepEqual(rows.map((s) => s.pr_number).sort(), numbers.sort());
  assert.equal(new Set(rows.map((s) => s.local_id)).size, ROUNDS);
  for (const row of rows) {
    assert.equal(row.state, 'ended', `PR ${row.pr_number} ended`);
    assert.equal(row.repo_owner, 'octo');
    assert.equal(row.repo_name, 'hello-world');
  }
  assert.deepEqual(
    wrongActiveSeconds(['closed while running', 'closed after a restart']),
    [],
    'reviews closed while the worker ran have the active seconds they were open',
  );

  const view = await waitFor('the popup view to say Synced', async () => {
    const v = (await askWorker(options, { type: 'get-status' })).reply.view;
    return v.status.line === 'Synced' && v;
  });
  assert.deepEqual(view.failed, [], 'nothing went to the failed list');
});

// A review whose tab closes while the worker is stopped: the close wakes
// the worker, which finds the tab gone at start and must still count the time
// since the last checkpoint (Tracker::load in crates/worktime-core).
test('reviews whose tab closed while the worker was stopped keep their active seconds', () => {
  assert.deepEqual(wrongActiveSeconds(['closed while stopped']), [], 'reviews closed while the worker was stopped');
});
