// Active time counts only while the PR tab is visible: switching to another
// tab stops the clock, switching back restarts it. Driven with Chromium on
// its own (support/cdp.js), since Playwright keeps every tab visible.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGithub } from './support/github.js';
import { startServer } from './support/server.js';
import { launchRawChromium } from './support/cdp.js';
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

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('hidden time is not counted: only the visible stretches of a review reach the server', async () => {
  const token = server.addUserWithToken('ada', 'raw-chromium');
  const options = await chromium.openExtensionPage('options.html');
  const ask = (message) => chromium.page(options, `chrome.runtime.sendMessage(${JSON.stringify(message)})`);
  const saved = await ask({ type: 'save-settings', serverUrl: server.url, token });
  assert.ok(saved.ok, JSON.stringify(saved));
  const current = async () => (await ask({ type: 'get-status' })).reply.view.current;

  const prTab = await chromium.worker(
    `chrome.tabs.create({ url: 'https://github.com/octo/hello-world/pull/71', active: true }).then((t) => t.id)`);
  await waitFor('PR 71 to be timed and running', async () => (await current())?.counting_since != null);
  const visibleFrom = Date.now();
  await sleep(2000);

  // Another tab in front: the PR tab turns hidden and the clock stops.
  const other = await chromium.worker(`chrome.tabs.create({ url: 'about:blank', active: true }).then((t) => t.id)`);
  await waitFor('the clock to stop', async () => {
    const c = await current();
    return c && c.pr === 'octo/hello-world#71' && c.counting_since == null;
  });
  const firstStretch = (Date.now() - visibleFrom) / 1000;
  const frozen = (await current()).active_seconds;
  await sleep(4000);
  assert.equal((await current()).active_seconds, frozen, 'no time counted while hidden');

  // Back in front: the clock runs again.
  await chromium.worker(`chrome.tabs.update(${prTab}, { active: true }).then(() => true)`);
  await waitFor('the clock to run again', async () => (await current())?.counting_since != null);
  const secondFrom = Date.now();
  await sleep(2000);
  await chromium.worker(`chrome.tabs.remove(${prTab}).then(() => true)`);
  const secondStretch = (Date.now() - secondFrom) / 1000;
  await chromium.worker(`chrome.tabs.remove(${other}).then(() => true)`);

  const session = await waitFor('the ended session on the server', async () => {
    const page = await server.get('/api/v1/sessions?state=ended', token);
    return page.sessions.find((s) => s.pr_number === 71);
  }, { timeoutMs: 20000 });
  const visible = firstStretch + secondStretch;
  const span = (Date.parse(session.ended_at) - Date.parse(session.started_at)) / 1000;
  assert.ok(span >= visible + 3.5, `the session spans ${span} s, including the hidden 4 s`);
  assert.ok(
    session.active_seconds >= Math.floor(visible) - 2 && session.active_seconds <= Math.ceil(visible) + 1,
    `active_seconds ${session.active_seconds} should be the ${visible.toFixed(1)} visible seconds, not the ${span.toFixed(1)} s span`,
  );
});
