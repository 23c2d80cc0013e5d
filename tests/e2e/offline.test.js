// Offline: the popup says "Offline" and the session waits in the queue; when
// the browser is back online the next wake-up delivers it.
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

test('offline shows Offline and keeps the session; back online delivers it', async () => {
  const { page: popup, token } = await signIn(stack, { user: 'tom', device: 'train', page: 'popup.html' });

  const pr = await ext.context.newPage();
  await pr.goto('https://github.com/octo/hello-world/pull/91');
  await waitFor('PR 91 to be timed', async () => (await askWorker(popup, { type: 'get-status' })).reply.view.current?.pr === 'octo/hello-world#91');
  await ext.context.setOffline(true);
  await pr.close();

  await waitFor('the popup to say Offline', async () => (await popup.locator('#status').textContent()) === 'Offline', { timeoutMs: 15000 });
  const view = (await askWorker(popup, { type: 'get-status' })).reply.view;
  assert.equal(view.current, null, 'the review ended');
  assert.equal((await server.get('/api/v1/sessions?state=ended', token)).sessions.length, 0);

  await ext.context.setOffline(false);
  // Any event (here the popup asking) lets the worker notice the network is back.
  const session = await waitFor('the session on the server once online', async () => {
    await askWorker(popup, { type: 'get-status' });
    const page = await server.get('/api/v1/sessions?state=ended', token);
    return page.sessions.find((s) => s.pr_number === 91);
  }, { timeoutMs: 30000, intervalMs: 500 });
  assert.equal(session.repo_owner, 'octo');
  await waitFor('the popup to say Synced', async () => (await popup.locator('#status').textContent()) === 'Synced');
});
