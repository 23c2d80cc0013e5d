// A new user's first minutes (issue 9, points 10 and 11): before a server is
// set the popup says the extension is not set up and links to Options, with
// no red badge; "Signed out" comes only once a server refused the token. And
// the token goes over http only to a real loopback address: a host name
// that merely starts with "127." is refused, and nothing is saved. The idle
// threshold (point 6) is a setting of its own, with Chrome's 15 s floor.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

let stack;

before(async () => {
  stack = await startStack();
});

after(() => stack?.close());

const badgeText = () => stack.ext.worker.evaluate(() => chrome.action.getBadgeText({}));

test('before a server is set the popup says "Not set up", links to Options and the badge stays empty', async () => {
  const popup = await stack.ext.context.newPage();
  await popup.goto(stack.ext.url('popup.html'));
  await waitFor('the popup to render its status', async () => (await popup.textContent('#status')) !== '…');
  assert.equal(await popup.textContent('#status'), 'Not set up');
  assert.equal(await popup.getAttribute('#status', 'data-kind'), 'not_set_up');
  assert.equal(await popup.isVisible('#unconfigured'), true, 'the set-up banner is shown');
  assert.match(await popup.textContent('#unconfigured'), /Not set up yet/);
  assert.equal(await popup.getAttribute('#unconfigured-link', 'href'), 'options.html');
  assert.equal(await popup.isVisible('#signed-out'), false, 'no "Signed out" before any server refused anything');
  assert.doesNotMatch(await popup.innerText('body'), /refused the API token/, 'no signed-out words on screen');
  assert.equal(await badgeText(), '', 'no red "!" on a fresh install');

  // A review before set-up is kept for later, and still no "!".
  const pr = await stack.ext.context.newPage();
  await pr.goto('https://github.com/octo/hello-world/pull/3');
  await waitFor('PR 3 timed', async () =>
    (await askWorker(popup, { type: 'get-status' })).reply.view.current?.pr === 'octo/hello-world#3');
  await pr.close();
  await waitFor('the review kept as pending', async () => (await badgeText()) === '1');
  assert.equal(await popup.textContent('#status'), 'Not set up');
  await popup.close();
});

test('http://127.evil.example is refused as insecure, and the saved settings do not change', async () => {
  const options = await stack.ext.context.newPage();
  await options.goto(stack.ext.url('options.html'));
  const before = await askWorker(options, { type: 'get-settings' });
  for (const serverUrl of ['http://127.evil.example', 'http://127.0.0.1.evil.example:8787', 'http://localhost.evil.example']) {
    const answer = await askWorker(options, { type: 'save-settings', serverUrl, token: 'wt_secret_token' });
    assert.equal(answer.ok, false, `${serverUrl} was accepted`);
    assert.equal(answer.error.name, 'SettingsError');
    assert.equal(answer.error.variant, 'InsecureUrl', JSON.stringify(answer.error));
    const probe = await askWorker(options, { type: 'test-connection', serverUrl, token: 'wt_secret_token' });
    assert.equal(probe.ok, false, `the token would have been sent to ${serverUrl}`);
    assert.equal(probe.error.variant, 'InsecureUrl');
  }
  assert.deepEqual(await askWorker(options, { type: 'get-settings' }), before, 'nothing was saved');
  await options.close();
});

test('the idle threshold is 3 minutes by default, can be set before any server, and a value under 15 s is refused', async () => {
  const options = await stack.ext.context.newPage();
  await options.goto(stack.ext.url('options.html'));
  await waitFor('the options page to show the saved threshold', async () =>
    (await options.inputValue('#idle-minutes')) === '3');
  assert.deepEqual(await askWorker(options, { type: 'get-timing' }), { ok: true, reply: { idleSeconds: 180 } });

  await options.fill('#idle-minutes', '0.25');
  await options.click('#save');
  await waitFor('Saved.', async () => (await options.textContent('#result')) === 'Saved.');
  assert.deepEqual(await askWorker(options, { type: 'get-timing' }), { ok: true, reply: { idleSeconds: 15 } });
  assert.equal((await askWorker(options, { type: 'get-settings' })).reply.serverUrl, '', 'no server was saved');

  await options.fill('#idle-minutes', '0.1');
  await options.click('#save');
  await waitFor('the refusal', async () => /15 seconds/.test(await options.textContent('#result')));
  const refused = await askWorker(options, { type: 'save-timing', idleSeconds: 14 });
  assert.equal(refused.ok, false);
  assert.equal(refused.error.variant, 'InvalidIdleThreshold');
  assert.deepEqual(await askWorker(options, { type: 'get-timing' }), { ok: true, reply: { idleSeconds: 15 } }, 'unchanged');
  await options.reload();
  await waitFor('the stored threshold after a reload', async () => (await options.inputValue('#idle-minutes')) === '0.25');
  await options.close();
});

test('"Signed out" and the red badge come once a server refused the token', async () => {
  const options = await stack.ext.context.newPage();
  await options.goto(stack.ext.url('options.html'));
  const saved = await askWorker(options, { type: 'save-settings', serverUrl: stack.server.url, token: 'wt_not_a_real_token' });
  assert.ok(saved.ok, JSON.stringify(saved));
  // The review kept from the first test goes out and is refused (401).
  await waitFor('the popup to say Signed out', async () =>
    (await askWorker(options, { type: 'get-status' })).reply.view.status.line === 'Signed out');
  await waitFor('the red badge', async () => (await badgeText()) === '!');
  await options.close();
});
