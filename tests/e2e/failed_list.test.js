// The failed list: a session the server refuses for good shows in the popup
// as "1 failed" with the server's reason and Retry / Discard buttons; Retry
// sends it again (and it lands), Discard drops it. The refusal is injected
// by the fault proxy in front of the real server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { askWorker } from './support/browser.js';
import { startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';
import { ROOT } from './support/paths.js';

const ARTIFACTS = path.join(ROOT, 'target', 'e2e-artifacts');
const REFUSAL = { error: { code: 'invalid_field', message: 'pr_number: no such pull request', field: 'pr_number' } };

let stack;
let server;
let proxy;
let ext;
let token;

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  stack = await startStack({ faultProxy: true });
  ({ server, proxy, ext } = stack);
  token = server.addUserWithToken('omar', 'desktop');
});

after(() => stack?.close());

async function onServer(number, state = 'ended') {
  const page = await server.get(`/api/v1/sessions?state=${state}`, token);
  return page.sessions.find((s) => s.pr_number === number);
}

/** Opens PR `number`, waits until its started version reached the server,
 * then makes the server refuse the next PUT (the ended version) and closes it. */
async function reviewAndCloseRefused(context, number) {
  const pr = await context.newPage();
  await pr.goto(`https://github.com/octo/hello-world/pull/${number}`);
  await waitFor(`PR ${number}'s started session on the server`, () => onServer(number, 'active'), { timeoutMs: 20000 });
  proxy.inject({ kind: 'status', status: 422, body: REFUSAL }, { method: 'PUT', times: 1 });
  await pr.close();
}

test('a refused session is listed with its reason; Retry delivers it and Discard drops it', async () => {
  const { context } = ext;
  const popup = await context.newPage();
  await popup.setViewportSize({ width: 340, height: 520 });
  await popup.goto(ext.url('popup.html'));
  const saved = await askWorker(popup, { type: 'save-settings', serverUrl: proxy.url, token });
  assert.ok(saved.ok, JSON.stringify(saved));

  // First refusal, then Retry.
  await reviewAndCloseRefused(context, 21);
  await waitFor('the popup to say 1 failed', async () => (await popup.locator('#status').textContent()) === '1 failed');
  const item = popup.locator('#failed-list li');
  assert.equal(await item.count(), 1);
  assert.equal(await item.locator('.what').textContent(), 'octo/hello-world#21');
  assert.match(await item.locator('.why').textContent(), /no such pull request/);
  assert.equal(await ext.worker.evaluate(() => chrome.action.getBadgeText({})), '!');
  await popup.screenshot({ path: path.join(ARTIFACTS, 'popup-failed.png') });
  assert.equal(await onServer(21), undefined, 'the refused (ended) version is not on the server');

  await item.getByRole('button', { name: 'Retry' }).click();
  await waitFor('the retried session on the server', () => onServer(21), { timeoutMs: 20000 });
  await waitFor('the popup to say Synced', async () => (await popup.locator('#status').textContent()) === 'Synced');
  assert.equal(await popup.locator('#failed-list li').count(), 0);

  // Second refusal, then Discard.
  await reviewAndCloseRefused(context, 22);
  await waitFor('the popup to say 1 failed', async () => (await popup.locator('#status').textContent()) === '1 failed');
  await popup.locator('#failed-list li').getByRole('button', { name: 'Discard' }).click();
  await waitFor('the popup to say Synced', async () => (await popup.locator('#status').textContent()) === 'Synced');
  assert.equal(await popup.locator('#failed-list li').count(), 0);
  assert.equal(await onServer(22), undefined, 'a discarded version is not sent again');
  assert.deepEqual(ext.consoleErrors, []);
});
