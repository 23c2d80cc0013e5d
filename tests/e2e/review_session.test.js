// The "Done when", end to end with real parts: the built extension
// in Debian's Chromium, a local HTTPS github.com, and the real worktime-server
// with a SQLite file. Configure through the options page, open a pull
// request, stay, close it: the server has the ended session with the right
// PR and active seconds, and the popup says "Synced".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { askWorker } from './support/browser.js';
import { startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';
import { ROOT } from './support/paths.js';

const ARTIFACTS = path.join(ROOT, 'target', 'e2e-artifacts');

/** Screenshots of an extension page, light and dark, into target/e2e-artifacts.
 * The popup is shot at its own size (its body), the options page whole. */
async function shoot(page, name) {
  const target = page.url().endsWith('popup.html') ? page.locator('body') : page;
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await target.screenshot({ path: path.join(ARTIFACTS, `${name}-${scheme}.png`) });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

let stack;
let server;
let ext;
let token;

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  stack = await startStack();
  ({ server, ext } = stack);
  token = server.addUserWithToken('reviewer', 'e2e-chromium');
});

after(() => stack?.close());

test('configure, review a pull request, close it: the server has the session and the popup says Synced', async () => {
  const { context } = ext;

  // Options page: labelled inputs, Save, Test connection.
  const options = await context.newPage();
  await options.goto(ext.url('options.html'));
  await options.getByLabel('Server URL').fill(server.url);
  await options.getByLabel('API token').fill(token);
  await options.getByRole('button', { name: 'Save' }).click();
  // Save tests the connection too, and says who the token is.
  await waitFor('"Saved. Connected as …" on the options page', async () =>
    (await options.locator('#result').textContent()) === 'Saved. Connected as reviewer on device "e2e-chromium".');
  await options.getByRole('button', { name: 'Test connection' }).click();
  await waitFor('the connection test to name the user', async () =>
    (await options.locator('#result').textContent()).includes('Connected as reviewer on device "e2e-chromium"'));
  await shoot(options, 'options');
  // The token never comes back to the page.
  const settings = await askWorker(options, { type: 'get-settings' });
  assert.deepEqual(settings, { ok: true, reply: { serverUrl: server.url, hasToken: true } });

  // Review: open the PR, stay until at least 3 active seconds are counted.
  const pr = await context.newPage();
  await pr.goto('https://github.com/octo/hello-world/pull/7');
  const openedAt = Date.now();
  await waitFor('the popup view to time octo/hello-world#7', async () => {
    const answer = await askWorker(options, { type: 'get-status' });
    const current = answer.ok && answer.reply.view.current;
    return current && current.pr === 'octo/hello-world#7' && current.counting_since != null;
  });
  // The popup, opened meanwhile, names the PR and its timer runs.
  const reviewing = await context.newPage();
  await reviewing.goto(ext.url('popup.html'));
  await waitFor('the popup to name the PR being timed', async () =>
    (await reviewing.locator('#current-pr').textContent()) === 'octo/hello-world#7');
  await waitFor('the popup timer to run', async () =>
    /^0:0[1-9]$/.test(await reviewing.locator('#current-timer').textContent()));
  await shoot(reviewing, 'popup-reviewing');
  await reviewing.close();
  await waitFor('3 s on the PR page', () => Date.now() - openedAt >= 3200, { timeoutMs: 10000 });
  const closedAt = Date.now();
  await pr.close({ runBeforeUnload: false });
  const stayed = (closedAt - openedAt) / 1000;

  // The ended session reaches the real server.
  const session = await waitFor('the ended session on the server', async () => {
    const page = await server.get('/api/v1/sessions?state=ended', token);
    return page.sessions.find((s) => s.repo_owner === 'octo' && s.repo_name === 'hello-world' && s.pr_number === 7);
  }, { timeoutMs: 20000 });
  assert.equal(session.state, 'ended');
  assert.ok(session.ended_at, 'ended_at is set');
  assert.ok(
    session.active_seconds >= Math.floor(stayed) - 1 && session.active_seconds <= Math.ceil(stayed) + 1,
    `active_seconds ${session.active_seconds} should be about the ${stayed.toFixed(1)} s the page was open`,
  );

  // The popup shows Synced.
  const popup = await context.newPage();
  await popup.goto(ext.url('popup.html'));
  await waitFor('the popup to say Synced', async () => (await popup.locator('#status').textContent()) === 'Synced');
  await waitFor('the popup to say when it last synced', async () =>
    (await popup.locator('#last-synced').textContent()).startsWith('Last synced'));
  await shoot(popup, 'popup-synced');
  // Today's total includes the review, in seconds while under a minute.
  const todayText = await popup.locator('#today-total').textContent();
  assert.match(todayText, /^\d+ s$/, `today's total "${todayText}"`);
  // Sync now: pressed, it starts a sync; pressed again at once, the engine
  // answers and the popup says what it answered — queued behind the running
  // sync, or the 5 s cooldown with the seconds left. The button stays
  // pressable: the engine decides (sync_now.test.js holds each answer).
  const button = popup.getByRole('button', { name: 'Sync now' });
  assert.equal(await button.isDisabled(), false);
  await button.click();
  await button.click();
  const answer = popup.locator('#sync-now-reply');
  await waitFor("the engine's answer in the popup", () => answer.isVisible());
  assert.match(
    await answer.textContent(),
    /^(Sync already in progress — your request is queued|Synced a moment ago — try again in [1-5] s)$/,
  );
  assert.equal(await button.isDisabled(), false);
  await popup.locator('body').screenshot({ path: path.join(ARTIFACTS, 'popup-cooldown.png') });
  await waitFor('the answer to go once its time has passed', async () => !(await answer.isVisible()), { timeoutMs: 10000 });
  assert.equal(await popup.locator('#status').textContent(), 'Synced');

  const { view } = (await askWorker(popup, { type: 'get-status' })).reply;
  assert.equal(view.last_error, null, 'no sync error after opening the popup (it pulls today\'s sessions)');
  assert.ok(
    view.today_seconds >= session.active_seconds,
    `today's total ${view.today_seconds} s counts the ${session.active_seconds} s session`,
  );

  assert.deepEqual(ext.consoleErrors, [], 'no errors in the service worker console');
  assert.deepEqual(ext.extensionConsole(), [], 'nothing logged by the extension since its first start');
});
