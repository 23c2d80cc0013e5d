// Bad input from another extension: a second extension installed beside ours
// sends it forged messages (new server settings, a page report, Sync now,
// a status read) and opens a port to it. None of them reaches the worker
// (it listens to no external messages), so nothing changes: the settings
// stay, no session starts, nothing is sent. Both extensions are loaded into
// the same Chromium, so this launches its own browser rather than
// support/browser.js's one-extension one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { askWorker } from './support/browser.js';
import { CHROMIUM, DIST } from './support/paths.js';
import { startServer } from './support/server.js';
import { waitFor } from './support/wait.js';

let server;
let context;
let dir;

before(async () => {
  server = await startServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-other-ext-'));
  const other = path.join(dir, 'other');
  fs.mkdirSync(other);
  fs.writeFileSync(path.join(other, 'manifest.json'), JSON.stringify({
    manifest_version: 3,
    name: 'Some other extension',
    version: '1.0',
    background: { service_worker: 'other.js' },
  }));
  fs.writeFileSync(path.join(other, 'other.js'), '// Driven by the test through evaluate.\n');
  context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--disable-extensions-except=${DIST},${other}`,
      `--load-extension=${DIST},${other}`,
    ],
  });
});

after(async () => {
  await context?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const worker = (script) =>
  waitFor(`the ${script} service worker`, () => context.serviceWorkers().find((w) => w.url().endsWith(`/${script}`)));

test('messages and ports from another extension reach nothing and change nothing', async () => {
  const ours = await worker('background.js');
  const theirs = await worker('other.js');
  const ourId = new URL(ours.url()).host;
  assert.notEqual(new URL(theirs.url()).host, ourId);

  const token = server.addUserWithToken('oli', 'desk');
  const options = await context.newPage();
  await options.goto(`chrome-extension://${ourId}/options.html`);
  await waitFor('the extension to answer', async () => (await askWorker(options, { type: 'get-settings' }))?.ok);
  assert.ok((await askWorker(options, { type: 'save-settings', serverUrl: server.url, token })).ok);

  const answers = await theirs.evaluate(async (id) => {
    const forged = [
      { type: 'save-settings', serverUrl: 'https://evil.example', token: 'stolen' },
      { type: 'page-state', path: '/octo/hello-world/pull/77', visible: true, doc: 1, seq: 1 },
      { type: 'sync-now' },
      { type: 'get-status' },
      { type: 'get-settings' },
    ];
    const out = [];
    for (const m of forged) {
      try {
        out.push({ type: m.type, answer: await chrome.runtime.sendMessage(id, m) });
      } catch (err) {
        out.push({ type: m.type, refused: err.message });
      }
    }
    // A long-lived port: nobody on our side accepts it, so it disconnects.
    const port = chrome.runtime.connect(id);
    const disconnected = await new Promise((resolve) => {
      port.onDisconnect.addListener(() => resolve(chrome.runtime.lastError?.message ?? 'disconnected'));
      port.postMessage({ type: 'save-settings', serverUrl: 'https://evil.example', token: 'stolen' });
    });
    out.push({ type: 'port', refused: disconnected });
    return out;
  }, ourId);
  for (const a of answers) {
    assert.ok(a.refused, `${a.type} from another extension was answered: ${JSON.stringify(a.answer)}`);
    assert.match(a.refused, /Receiving end does not exist/);
  }

  const { reply: settings } = await askWorker(options, { type: 'get-settings' });
  assert.deepEqual(settings, { serverUrl: server.url, hasToken: true }, 'the settings are the ones the user saved');
  const { reply: status } = await askWorker(options, { type: 'get-status' });
  assert.equal(status.view.current, null, 'no session from the forged page report');
  await waitFor('the worker to say Synced (its own pull done)', async () =>
    (await askWorker(options, { type: 'get-status' })).reply.view.status.line === 'Synced');
  assert.deepEqual((await server.get('/api/v1/sessions', token)).sessions, []);
});
