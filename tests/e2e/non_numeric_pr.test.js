// Bad input, the URL part of it: a /pull/ URL whose number is not a number
// is not a pull request. It starts no session, shows nothing in the popup,
// and sends nothing to the server, while a real PR reviewed beside it syncs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const NOT_NUMBERS = ['abc', '12abc', '1e3', '0x1F'];

let stack;
let server;
let ext;
let github;

before(async () => {
  stack = await startStack();
  ({ server, ext, github } = stack);
});

after(() => stack?.close());

test('a PR URL with a non-numeric number starts no session', async () => {
  const { page: popup, token } = await signIn(stack, { user: 'bo', device: 'desk', page: 'popup.html' });
  const { context } = ext;
  const current = async () => (await askWorker(popup, { type: 'get-status' })).reply.view.current;

  const pages = [];
  for (const number of NOT_NUMBERS) {
    const page = await context.newPage();
    await page.goto(`https://github.com/octo/hello-world/pull/${number}`);
    pages.push(page);
  }
  for (const number of NOT_NUMBERS) {
    assert.ok(github.requests.includes(`/octo/hello-world/pull/${number}`), `the page /pull/${number} was served`);
  }

  // A real review opened after them, while they stay open: once its started
  // session is on the server, the worker has seen the bad pages' reports.
  const real = await context.newPage();
  await real.goto('https://github.com/octo/hello-world/pull/90');
  await waitFor('PR 90 to be on the server', async () =>
    (await server.get('/api/v1/sessions', token)).sessions.some((s) => s.pr_number === 90));
  await real.close();
  await waitFor('PR 90 ended on the server', async () =>
    (await server.get('/api/v1/sessions?state=ended', token)).sessions.some((s) => s.pr_number === 90));

  // The bad pages are still open: nothing is timed, nothing is on the server.
  assert.equal(await current(), null, 'no current PR while only non-numeric /pull/ pages are open');
  await waitFor('the popup to say no pull request is open', async () =>
    (await popup.locator('#current-pr').textContent()) === 'No pull request open');
  const all = (await server.get('/api/v1/sessions', token)).sessions;
  assert.deepEqual(all.map((s) => `${s.repo_owner}/${s.repo_name}#${s.pr_number}`), ['octo/hello-world#90']);

  // Closing them changes nothing either.
  for (const page of pages) await page.close();
  await askWorker(popup, { type: 'sync-now' });
  await waitFor('the popup to say Synced', async () => (await popup.locator('#status').textContent()) === 'Synced');
  assert.equal((await server.get('/api/v1/sessions', token)).sessions.length, 1);
  assert.deepEqual(ext.consoleErrors, []);
});
