// Report order without the wall clock (issue 9, point 5): a clock set back
// during a review must not make the next page's reports look old. Chromium's
// clock cannot be moved in a test, so the first page's content script is
// put an hour ahead instead (its `Date.now` and `performance.now`, in the
// content script's own isolated world, reached over CDP): to the next page,
// with the real clock, that is the clock set back an hour. A content script
// that orders its reports by the clock sends the next PR's reports with
// lower numbers than the last one the worker stored for the tab, and they
// are ignored; one that counts per page is unaffected. Real parts: the
// built extension in Debian's Chromium, the local github.com, the real
// server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const HOUR_MS = 3600 * 1000;

let stack;

before(async () => {
  stack = await startStack();
});

after(() => stack?.close());

/** Runs `expression` in the extension's content-script world of `page`. */
async function inContentScript(page, expression) {
  const cdp = await stack.ext.context.newCDPSession(page);
  const worlds = [];
  cdp.on('Runtime.executionContextCreated', ({ context }) => worlds.push(context));
  await cdp.send('Runtime.enable');
  const origin = `chrome-extension://${stack.ext.extensionId}`;
  const world = await waitFor('the content script\'s world', () =>
    worlds.find((c) => c.auxData?.isDefault === false && c.origin === origin));
  const { result, exceptionDetails } = await cdp.send('Runtime.evaluate', {
    expression,
    contextId: world.id,
    returnByValue: true,
  });
  await cdp.detach();
  if (exceptionDetails) throw new Error(`in the content script: ${exceptionDetails.text}`);
  return result.value;
}

test('after the clock goes back an hour, the next PR in the tab is timed', async () => {
  const { page: options, token } = await signIn(stack, { user: 'ola', device: 'desk' });
  const current = async () => (await askWorker(options, { type: 'get-status' })).reply.view.current?.pr ?? null;
  const rows = async () => (await stack.server.get('/api/v1/sessions', token)).sessions;

  const page = await stack.ext.context.newPage();
  await page.goto('https://github.com/octo/hello-world/pull/90');
  await waitFor('PR 90 timed', async () => (await current()) === 'octo/hello-world#90');
  const ahead = await inContentScript(page, `(() => {
    const realNow = performance.now.bind(performance);
    const realDate = Date.now;
    performance.now = () => realNow() + ${HOUR_MS};
    Date.now = () => realDate() + ${HOUR_MS};
    const before = realDate();
    return Date.now() - before;
  })()`);
  assert.ok(ahead >= HOUR_MS, 'precondition: the content script\'s clock is an hour ahead');
  // Leaving the PR inside GitHub: a report made on the hour-ahead clock.
  await page.evaluate(() => history.pushState({}, '', '/octo/hello-world/pulls'));
  await waitFor('PR 90 ended on the server once the tab left it', async () =>
    (await rows()).some((s) => s.pr_number === 90 && s.state === 'ended'));
  // A new page on the real clock: an hour back from the last report.
  await page.goto('https://github.com/octo/hello-world/pull/91');
  await waitFor('PR 91 timed in the same tab after the clock went back', async () =>
    (await current()) === 'octo/hello-world#91');
  await page.close();
  const done = await waitFor('PR 91 ended on the server', async () => {
    const all = await rows();
    return all.some((s) => s.pr_number === 91 && s.state === 'ended') && all;
  });
  assert.deepEqual(done.map((s) => s.pr_number).sort(), [90, 91]);
});
