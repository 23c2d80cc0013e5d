// A worker stopped while it handles a page report never answers it. The
// content script then sends the same report again (same seq), and the
// restarted worker starts the session: without the resend the tab would stay
// untimed until its next visibility change or navigation.
//
// Fault injection: IndexedDB's `put` in the worker returns a request that
// never completes, so the report's write hangs (as it would in a worker that
// is being stopped) until the test stops the worker the way MV3 does.
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

test('a page report the stopped worker never answered is sent again and starts the session', async () => {
  const { page: options, token } = await signIn(stack, { user: 'ria', device: 'laptop' });
  const { context } = ext;
  await waitFor('the settings to be stored and synced', async () => {
    const a = await askWorker(options, { type: 'get-status' });
    return a.ok && a.reply.view.status.line === 'Synced';
  });

  // From now on, the worker's writes hang.
  await ext.worker.evaluate(() => {
    IDBObjectStore.prototype.put = () => new EventTarget();
  });
  const pr = await context.newPage();
  await pr.goto('https://github.com/octo/hello-world/pull/88');
  await pr.waitForLoadState('load');
  // Give the report time to reach the worker; nothing may come of it while
  // its write hangs.
  const reachedAt = Date.now();
  await waitFor('a second with the report stuck in the worker', () => Date.now() - reachedAt >= 1000);
  const before = await server.get('/api/v1/sessions', token);
  assert.equal(before.sessions.filter((s) => s.pr_number === 88).length, 0, 'the stuck report was not delivered');

  const worker = await controlWorker(context, options);
  await worker.stop();

  // The content script's resend wakes a fresh worker, which times the PR.
  const started = await waitFor('the session started by the resent report on the server', async () => {
    const page = await server.get('/api/v1/sessions?state=active', token);
    return page.sessions.find((s) => s.pr_number === 88);
  }, { timeoutMs: 20000 });
  assert.equal(started.repo_name, 'hello-world');
  const view = await waitFor('the popup view to show the PR', async () => {
    const a = await askWorker(options, { type: 'get-status' });
    return a.ok && a.reply.view.current && a.reply.view;
  });
  assert.equal(view.current.pr, 'octo/hello-world#88');

  await pr.close();
  await waitFor('the session to end on the server', async () => {
    const page = await server.get('/api/v1/sessions?state=ended', token);
    return page.sessions.find((s) => s.pr_number === 88);
  }, { timeoutMs: 20000 });
  const all = await server.get('/api/v1/sessions', token);
  assert.equal(all.sessions.filter((s) => s.pr_number === 88).length, 1, 'one session, not two');
});
