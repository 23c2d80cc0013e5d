// Hidden time is not review time: a PR tab that goes to the background stops
// its timer, and coming back resumes it. Driven over a raw DevTools pipe
// (support/raw-chromium.js) because under Playwright tabs never turn hidden.
// Real parts: the built extension in Debian's Chromium, the local HTTPS
// github.com, and the real worktime-server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGithub } from './support/github.js';
import { startServer } from './support/server.js';
import { launchRawChromium } from './support/raw-chromium.js';
import { waitFor } from './support/wait.js';

const PR_URL = 'https://github.com/octo/hello-world/pull/11';

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

/** The popup's view, asked from an extension page. */
async function view(page) {
  const answer = await page.ask({ type: 'get-status' });
  assert.ok(answer.ok, JSON.stringify(answer));
  return answer.reply.view;
}

/** Waits until the timed PR's timer is running (`true`) or stopped (`false`). */
async function waitCounting(page, running) {
  return waitFor(`the PR timer to ${running ? 'run' : 'stop'}`, async () => {
    const current = (await view(page)).current;
    return current && current.pr === 'octo/hello-world#11' && (current.counting_since != null) === running && current;
  });
}

/** Waits `ms` of wall time (the review itself), with a deadline like any wait. */
function stay(what, ms) {
  const until = Date.now() + ms;
  return waitFor(what, () => Date.now() >= until, { timeoutMs: ms + 5000 });
}

test('time while the PR tab is in the background is not counted; coming back resumes the timer', async () => {
  const token = server.addUserWithToken('reviewer', 'raw-chromium');
  const options = await chromium.openExtensionPage('options.html');
  const saved = await options.ask({ type: 'save-settings', serverUrl: server.url, token });
  assert.deepEqual(saved, { ok: true, reply: { serverUrl: server.url, hasToken: true } });

  // Visible: ~3 s.
  const prTab = await chromium.evalInWorker(
    `chrome.tabs.create({ url: ${JSON.stringify(PR_URL)}, active: true }).then((t) => t.id)`,
  );
  await waitCounting(options, true);
  const visibleFrom = Date.now();
  await stay('3 s with the PR visible', 3000);

  // Hidden: the options tab comes to the front for ~4 s.
  await chromium.evalInWorker(`chrome.tabs.update(${options.tabId}, { active: true }).then(() => true)`);
  const hidden = await waitCounting(options, false);
  const visibleMs = Date.now() - visibleFrom;
  await stay('4 s with the PR in the background', 4000);
  const stillHidden = (await view(options)).current;
  assert.equal(stillHidden.active_seconds, hidden.active_seconds, 'no seconds counted while hidden');

  // Visible again: ~2 s, then the tab is closed.
  await chromium.evalInWorker(`chrome.tabs.update(${prTab}, { active: true }).then(() => true)`);
  await waitCounting(options, true);
  const backAt = Date.now();
  await stay('2 s with the PR visible again', 2000);
  const totalVisible = (visibleMs + (Date.now() - backAt)) / 1000;
  const wall = (Date.now() - visibleFrom) / 1000;
  await chromium.evalInWorker(`chrome.tabs.remove(${prTab}).then(() => true)`);

  const session = await waitFor('the ended session on the server', async () => {
    const page = await server.get('/api/v1/sessions?state=ended', token);
    return page.sessions.find((s) => s.repo_owner === 'octo' && s.repo_name === 'hello-world' && s.pr_number === 11);
  }, { timeoutMs: 20000 });
  assert.equal(session.state, 'ended');
  assert.ok(
    Math.abs(session.active_seconds - totalVisible) <= 1.5,
    `active_seconds ${session.active_seconds} should be the ${totalVisible.toFixed(1)} s the PR was visible, not the ${wall.toFixed(1)} s it was open`,
  );
  assert.ok(wall - session.active_seconds >= 3, 'the background time is left out');
});
