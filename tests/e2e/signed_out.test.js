// Signed out and back: a token the server refuses pauses sync without losing
// the session, the popup says "Signed out" with a banner to the options page
// and the badge shows "!"; saving a good token resumes and delivers it.
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
let ext;

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  stack = await startStack();
  ({ server, ext } = stack);
});

after(() => stack?.close());

async function status(page) {
  const answer = await askWorker(page, { type: 'get-status' });
  assert.ok(answer.ok, JSON.stringify(answer));
  return answer.reply.view;
}

test('a refused token pauses sync with a banner; a new token resumes it and nothing is lost', async () => {
  const token = server.addUserWithToken('lena', 'laptop');
  const { context } = ext;
  const popup = await context.newPage();
  await popup.setViewportSize({ width: 340, height: 480 });
  await popup.goto(ext.url('popup.html'));

  // Bad settings never reach storage: the worker refuses them with a reason.
  const bad = await askWorker(popup, { type: 'save-settings', serverUrl: 'http://example.com', token: 'x' });
  assert.equal(bad.ok, false);
  assert.equal(bad.error.name, 'SettingsError');
  assert.equal(bad.error.variant, 'InsecureUrl');
  const noToken = await askWorker(popup, { type: 'save-settings', serverUrl: server.url, token: '' });
  assert.equal(noToken.error.variant, 'MissingToken');

  const saved = await askWorker(popup, { type: 'save-settings', serverUrl: server.url, token: 'wt_this-token-was-never-issued' });
  assert.ok(saved.ok, JSON.stringify(saved));

  // Review a PR while the server refuses the token.
  const pr = await context.newPage();
  await pr.goto('https://github.com/octo/hello-world/pull/9/files');
  await waitFor('the review to be timed', async () => (await status(popup)).current?.pr === 'octo/hello-world#9');
  await pr.close();

  await popup.reload();
  await waitFor('the popup to say Signed out', async () => (await popup.locator('#status').textContent()) === 'Signed out');
  assert.equal(await popup.locator('#signed-out').isVisible(), true, 'the signed-out banner shows');
  assert.equal(await popup.locator('#signed-out a').getAttribute('href'), 'options.html');
  assert.equal(await popup.locator('#sync-now').isDisabled(), true, 'Sync now is disabled while signed out');
  const badge = await ext.worker.evaluate(() => chrome.action.getBadgeText({}));
  assert.equal(badge, '!');
  await popup.screenshot({ path: path.join(ARTIFACTS, 'popup-signed-out.png') });
  const page = await server.get('/api/v1/sessions', token);
  assert.equal(page.sessions.length, 0, 'nothing reached the server with the refused token');

  // A new token resumes the paused sync; the queued session arrives.
  const resumed = await askWorker(popup, { type: 'save-settings', serverUrl: server.url, token });
  assert.ok(resumed.ok, JSON.stringify(resumed));
  const session = await waitFor('the queued session on the server', async () => {
    const p = await server.get('/api/v1/sessions?state=ended', token);
    return p.sessions.find((s) => s.pr_number === 9);
  }, { timeoutMs: 20000 });
  assert.equal(session.repo_owner, 'octo');
  assert.equal(session.repo_name, 'hello-world');
  await waitFor('the popup to say Synced', async () => (await popup.locator('#status').textContent()) === 'Synced');
  assert.equal(await popup.locator('#signed-out').isVisible(), false);
  assert.equal(await ext.worker.evaluate(() => chrome.action.getBadgeText({})), '');
});

test('a live review shows its pull request and a running timer in the popup', async () => {
  const { context } = ext;
  const pr = await context.newPage();
  await pr.goto('https://github.com/octo/hello-world/pull/11');
  const popup = await context.newPage();
  await popup.setViewportSize({ width: 340, height: 420 });
  await popup.goto(ext.url('popup.html'));
  await waitFor('the popup to show the PR', async () => (await popup.locator('#current-pr').textContent()) === 'octo/hello-world#11');
  const first = await popup.locator('#current-timer').textContent();
  await waitFor('the timer to tick', async () => (await popup.locator('#current-timer').textContent()) !== first, { timeoutMs: 5000 });
  assert.match(await popup.locator('#current-timer').textContent(), /^\d+:\d\d$/);
  await popup.screenshot({ path: path.join(ARTIFACTS, 'popup-reviewing.png') });
  await pr.close();
  await waitFor('the review to end in the popup', async () => (await popup.locator('#current-pr').textContent()) === 'No pull request open');
});
