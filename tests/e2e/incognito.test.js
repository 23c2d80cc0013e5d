// Incognito windows are not timed unless the user turns it on (issue 9,
// point 9). The extension is allowed in incognito as a user would allow it
// (chrome://extensions: developer mode for the unpacked build, then "Allow in
// Incognito", here through that page's own chrome.developerPrivate calls),
// which reloads it. Real incognito windows in headless Chromium, the built
// extension, the local github.com and the real server: an incognito PR
// leaves nothing on the server and is never shown as a review until
// "time incognito windows" is on; then it is timed like any other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

let stack;
let r;

before(async () => {
  stack = await startStack();
  const { ext } = stack;
  const extensions = await ext.context.newPage();
  await extensions.goto('chrome://extensions/');
  const call = (fn, arg) => extensions.evaluate(fn, arg);
  const devMode = await call(() => new Promise((resolve) =>
    chrome.developerPrivate.updateProfileConfiguration({ inDeveloperMode: true }, () =>
      resolve(chrome.runtime.lastError?.message ?? 'ok'))));
  assert.equal(devMode, 'ok');
  const allowed = await call((id) => new Promise((resolve) =>
    chrome.developerPrivate.updateExtensionConfiguration({ extensionId: id, incognitoAccess: true }, () =>
      resolve(chrome.runtime.lastError?.message ?? 'ok'))), ext.extensionId);
  assert.equal(allowed, 'ok');
  // The reload that follows: wait until the extension runs again and says so.
  await waitFor('the extension enabled in incognito', () => call((id) => new Promise((resolve) =>
    chrome.developerPrivate.getExtensionInfo(id, (info) =>
      resolve(info?.state === 'ENABLED' && info.incognitoAccess.isActive))), ext.extensionId));
  await extensions.close();
  await waitFor('the extension to answer after its reload', async () => {
    const probe = await ext.context.newPage();
    try {
      await probe.goto(ext.url('options.html'));
      return (await askWorker(probe, { type: 'get-status' })).ok;
    } finally {
      await probe.close();
    }
  }, { timeoutMs: 20000 });
  const { page: options, token } = await signIn(stack, { user: 'nia', device: 'desk' });
  r = {
    options,
    current: async () => (await askWorker(options, { type: 'get-status' })).reply.view.current?.pr ?? null,
    rows: async () => (await stack.server.get('/api/v1/sessions', token)).sessions,
    /** Opens `url` in a new incognito window; its id and its tab's id once loaded. */
    async incognito(url) {
      const win = await options.evaluate((u) =>
        chrome.windows.create({ incognito: true, url: u }).then((w) => ({ id: w.id, tab: w.tabs[0].id, incognito: w.incognito })), url);
      assert.equal(win.incognito, true, 'precondition: an incognito window');
      await waitFor('the incognito PR page to load', () =>
        options.evaluate((t) => chrome.tabs.get(t).then((tab) => tab.status === 'complete'), win.tab));
      return win;
    },
    closeWindow: (id) => options.evaluate((w) => chrome.windows.remove(w).then(() => true), id),
  };
});

after(() => stack?.close());

async function savePrivacy(privacy) {
  const answer = await askWorker(r.options, { type: 'save-privacy', ...privacy });
  assert.ok(answer.ok, JSON.stringify(answer));
  return answer.reply;
}

test('an incognito PR is not timed by default: no session, nothing sent', async () => {
  const win = await r.incognito('https://github.com/octo/hello-world/pull/120');
  // A marker in a normal tab, reported after the incognito page's own report.
  const marker = await stack.ext.context.newPage();
  await marker.goto('https://github.com/octo/hello-world/pull/121');
  await waitFor('marker PR 121 timed', async () => (await r.current()) === 'octo/hello-world#121');
  await marker.close();
  await r.closeWindow(win.id);
  await waitFor('marker PR 121 ended on the server', async () =>
    (await r.rows()).some((s) => s.pr_number === 121 && s.state === 'ended'));
  const all = await r.rows();
  assert.deepEqual(all.map((s) => s.pr_number), [121], `the incognito PR 120 reached the server: ${JSON.stringify(all)}`);
});

test('with "time incognito windows" on, an incognito PR is timed and sent', async () => {
  const saved = await savePrivacy({ timeIncognito: true, repos: '', onlyThese: false });
  assert.equal(saved.timeIncognito, true, JSON.stringify(saved));
  const win = await r.incognito('https://github.com/octo/hello-world/pull/122');
  await waitFor('incognito PR 122 timed', async () => (await r.current()) === 'octo/hello-world#122');
  await r.closeWindow(win.id);
  const ended = await waitFor('PR 122 ended on the server', async () =>
    (await r.rows()).find((s) => s.pr_number === 122 && s.state === 'ended'));
  assert.equal(ended.repo_owner, 'octo');
  // And off again: the next incognito PR is not timed.
  await savePrivacy({ timeIncognito: false, repos: '', onlyThese: false });
  const again = await r.incognito('https://github.com/octo/hello-world/pull/123');
  const marker = await stack.ext.context.newPage();
  await marker.goto('https://github.com/octo/hello-world/pull/124');
  await waitFor('marker PR 124 timed', async () => (await r.current()) === 'octo/hello-world#124');
  await marker.close();
  await r.closeWindow(again.id);
  await waitFor('marker PR 124 ended on the server', async () =>
    (await r.rows()).some((s) => s.pr_number === 124 && s.state === 'ended'));
  assert.deepEqual((await r.rows()).map((s) => s.pr_number).sort(), [121, 122, 124]);
});
