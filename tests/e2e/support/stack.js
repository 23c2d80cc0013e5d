// stack.js — what most end-to-end tests stand on: a local github.com, the
// real worktime-server (temporary SQLite file), optionally the fault proxy in
// front of it, and Chromium with the built extension. Started in that order,
// stopped in reverse, and whatever did start is stopped if a later part fails.
import { startGithub } from './github.js';
import { startServer } from './server.js';
import { launchExtension } from './browser.js';
import { startFaultProxy } from './fault-proxy.mjs';

/**
 * Starts the stack. Returns `{ github, server, proxy, ext, close() }`;
 * `proxy` is null unless `faultProxy` is set. `dist` loads another unpacked
 * extension than dist/ (see `distWithTestHooks`); `browserArgs` adds
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
