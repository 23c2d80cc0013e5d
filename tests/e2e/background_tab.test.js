// A session that never had active time is not a review (issue 9, point 7):
// a PR opened in a background tab and closed unseen sends nothing, while a
// background tab that is then looked at is timed from that moment. Driven
// over a raw DevTools pipe (support/raw-chromium.js) because under
// Playwright tabs never turn hidden. Real parts: the built extension in
// Debian's Chromium, the local HTTPS github.com, the real worktime-server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGithub } from './support/github.js';
import { startServer } from './support/server.js';
import { launchRawChromium } from './support/raw-chromium.js';
import { waitFor } from './support/wait.js';

let github;
let server;
let chromium;

before(async () => {
  github = await startGithub();
  server = await startServer();
  chromium = await launchRawChromium({ githubPort: github.port });
});

after(async () => {
  await chromium?.close();
  await server?.close();
  await github?.close();
});

const inWorker = (expr) => chromium.evalInWorker(expr);
const openTab = (url, active) =>
  inWorker(`chrome.tabs.create({ url: ${JSON.stringify(url)}, active: ${active} }).then((t) => t.id)`);
const closeTab = (id) => inWorker(`chrome.tabs.remove(${id}).then(() => true)`);
const activate = (id) => inWorker(`chrome.tabs.update(${id}, { active: true }).then(() => true)`);
/** Whether the page in tab `id` finished loading (its content script ran). */
const loaded = (id) =>
  inWorker(`chrome.tabs.get(${id}).then((t) => t.status === 'complete')`);

test('a PR opened in a background tab and closed unseen sends nothing; one looked at later is timed', async () => {
  const token = server.addUserWithToken('kim', 'raw-chromium');
  const options = await chromium.openExtensionPage('options.html');
  const saved = await options.ask({ type: 'save-settings', serverUrl: server.url, token });
  assert.ok(saved.ok, JSON.stringify(saved));
  const view = async () => (await options.ask({ type: 'get-status' })).reply.view;

  // Opened in the background (options stays in front), loaded, then closed.
  const unseen = await openTab('https://github.com/octo/hello-world/pull/21', false);
  await waitFor('the background PR page to load', () => loaded(unseen));
  // A quiet window for the page's hidden report to reach the worker (an
  // absence has no event to wait for): no review is shown meanwhile.
  const quietUntil = Date.now() + 2000;
  await waitFor('2 s with the PR in the background', () => Date.now() >= quietUntil, { timeoutMs: 7000 });
  assert.equal((await view()).current, null, 'an unseen PR is shown as a review');
  await closeTab(unseen);

  // Another background PR, then looked at for a while, then closed.
  const later = await openTab('https://github.com/octo/hello-world/pull/22', false);
  await waitFor('the second background PR page to load', () => loaded(later));
  const hiddenUntil = Date.now() + 2000;
  await waitFor('2 s with PR 22 in the background', () => Date.now() >= hiddenUntil, { timeoutMs: 7000 });
  await activate(later);
  const shownAt = Date.now();
  await waitFor('PR 22 timed once shown', async () => (await view()).current?.counting_since != null);
  const lookUntil = Date.now() + 2000;
  await waitFor('2 s looking at PR 22', () => Date.now() >= lookUntil, { timeoutMs: 7000 });
  await closeTab(later);
  const closedAt = Date.now();

  const ended = await waitFor('PR 22 ended on the server', async () => {
    const page = await server.get('/api/v1/sessions?state=ended', token);
    return page.sessions.find((s) => s.pr_number === 22);
  }, { timeoutMs: 20000 });
  const all = (await server.get('/api/v1/sessions', token)).sessions;
  assert.deepEqual(all.map((s) => s.pr_number), [22], `the unseen PR 21 reached the server: ${JSON.stringify(all)}`);
  // Started when shown, not when opened in the background.
  const startedAt = Date.parse(ended.started_at);
  assert.ok(startedAt >= shownAt - 1500, `started ${shownAt - startedAt} ms before it was shown`);
  assert.ok(ended.active_seconds <= Math.ceil((closedAt - shownAt) / 1000) + 1, JSON.stringify(ended));
});
