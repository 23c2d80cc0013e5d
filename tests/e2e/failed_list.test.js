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

  // Each button names its PR for screen readers.
  assert.equal(await item.getByRole('button', { name: 'Retry octo/hello-world#21', exact: true }).count(), 1);
  assert.equal(await item.getByRole('button', { name: 'Discard octo/hello-world#21', exact: true }).count(), 1);
  await item.getByRole('button', { name: 'Retry' }).click();
  await waitFor('the retried session on the server', () => onServer(21), { timeoutMs: 20000 });
  await waitFor('the popup to say Synced', async () => (await popup.locator('#status').textContent()) === 'Synced');
  assert.equal(await popup.locator('#failed-list li').count(), 0);

  // Second refusal, then Discard.
  await reviewAndCloseRefused(context, 22);
  await waitFor('the popup to say 1 failed', async () => (await popup.locator('#status').textContent()) === '1 failed');
  // Discard asks once; declined, the item stays.
  const discard = popup.locator('#failed-list li').getByRole('button', { name: 'Discard octo/hello-world#22' });
  const asked = [];
  const answer = (accept) => (dialog) => {
    asked.push(dialog.message());
    return accept ? dialog.accept() : dialog.dismiss();
  };
  popup.once('dialog', answer(false));
  await discard.click();
  await waitFor('the question to be asked', () => asked.length === 1);
  assert.match(asked[0], /^Discard the review of octo\/hello-world#22\?/);
  assert.equal((await askWorker(popup, { type: 'get-status' })).reply.view.failed.length, 1, 'declined: still listed');
  popup.once('dialog', answer(true));
  await discard.click();
  await waitFor('the popup to say Synced', async () => (await popup.locator('#status').textContent()) === 'Synced');
  assert.equal(await popup.locator('#failed-list li').count(), 0);
  assert.equal(await onServer(22), undefined, 'a discarded version is not sent again');
  assert.equal(asked.length, 2, 'asked once per press, no more');
  assert.deepEqual(ext.consoleErrors, []);
});

test('with several failed, Retry all sends every one of them again', async () => {
  const { context } = ext;
  const popup = await context.newPage();
  await popup.goto(ext.url('popup.html'));
  const retryAll = popup.getByRole('button', { name: 'Retry all' });
  await reviewAndCloseRefused(context, 23);
  await waitFor('the popup to say 1 failed', async () => (await popup.locator('#status').textContent()) === '1 failed');
  assert.equal(await retryAll.isVisible(), false, 'one item: its own Retry is enough');
  await reviewAndCloseRefused(context, 24);
  await waitFor('the popup to say 2 failed', async () => (await popup.locator('#status').textContent()) === '2 failed');
  await retryAll.click();
  await waitFor('both retried sessions on the server', async () => (await onServer(23)) && (await onServer(24)), { timeoutMs: 20000 });
  await waitFor('the popup to say Synced', async () => (await popup.locator('#status').textContent()) === 'Synced');
  assert.equal(await popup.locator('#failed-list li').count(), 0);
  assert.deepEqual(ext.consoleErrors, []);
});
