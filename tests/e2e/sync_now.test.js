// Issue 11, point 3: "Sync now" is one policy, the engine's. During a sync
// the button stays pressable and the engine queues one more sync (seed 003):
// the popup says "Sync already in progress — your request is queued", and
// that sync does follow. Right after a sync it started, the engine refuses
// with the cooldown and the popup says how many seconds are left (seed 000).
// A request held by the fault proxy keeps the first sync running.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

let stack;

before(async () => {
  stack = await startStack({ faultProxy: true });
});

after(() => stack?.close());

const status = (popup) => popup.locator('#status').textContent();

test('Sync now during a sync is queued, the popup says so, and the queued sync follows', async () => {
  const { ext, server, proxy } = stack;
  const { page: options, token } = await signIn(stack, { user: 'quinn', device: 'desk', serverUrl: proxy.url });
  const popup = await ext.context.newPage();
  await popup.goto(ext.url('popup.html'));
  await waitFor('the popup to say Synced', async () => (await status(popup)) === 'Synced');

  // The review's push hangs at the proxy: a sync is running.
  proxy.inject({ kind: 'hang' }, { times: 1, path: '/api/v1/sessions/' });
  const pr = await ext.context.newPage();
  await pr.goto('https://github.com/octo/hello-world/pull/31');
  await waitFor('PR 31 to be timed', async () =>
    (await askWorker(options, { type: 'get-status' })).reply.view.current?.pr === 'octo/hello-world#31');
  await pr.close();
  await waitFor('the push to hang at the proxy', () => proxy.requests.some((r) => r.fault === 'hang'));
  await waitFor('the popup to say Syncing…', async () => (await status(popup)) === 'Syncing…');

  const button = popup.getByRole('button', { name: 'Sync now' });
  assert.equal(await button.isDisabled(), false, 'the engine queues a Sync now during a sync; the button lets it');
  await button.click();
  const answer = popup.locator('#sync-now-reply');
  await waitFor("the engine's answer in the popup", () => answer.isVisible());
  assert.equal(await answer.textContent(), 'Sync already in progress — your request is queued');

  // Released (the connection drops), the running sync ends and the queued
  // one runs: the review reaches the server, once.
  const released = Date.now();
  proxy.heal();
  await waitFor('PR 31 ended on the server', async () =>
    (await server.get('/api/v1/sessions?state=ended', token)).sessions.some((s) => s.pr_number === 31), { timeoutMs: 20000 });
  assert.ok(proxy.seenSince(released).some((r) => r.path.startsWith('/api/v1/sessions')), 'a sync ran after the release');
  await waitFor('the popup to say Synced', async () => (await status(popup)) === 'Synced');
  await waitFor('the queued answer to go once no sync runs', async () => !(await answer.isVisible()));
  const rows = (await server.get('/api/v1/sessions', token)).sessions.filter((s) => s.pr_number === 31);
  assert.equal(rows.length, 1, 'one session for PR 31');
  assert.deepEqual(ext.consoleErrors, []);
});

test('Sync now right after a sync it started answers with the cooldown and the seconds left', async () => {
  const { ext } = stack;
  const popup = await ext.context.newPage();
  await popup.goto(ext.url('popup.html'));
  await waitFor('the popup to say Synced', async () => (await status(popup)) === 'Synced');
  const button = popup.getByRole('button', { name: 'Sync now' });
  // The queued sync of the test before may still be cooling down: a refused
  // press changes nothing, so press until one starts.
  await waitFor('a Sync now that starts a sync', async () =>
    (await askWorker(popup, { type: 'sync-now' })).reply.sync_now.reply === 'started', { timeoutMs: 8000, intervalMs: 250 });
  const pressed = Date.now();
  await waitFor('the started sync to end', async () => (await status(popup)) === 'Synced', { timeoutMs: 3000 });
  assert.ok(Date.now() - pressed < 4000, 'the sync ended inside the 5 s cooldown');
  await button.click();
  const answer = popup.locator('#sync-now-reply');
  await waitFor("the engine's answer in the popup", () => answer.isVisible());
  assert.match(await answer.textContent(), /^Synced a moment ago — try again in [1-5] s$/);
  assert.equal(await button.isDisabled(), false, 'pressable; the engine answers');
  await waitFor('the answer to go when the cooldown ends', async () => !(await answer.isVisible()), { timeoutMs: 8000 });
  const again = await askWorker(popup, { type: 'sync-now' });
  assert.equal(again.reply.sync_now.reply, 'started', 'after the cooldown a sync starts');
});
