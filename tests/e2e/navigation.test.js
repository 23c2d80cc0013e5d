// GitHub navigates without reloading. The content script follows the URL:
// moving to /files of the same PR keeps its session, moving to another PR
// ends the first and starts the second, and leaving pull requests ends it.
// A PR reached by clicking through from the PR list (never loaded as a
// /pull/ URL) is timed too.
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

test('in-page navigation between pull requests ends and starts sessions', async () => {
  const { page: options, token } = await signIn(stack, { user: 'noa', device: 'desk' });
  const current = async () => (await askWorker(options, { type: 'get-status' })).reply.view.current?.pr ?? null;
  const ended = async () => (await server.get('/api/v1/sessions?state=ended', token)).sessions;

  const page = await ext.context.newPage();
  await page.goto('https://github.com/octo/hello-world/pull/50');
  await waitFor('PR 50 to be timed', async () => (await current()) === 'octo/hello-world#50');

  // Same PR, another tab of it (Turbo-style pushState): still one session.
  await page.evaluate(() => history.pushState({}, '', '/octo/hello-world/pull/50/files'));
  await page.evaluate(() => history.pushState({}, '', '/octo/hello-world/pull/50/checks'));
  // Another PR: 50 ends, 51 starts.
  await page.evaluate(() => history.pushState({}, '', '/octo/hello-world/pull/51'));
  await waitFor('PR 51 to be timed', async () => (await current()) === 'octo/hello-world#51');
  await waitFor('PR 50 ended on the server', async () => (await ended()).some((s) => s.pr_number === 50));

  // Not a pull request: 51 ends and nothing is timed.
  await page.evaluate(() => history.pushState({}, '', '/octo/hello-world/issues'));
  await waitFor('nothing timed', async () => (await current()) === null);
  await waitFor('PR 51 ended on the server', async () => (await ended()).some((s) => s.pr_number === 51));

  const all = (await server.get('/api/v1/sessions', token)).sessions;
  assert.deepEqual(all.map((s) => s.pr_number).sort(), [50, 51], 'one session per PR, /files and /checks did not start another');
  assert.ok(all.every((s) => s.state === 'ended'));
  await page.close();
});

test('a pull request reached in-page from the PR list is timed', async () => {
  const { page: options, token } = await signIn(stack, { user: 'ida', device: 'desk' });
  const current = async () => (await askWorker(options, { type: 'get-status' })).reply.view.current?.pr ?? null;

  const page = await ext.context.newPage();
  await page.goto('https://github.com/octo/hello-world/pulls');
  assert.equal(await current(), null, 'the PR list is not a review');
  await page.evaluate(() => history.pushState({}, '', '/octo/hello-world/pull/60'));
  await waitFor('PR 60 to be timed', async () => (await current()) === 'octo/hello-world#60');
  await page.close();
  await waitFor('PR 60 ended on the server', async () =>
    (await server.get('/api/v1/sessions?state=ended', token)).sessions.some((s) => s.pr_number === 60));
});
