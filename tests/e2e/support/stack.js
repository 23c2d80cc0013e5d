// stack.js — what most end-to-end tests stand on: a local github.com, the
// real worktime-server (temporary SQLite file), optionally the fault proxy in
// front of it, and Chromium with the built extension. Started in that order,
// stopped in reverse, and whatever did start is stopped if a later part fails.
import assert from 'node:assert/strict';
import { startGithub } from './github.js';
import { startServer } from './server.js';
import { askWorker, launchExtension } from './browser.js';
import { startFaultProxy } from './fault-proxy.mjs';

/**
 * Starts the stack. Returns `{ github, server, proxy, ext, close() }`;
 * `proxy` is null unless `faultProxy` is set. `dist` loads another unpacked
 * extension than dist/ (see `testVariant`); `browserArgs` adds
 * Chromium flags.
 */
export async function startStack({ faultProxy = false, dist, browserArgs = [] } = {}) {
  const started = [];
  const track = (part) => {
    started.push(part);
    return part;
  };
  try {
    const github = track(await startGithub());
    const server = track(await startServer());
    const proxy = faultProxy ? track(await startFaultProxy({ target: server.url })) : null;
    const ext = track(await launchExtension({ githubPort: github.port, dist, args: browserArgs }));
    return { github, server, proxy, ext, close: () => closeAll(started) };
  } catch (err) {
    await closeAll(started);
    throw err;
  }
}

async function closeAll(parts) {
  for (const part of parts.reverse()) {
    await part.close().catch((err) => console.error(`stopping a test part failed: ${err}`));
  }
}

/**
 * Configures the extension of `stack` as a user would on its options page: a
 * new user and token from the server's CLI, then a `save-settings` message
 * from an extension page (`page`, left open for the test to go on with)
 * pointing the extension at `serverUrl` (the server itself by default, or the
 * fault proxy in front of it). Returns `{ page, token }`.
 */
export async function signIn(stack, { user, device, page = 'options.html', serverUrl = stack.server.url }) {
  const token = stack.server.addUserWithToken(user, device);
  const extPage = await stack.ext.context.newPage();
  await extPage.goto(stack.ext.url(page));
  const saved = await askWorker(extPage, { type: 'save-settings', serverUrl, token });
  assert.ok(saved.ok, JSON.stringify(saved));
  return { page: extPage, token };
}
