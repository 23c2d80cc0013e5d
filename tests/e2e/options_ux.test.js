// Issue 11, point 6: an options page that helps. Save also tests the
// connection and says what it found (who the token is, or what failed);
// a refused input is marked (`aria-invalid`) and tied to its error
// (`aria-describedby`); Disconnect forgets the token; and a server that
// answers but refuses this extension's origin (CORS) is said to do so, not
// to be unreachable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

let stack;

before(async () => {
  stack = await startStack({ faultProxy: true });
});

after(() => stack?.close());

async function openOptions() {
  const page = await stack.ext.context.newPage();
  await page.goto(stack.ext.url('options.html'));
  await waitFor('the options page to load the settings', () => page.locator('#server-url').isVisible());
  return page;
}

/** The result line once it says something other than a progress note. */
async function resultAfter(page, press) {
  await page.locator('#result').evaluate((el) => { el.hidden = true; el.textContent = ''; });
  await press();
  return waitFor('the result line', async () => {
    const el = page.locator('#result');
    const text = (await el.isVisible()) ? await el.textContent() : '';
    return text && !text.endsWith('…') ? text : null;
  });
}

test('Save tests the connection and says who the token is, or why it failed', async () => {
  const { server } = stack;
  const page = await openOptions();
  const token = server.addUserWithToken('olga', 'laptop');
  await page.fill('#server-url', server.url);
  await page.fill('#api-token', token);
  const saved = await resultAfter(page, () => page.click('#save'));
  assert.equal(saved, 'Saved. Connected as olga on device "laptop".');

  await page.fill('#api-token', 'wt_not-a-real-token');
  const refused = await resultAfter(page, () => page.click('#save'));
  assert.match(refused, /^Saved, but the connection test failed: The server refused this API token \(401\)/);
  await page.close();
});

test('a refused input is marked invalid and described by its error, until it is fixed', async () => {
  const { server } = stack;
  const page = await openOptions();
  const url = page.locator('#server-url');
  await page.fill('#server-url', 'http://worktime.example.com');
  const text = await resultAfter(page, () => page.click('#save'));
  assert.match(text, /must start with https:\/\//);
  assert.equal(await url.getAttribute('aria-invalid'), 'true');
  assert.equal(await url.getAttribute('aria-describedby'), 'server-url-error server-url-hint');
  assert.equal(await page.locator('#server-url-error').textContent(), text);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'server-url', 'focus goes to the refused input');
  // The idle threshold has its own error, tied to its own input.
  await page.fill('#server-url', server.url);
  await page.fill('#idle-minutes', '0.1');
  await resultAfter(page, () => page.click('#save'));
  assert.equal(await page.locator('#idle-minutes').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('#idle-minutes').getAttribute('aria-describedby'), 'idle-minutes-error idle-minutes-hint');
  assert.equal(await url.getAttribute('aria-invalid'), null, 'the fixed URL is no longer marked');
  assert.equal(await url.getAttribute('aria-describedby'), 'server-url-hint');
  await page.fill('#idle-minutes', '3');
  await resultAfter(page, () => page.click('#save'));
  assert.equal(await page.locator('#idle-minutes').getAttribute('aria-invalid'), null);
  await page.close();
});

test('Disconnect forgets the token: nothing is configured and the popup says Not set up', async () => {
  const { server } = stack;
  const page = await openOptions();
  await page.fill('#server-url', server.url);
  await page.fill('#api-token', server.addUserWithToken('dora', 'desk'));
  assert.match(await resultAfter(page, () => page.click('#save')), /^Saved\. Connected as dora/);
  const text = await resultAfter(page, () => page.click('#disconnect'));
  assert.match(text, /^Disconnected: the API token is forgotten/);
  assert.deepEqual((await askWorker(page, { type: 'get-settings' })).reply, { serverUrl: '', hasToken: false });
  assert.equal(await page.inputValue('#server-url'), server.url, 'the typed URL stays for a new token');
  const popup = await stack.ext.context.newPage();
  await popup.goto(stack.ext.url('popup.html'));
  await waitFor('the popup to say Not set up', async () => (await popup.locator('#status').textContent()) === 'Not set up');
  await popup.close();
  await page.close();
});

test('a server that answers but refuses this extension\'s origin is said to refuse it (CORS)', async () => {
  const { server, proxy, ext } = stack;
  const page = await openOptions();
  proxy.inject({ kind: 'page', status: 200, cors: false, html: '{"user":"x","device":"y"}' }, { path: '/api/v1/me' });
  await page.fill('#server-url', proxy.url);
  await page.fill('#api-token', server.addUserWithToken('cora', 'desk'));
  const text = await resultAfter(page, () => page.click('#test'));
  assert.match(text, /answers, but refuses requests from this extension \(CORS\)/);
  assert.ok(text.includes(`chrome-extension://${ext.extensionId}`), `${text} names the origin to allow`);
  proxy.heal();
  // Nothing answering at all is still said as unreachable.
  await page.fill('#server-url', 'http://127.0.0.1:9');
  assert.match(await resultAfter(page, () => page.click('#test')), /^Could not reach the server at http:\/\/127\.0\.0\.1:9/);
  await page.close();
});
