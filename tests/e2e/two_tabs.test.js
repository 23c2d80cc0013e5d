// Two tabs on the same pull request are one review: one session, shared by
// both tabs, that ends only when the last of them closes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

let stack;
let server;
let ext;

before(async () => {
  stack = await startStack();
  ({ server, ext } = stack);
});

after(() => stack?.close());

test('two tabs on one PR share one session that ends only when the last tab closes', async () => {
  const { page: options, token } = await signIn(stack, { user: 'lin', device: 'desk' });
  const { context } = ext;
  const view = async () => (await askWorker(options, { type: 'get-status' })).reply.view;
  const sessions = async () => (await server.get('/api/v1/sessions', token)).sessions;
  const forPr = async (n) => (await sessions()).filter((s) => s.pr_number === n);

  const first = await context.newPage();
  await first.goto('https://github.com/octo/hello-world/pull/40');
  const openedAt = Date.now();
  const second = await context.newPage();
  await second.goto('https://github.com/octo/hello-world/pull/40/files');
  await waitFor('the started session of PR 40 on the server', async () => (await forPr(40)).length === 1);

  // The first tab goes; the review goes on in the second.
  await first.close();
  // A marker review opened and closed after that close: once it is on the
  // server, the worker has handled the first tab's pagehide and removal.
  const marker = await context.newPage();
  await marker.goto('https://github.com/octo/hello-world/pull/41');
  await waitFor('the marker PR 41 to be timed', async () =>
    (await sessions()).some((s) => s.pr_number === 41));
  await marker.close();
  await waitFor('the marker session ended on the server', async () =>
    (await forPr(41)).some((s) => s.state === 'ended'));

  const meanwhile = await forPr(40);
  assert.equal(meanwhile.length, 1, 'one session for the two tabs');
  assert.equal(meanwhile[0].state, 'active', 'still active while a tab shows the PR');
  assert.equal(meanwhile[0].ended_at, null);
  const still = await view();
  assert.equal(still.current?.pr, 'octo/hello-world#40', 'the worker still times PR 40');
  assert.notEqual(still.current.counting_since, null, 'and its time still runs');

  await waitFor('2 s on the PR', () => Date.now() - openedAt >= 2200, { timeoutMs: 5000 });
  const closedAt = Date.now();
  await second.close();
  const ended = await waitFor('PR 40 ended on the server after its last tab closed', async () => {
    const rows = await forPr(40);
    return rows.length === 1 && rows[0].state === 'ended' && rows[0];
  }, { timeoutMs: 10000 });
  const seenAfter = (Date.now() - closedAt) / 1000;
  assert.ok(seenAfter < 5, `ended on the server ${seenAfter.toFixed(1)} s after the last close`);
  // Active time spans both tabs: from the first open to the last close.
  const stayed = (closedAt - openedAt) / 1000;
  assert.ok(
    ended.active_seconds >= Math.floor(stayed) - 1 && ended.active_seconds <= Math.ceil(stayed) + 1,
    `active_seconds ${ended.active_seconds} should be about the ${stayed.toFixed(1)} s the PR was open`,
  );
  assert.deepEqual((await sessions()).map((s) => s.pr_number).sort(), [40, 41]);
  await waitFor('nothing timed any more', async () => (await view()).current === null);
  assert.deepEqual(ext.consoleErrors, []);
});
