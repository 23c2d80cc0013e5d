// What the reviewer really reviewed (issue 9), in real Chromium with the
// built extension, the local github.com and the real server: GitHub's
// Files-changed view at /pull/N/changes is the PR; PR -> list -> PR in one
// tab times both; a reload or back/forward is one session; owner and
// repository case make no second session; leaving GitHub in the tab stops
// the clock at once, even without pagehide. Each test asserts on the server's rows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

/** The engine's grace for a page that went away (tracker::LEAVE_GRACE). */
const LEAVE_GRACE_MS = 5000;

let stack;
let server;
let ext;

before(async () => {
  stack = await startStack();
  ({ server, ext } = stack);
});

after(() => stack?.close());

/** Helpers bound to one signed-in user. */
async function reviewer(user) {
  const { page: options, token } = await signIn(stack, { user, device: 'desk' });
  const current = async () => (await askWorker(options, { type: 'get-status' })).reply.view.current?.pr ?? null;
  const rows = async () => (await server.get('/api/v1/sessions', token)).sessions;
  const ended = async () => (await rows()).filter((s) => s.state === 'ended');
  return { options, token, current, rows, ended };
}

test('a review on Files changed (/pull/N/changes) and other sub-pages is that PR', async () => {
  const r = await reviewer('fia');
  const page = await ext.context.newPage();
  await page.goto('https://github.com/octo/hello-world/pull/7/changes');
  await waitFor('PR 7 timed from /changes', async () => (await r.current()) === 'octo/hello-world#7');
  // Sub-pages, including one GitHub might add later, stay in the session.
  await page.evaluate(() => history.pushState({}, '', '/octo/hello-world/pull/7/commits/0a1b2c3'));
  await page.evaluate(() => history.pushState({}, '', '/octo/hello-world/pull/7/some-new-tab'));
  await page.evaluate(() => history.pushState({}, '', '/octo/hello-world/pull/7/changes'));
  await page.close();
  const done = await waitFor('PR 7 ended on the server', async () => {
    const all = await r.ended();
    return all.length === 1 && all;
  });
  assert.equal(done[0].pr_number, 7);
  assert.deepEqual((await r.rows()).map((s) => s.pr_number), [7], 'one session for every sub-page');
});

test('PR 51 -> the PR list -> PR 52 in one tab (in-page) times both', async () => {
  const r = await reviewer('gus');
  const page = await ext.context.newPage();
  await page.goto('https://github.com/octo/hello-world/pull/51');
  await waitFor('PR 51 timed', async () => (await r.current()) === 'octo/hello-world#51');
  await page.evaluate(() => history.pushState({}, '', '/octo/hello-world/pulls'));
  await waitFor('PR 51 ended on the server when the tab left it', async () =>
    (await r.ended()).some((s) => s.pr_number === 51));
  await page.evaluate(() => history.pushState({}, '', '/octo/hello-world/pull/52'));
  await waitFor('PR 52 timed in the same tab', async () => (await r.current()) === 'octo/hello-world#52');
  await page.close();
  const done = await waitFor('both ended on the server', async () => {
    const all = await r.ended();
    return all.length === 2 && all;
  });
  assert.deepEqual(done.map((s) => s.pr_number).sort(), [51, 52]);
});

test('a reload is one session, and so is going back to the PR from the list', async () => {
  const r = await reviewer('hal');
  const page = await ext.context.newPage();
  await page.goto('https://github.com/octo/hello-world/pull/60');
  await waitFor('PR 60 timed', async () => (await r.current()) === 'octo/hello-world#60');
  await page.reload();
  await page.reload();
  // A full navigation to the PR list and back (a new document each way).
  await page.goto('https://github.com/octo/hello-world/pulls');
  await page.goBack();
  assert.equal(new URL(page.url()).pathname, '/octo/hello-world/pull/60');
  // Past the grace: the session is still the same one, still running.
  const settleUntil = Date.now() + LEAVE_GRACE_MS + 1000;
  await waitFor('the grace to pass', () => Date.now() >= settleUntil, { timeoutMs: LEAVE_GRACE_MS + 6000 });
  assert.equal(await r.current(), 'octo/hello-world#60');
  const during = await r.rows();
  assert.equal(during.length, 1, `one session, not ${during.length}: ${JSON.stringify(during)}`);
  assert.equal(during[0].state, 'active');
  await page.close();
  const done = await waitFor('PR 60 ended on the server', async () => {
    const all = await r.ended();
    return all.length === 1 && all;
  });
  assert.equal(done[0].local_id, during[0].local_id, 'the reloads and back/forward continued one session');
  assert.equal((await r.rows()).length, 1);
});

test('owner and repository case make one session, sent in lower case', async () => {
  const r = await reviewer('ivy');
  const upper = await ext.context.newPage();
  await upper.goto('https://github.com/Octo-Org/Widget/pull/8');
  await waitFor('PR 8 timed', async () => (await r.current()) === 'octo-org/widget#8');
  const lower = await ext.context.newPage();
  await lower.goto('https://github.com/octo-org/widget/pull/8/changes');
  await lower.evaluate(() => history.pushState({}, '', '/OCTO-ORG/WIDGET/pull/8'));
  await upper.close();
  await lower.close();
  const done = await waitFor('PR 8 ended on the server', async () => {
    const all = await r.ended();
    return all.length >= 1 && all;
  });
  const all = await r.rows();
  assert.equal(all.length, 1, `one session for every spelling: ${JSON.stringify(all)}`);
  assert.equal(done[0].repo_owner, 'octo-org');
  assert.equal(done[0].repo_name, 'widget');
  assert.equal(done[0].pr_number, 8);
});

test('leaving GitHub in the tab stops the clock then, even when the page never says pagehide', async () => {
  const r = await reviewer('jo');
  const page = await ext.context.newPage();
  // The page's own script swallows pagehide and visibilitychange before any
  // other listener sees them (capture phase at the window, first in the
  // path), as when a tab is discarded or a page's unload is cut short: the
  // content script says nothing, so only tabs.onUpdated can tell the worker.
  await page.addInitScript(() => {
    for (const type of ['pagehide', 'visibilitychange']) {
      window.addEventListener(type, (event) => event.stopImmediatePropagation(), true);
    }
  });
  await page.goto('https://github.com/octo/hello-world/pull/70');
  const shownAt = Date.now();
  await waitFor('PR 70 timed', async () => (await r.current()) === 'octo/hello-world#70');
  const lookUntil = Date.now() + 2000;
  await waitFor('2 s looking at PR 70', () => Date.now() >= lookUntil, { timeoutMs: 7000 });
  // Another site: the server's own address, a page the extension may not see.
  const leftAt = Date.now();
  await page.goto(`${server.url}/`);
  const done = await waitFor('PR 70 ended on the server while the tab shows another site', async () => {
    const all = await r.ended();
    return all.length === 1 && all;
  }, { timeoutMs: LEAVE_GRACE_MS + 10000 });
  const tookMs = Date.now() - leftAt;
  assert.ok(tookMs < LEAVE_GRACE_MS, `ended ${tookMs} ms after the tab left GitHub: it waited for the grace`);
  assert.equal(done[0].pr_number, 70);
  const endedAt = Date.parse(done[0].ended_at);
  assert.ok(endedAt <= leftAt + 1500, `ended_at is ${endedAt - leftAt} ms after the tab left GitHub`);
  assert.ok(
    done[0].active_seconds <= Math.ceil((leftAt - shownAt) / 1000) + 1,
    `active ${done[0].active_seconds} s for ${leftAt - shownAt} ms on the PR: ${JSON.stringify(done[0])}`,
  );
  assert.equal(await r.current(), null, 'nothing timed once the tab shows another site');
  // The tab is still a tab: back on a PR, it is timed again.
  await page.goto('https://github.com/octo/hello-world/pull/71');
  await waitFor('PR 71 timed in the same tab', async () => (await r.current()) === 'octo/hello-world#71');
  await page.close();
  await waitFor('PR 71 ended on the server', async () => (await r.ended()).some((s) => s.pr_number === 71));
});
