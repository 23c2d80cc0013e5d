// Issue #6, scenario 7 (promise 1): the server answers 500 to every request
// for 2 minutes while 50 reviews end. Nothing reaches the server meanwhile,
// the popup (open the whole time, updated by the worker's broadcasts) shows
// "N pending" with N the reviews ended so far, and the toolbar badge counts
// them; once the server answers again all 50 arrive, each exactly once, with
// their PRs and active seconds, and the popup says Synced.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const SESSIONS = 50;
const FIRST_PR = 300;
const OUTAGE_MS = 2 * 60 * 1000;
/** Each review stays at least this long. */
const STAY_MS = 1200;
/** Review i ends at about (i + 1) × this after the outage began, so the
 * reviews end all through it, the last 5 s before it is over. */
const SPACING_MS = (OUTAGE_MS - 5000) / SESSIONS;
/** After these many ended reviews the popup's count is checked. */
const CHECKPOINTS = new Set([1, 10, 25, 50]);

let stack;

before(async () => {
  stack = await startStack({ faultProxy: true });
});

after(() => stack?.close());

test('500s for 2 minutes while 50 reviews end: the popup shows them pending, then all 50 arrive once', async () => {
  const { ext, server, proxy } = stack;
  const { page: popup, token } = await signIn(stack, { user: 'olga', device: 'office', page: 'popup.html', serverUrl: proxy.url });

  proxy.inject({ kind: 'status', status: 500 });
  const outageFrom = Date.now();
  const reviews = new Map(); // pr number -> seconds its page was open
  for (let i = 0; i < SESSIONS; i += 1) {
    const number = FIRST_PR + i;
    const pr = await ext.context.newPage();
    await pr.goto(`https://github.com/octo/hello-world/pull/${number}`);
    const openedAt = Date.now();
    await waitFor(`the popup to show PR ${number} being timed`, async () =>
      (await popup.locator('#current-pr').textContent()) === `octo/hello-world#${number}`);
    const closeAt = Math.max(openedAt + STAY_MS, outageFrom + (i + 1) * SPACING_MS);
    await waitFor(`time on PR ${number}`, () => Date.now() >= closeAt, { timeoutMs: 10000 });
    await pr.close();
    reviews.set(number, (Date.now() - openedAt) / 1000);

    const ended = i + 1;
    if (CHECKPOINTS.has(ended)) {
      await waitFor(`the popup to say "${ended} pending"`, async () =>
        (await popup.locator('#status').textContent()) === `${ended} pending`, { timeoutMs: 10000 });
      assert.equal(await popup.locator('#last-error').isVisible(), true, 'the popup says why they wait');
      assert.equal(await ext.worker.evaluate(() => chrome.action.getBadgeText({})), String(ended));
      assert.equal((await server.get('/api/v1/sessions?limit=500', token)).sessions.length, 0, 'nothing got through');
    }
  }
  const lastEnded = Date.now() - outageFrom;

  // The outage lasts its full 2 minutes of traffic (longer only if a loaded
  // machine took that long to end the 50 reviews).
  const outageMs = Math.max(OUTAGE_MS, lastEnded + 5000);
  await waitFor('the end of the outage', () => Date.now() - outageFrom >= outageMs, { timeoutMs: outageMs });
  const failed = proxy.seenSince(outageFrom).filter((r) => r.status === 500);
  assert.ok(failed.length >= SESSIONS, `${failed.length} requests were answered 500`);
  assert.ok(failed.at(-1).at - outageFrom >= outageMs / 2, 'the extension kept trying during the outage');
  assert.equal((await server.get('/api/v1/sessions?limit=500', token)).sessions.length, 0, 'nothing got through');
  await waitFor(`the popup to still say "${SESSIONS} pending"`, async () =>
    (await popup.locator('#status').textContent()) === `${SESSIONS} pending`, { timeoutMs: 5000 });

  proxy.heal();
  const healedAt = Date.now();
  // Items that used up their retries wait for the next exchange that
  // succeeds or for the 1-minute fallback alarm's probe: at most ~75 s.
  const rows = await waitFor('all 50 reviews on the server', async () => {
    const page = await server.get('/api/v1/sessions?limit=500', token);
    return page.sessions.length >= SESSIONS && page.sessions;
  }, { timeoutMs: 90000, intervalMs: 1000 });
  const recoveredIn = (Date.now() - healedAt) / 1000;

  assert.equal(rows.length, SESSIONS, 'one row per review, nothing twice');
  assert.deepEqual(rows.map((s) => s.pr_number).sort(), [...reviews.keys()].sort());
  const wrong = [];
  for (const row of rows) {
    const stayed = reviews.get(row.pr_number);
    if (row.state !== 'ended' || row.active_seconds < Math.floor(stayed) - 1 || row.active_seconds > Math.ceil(stayed) + 1) {
      wrong.push(`PR ${row.pr_number}: ${row.state}, ${row.active_seconds} s for ${stayed.toFixed(1)} s open`);
    }
  }
  assert.deepEqual(wrong, [], 'every review ended with the active seconds it was open');
  await waitFor('the popup to say Synced', async () => (await popup.locator('#status').textContent()) === 'Synced', { timeoutMs: 15000 });
  assert.equal(await ext.worker.evaluate(() => chrome.action.getBadgeText({})), '');
  assert.equal(await popup.locator('#failed-section').isVisible(), false, 'nothing in the failed list');
  console.log(`outage: 50 reviews ended in ${(lastEnded / 1000).toFixed(0)} s; ${failed.length} requests answered 500; all delivered ${recoveredIn.toFixed(1)} s after the server came back`);
});
