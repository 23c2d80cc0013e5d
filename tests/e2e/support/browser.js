// browser.js — Debian's Chromium with the built extension (dist/) loaded,
// github.com mapped to the local HTTPS stand-in, driven by playwright-core.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM, DIST } from './paths.js';
import { waitFor } from './wait.js';

/**
 * Launches Chromium with dist/ (or the unpacked extension in `dist`, e.g. a
 * the test variant, target/dist-test/) and `githubPort` serving github.com. Returns
 * `{ context, worker, extensionId, url(page), consoleErrors, extensionConsole(),
 * close() }`; `consoleErrors` collects errors the service worker logs while
 * Playwright is attached, and `extensionConsole()` every console line the
 * extension's scripts wrote since launch, its very first start included.
 * `args` adds Chromium flags (e.g. support/netlog.js's `netLogArgs`).
 */
export async function launchExtension({ githubPort, dist = DIST, args: extraArgs = [] }) {
  if (!fs.existsSync(path.join(dist, 'manifest.json'))) {
    throw new Error(`${dist} has no manifest.json: run ./build.sh build first`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-chromium-'));
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    `--disable-extensions-except=${dist}`,
    `--load-extension=${dist}`,
    '--ignore-certificate-errors',
    // Chromium writes every console message (the worker's first start
    // included, before Playwright attaches) to <profile>/chrome_debug.log.
    '--enable-logging',
    '--v=0',
  ];
  if (githubPort) args.push(`--host-resolver-rules=MAP github.com 127.0.0.1:${githubPort}`);
  args.push(...extraArgs);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args,
  });
  const worker =
    context.serviceWorkers().find((w) => w.url().endsWith('/background.js')) ||
    (await context.waitForEvent('serviceworker', { timeout: 15000 }));
  const extensionId = new URL(worker.url()).host;
  const consoleErrors = [];
  worker.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  // The worker has started the wasm once this resolves.
  await waitFor('the extension to answer', () =>
    worker.evaluate(async () => {
      const ids = (await chrome.tabs.query({})).length >= 0;
      return ids;
    }),
  );
  return {
    context,
    worker,
    extensionId,
    consoleErrors,
    /** chrome-extension://<id>/<page> */
    url: (page) => `chrome-extension://${extensionId}/${page}`,
    /** Console lines (any level) whose source is one of the extension's own
     * scripts, or that carry the shell's "WorkTime Sync:" prefix. */
    extensionConsole() {
      const log = path.join(profile, 'chrome_debug.log');
      if (!fs.existsSync(log)) throw new Error(`${log} is missing: Chromium did not write its log`);
      return fs
        .readFileSync(log, 'utf8')
        .split('\n')
        .filter((line) => line.includes(':CONSOLE'))
        .filter((line) => line.includes(`chrome-extension://${extensionId}/`) || line.includes('WorkTime Sync'));
    },
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Sends a message to the worker from an extension page (as the popup does)
 * and returns the answer.
 */
export async function askWorker(page, message) {
  return page.evaluate((m) => chrome.runtime.sendMessage(m), message);
}
