// MV3 kills idle service workers. A review that spans a worker stop still
// ends on the server: the session was made durable in IndexedDB, and closing
// the tab wakes the worker, which restarts from storage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';
import { controlWorker } from './support/worker-control.js';

let stack;
let server;
let ext;

before(async () => {
  stack = await startStack();
  ({ server, ext } = stack);
});

after(() => stack?.close());

test('a review survives the worker being stopped mid-session and ends on the server', async () => {
  const { page: options, token } = await signIn(stack, { user: 'kai', device: 'work-laptop' });
  const { context } = ext;

  const pr = await context.newPage();
  await pr.goto('https://github.com/octo/hello-world/pull/31/commits');
  await waitFor('the started session on the server', async () => {
    const page = await server.get('/api/v1/sessions?state=active', token);
    return page.sessions.find((s) => s.pr_number === 31);
  }, { timeoutMs: 20000 });
  const openedAt = Date.now();

  // Stop the worker the way Chrome does when it is idle.
  const worker = await controlWorker(context, options);
  await worker.stop();
  await waitFor('2 s on the PR with the worker stopped', () => Date.now() - openedAt >= 2000, { timeoutMs: 5000 });

  // Closing the tab (pagehide message, tabs.onRemoved) restarts the worker.
  await pr.close();
  await worker.waitRunning();
  const ended = await waitFor('the ended session on the server', async () => {
    const page = await server.get('/api/v1/sessions?state=ended', token);
    return page.sessions.find((s) => s.pr_number === 31);
  }, { timeoutMs: 20000 });
  assert.equal(ended.repo_owner, 'octo');
  assert.equal(ended.repo_name, 'hello-world');
  const all = await server.get('/api/v1/sessions', token);
  assert.equal(all.sessions.filter((s) => s.pr_number === 31).length, 1, 'one session, not two');

  const answer = await waitFor('the restarted worker to answer Synced', async () => {
    const a = await askWorker(options, { type: 'get-status' });
    return a.ok && a.reply.view.status.line === 'Synced' && a;
  });
  assert.equal(answer.reply.view.current, null);
});
