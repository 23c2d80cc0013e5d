// While the server cannot be reached the popup says what waits and why
// ("1 pending", the last error, the next retry) and the badge counts it; when
// the server is back the retry delivers the session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { askWorker } from './support/browser.js';
import { startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';
import { ROOT } from './support/paths.js';

const ARTIFACTS = path.join(ROOT, 'target', 'e2e-artifacts');

let stack;
let server;
let proxy;
let ext;

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  stack = await startStack({ faultProxy: true });
  ({ server, proxy, ext } = stack);
});

after(() => stack?.close());

test('a session waits with its reason while the server is unreachable and is delivered when it is back', async () => {
  const token = server.addUserWithToken('sam', 'notebook');
  const popup = await ext.context.newPage();
  await popup.setViewportSize({ width: 340, height: 420 });
  await popup.goto(ext.url('popup.html'));
  assert.ok((await askWorker(popup, { type: 'save-settings', serverUrl: proxy.url, token })).ok);

  proxy.inject({ kind: 'drop' });
  const pr = await ext.context.newPage();
  await pr.goto('https://github.com/octo/hello-world/pull/61');
  await waitFor('PR 61 to be timed', async () => (await askWorker(popup, { type: 'get-status' })).reply.view.current?.pr === 'octo/hello-world#61');
  await pr.close();

  await waitFor('the popup to say 1 pending with the reason and the next retry', async () =>
    (await popup.locator('#status').textContent()) === '1 pending' &&
    (await popup.locator('#last-error').isVisible()) &&
    (await popup.locator('#next-retry').isVisible()), { timeoutMs: 15000 });
  assert.match(await popup.locator('#last-error').textContent(), /^Last error: /);
  assert.equal(await ext.worker.evaluate(() => chrome.action.getBadgeText({})), '1');
  await popup.screenshot({ path: path.join(ARTIFACTS, 'popup-pending.png') });
  assert.equal((await server.get('/api/v1/sessions', token)).sessions.length, 0);

  proxy.heal();
  const session = await waitFor('the session on the server after the server came back', async () => {
    const page = await server.get('/api/v1/sessions?state=ended', token);
    return page.sessions.find((s) => s.pr_number === 61);
  }, { timeoutMs: 40000, intervalMs: 250 });
  assert.equal(session.repo_owner, 'octo');
  await waitFor('the popup to say Synced', async () => (await popup.locator('#status').textContent()) === 'Synced', { timeoutMs: 10000 });
  assert.equal(await popup.locator('#last-error').isVisible(), false);
  assert.equal(await ext.worker.evaluate(() => chrome.action.getBadgeText({})), '');
});
