// raw-chromium.js — Debian's Chromium with the built extension, driven over
// a raw DevTools connection (--remote-debugging-pipe), without Playwright.
//
// Why: Playwright keeps every tab it attaches to "visible", so the content
// script never sees a tab go hidden. Here we attach only to the targets we
// choose (the extension's service worker and one extension page) and switch
// tabs with chrome.tabs.update from the worker, so PR tabs really turn hidden
// and visible again (see shared TOOLCHAIN.md).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM, DIST } from './paths.js';
import { waitFor } from './wait.js';

/** A DevTools protocol connection over Chromium's pipe (fd 3 in, fd 4 out;
 * messages are JSON terminated by NUL). */
class PipeConnection {
  constructor(input, output) {
    this.input = input;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Set();
    let buffer = '';
    output.setEncoding('utf8');
    output.on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\0')) >= 0) {
        const message = JSON.parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 1);
        this.dispatch(message);
      }
    });
  }

  dispatch(message) {
    if (message.id !== undefined && this.pending.has(message.id)) {
      const { resolve, reject, method } = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error) reject(new Error(`${method}: ${message.error.message}`));
      else resolve(message.result);
      return;
    }
    for (const listener of this.listeners) listener(message);
  }

  /** Sends `method` (to `sessionId` when given) and resolves with its result. */
  send(method, params = {}, sessionId) {
    const id = this.nextId++;
    const message = { id, method, params };
    if (sessionId) message.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.input.write(`${JSON.stringify(message)}\0`);
    });
  }

  /** Fails every request still waiting (the browser went away). */
  failAll(error) {
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }
}

/**
 * Starts headless Chromium with dist/ (or the unpacked extension in `dist`)
 * loaded and github.com mapped to `githubPort`, showing `startUrl` in its
 * first tab. Returns `{ extensionId, pid, evalInWorker(expr),
 * openExtensionPage(page), kill(), close() }`. Only the service worker (and
 * pages opened with openExtensionPage) are attached. With `profile` (a
 * user-data-dir the caller made) the browser can be started again on the
 * same profile, as after a restart; the caller then removes it, not close().
 */
export async function launchRawChromium({ githubPort, dist = DIST, profile: given, startUrl = 'about:blank' }) {
  if (!fs.existsSync(path.join(dist, 'manifest.json'))) {
    throw new Error(`${dist} has no manifest.json: run ./build.sh build first`);
  }
  const profile = given ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wt-raw-chromium-'));
  const child = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--no-default-browser-check',
      `--user-data-dir=${profile}`,
      `--disable-extensions-except=${dist}`,
      `--load-extension=${dist}`,
      '--ignore-certificate-errors',
      `--host-resolver-rules=MAP github.com 127.0.0.1:${githubPort}`,
      '--remote-debugging-pipe',
      startUrl,
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  let exited = null;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => {
    exited = { code, signal };
    resolve();
  }));
  const cdp = new PipeConnection(child.stdio[3], child.stdio[4]);
  exit.then(() => cdp.failAll(new Error(`chromium exited (${JSON.stringify(exited)}): ${stderr.slice(-2000)}`)));

  const targets = new Map();
  cdp.listeners.add((m) => {
    if (m.method === 'Target.targetCreated' || m.method === 'Target.targetInfoChanged') {
      targets.set(m.params.targetInfo.targetId, m.params.targetInfo);
    } else if (m.method === 'Target.targetDestroyed') {
      targets.delete(m.params.targetId);
    }
  });
  await cdp.send('Target.setDiscoverTargets', { discover: true });

  const worker = await waitFor('the extension service worker', () => {
    if (exited) throw new Error(`chromium exited early: ${stderr.slice(-2000)}`);
    return [...targets.values()].find((t) => t.type === 'service_worker' && t.url.endsWith('/background.js'));
  }, { timeoutMs: 20000 });
  const extensionId = new URL(worker.url).host;
  const { sessionId: workerSession } = await cdp.send('Target.attachToTarget', { targetId: worker.targetId, flatten: true });

  /** Evaluates `expression` in session `sessionId`, awaiting a promise; the value. */
  async function evaluate(sessionId, expression) {
    const { result, exceptionDetails } = await cdp.send(
      'Runtime.evaluate',
      { expression, awaitPromise: true, returnByValue: true },
      sessionId,
    );
    if (exceptionDetails) {
      throw new Error(`evaluate failed: ${exceptionDetails.exception?.description || exceptionDetails.text}`);
    }
    return result.value;
  }

  return {
    extensionId,
    /** Runs `expression` in the service worker (chrome.tabs.* etc.). */
    evalInWorker: (expression) => evaluate(workerSession, expression),
    /**
     * Opens chrome-extension://<id>/<page> in a new tab and attaches to it.
     * Returns `{ tabId, ask(message) }`; `ask` sends a runtime message from
     * that page, as the popup and options pages do.
     */
    async openExtensionPage(page) {
      const url = `chrome-extension://${extensionId}/${page}`;
      const { targetId } = await cdp.send('Target.createTarget', { url });
      const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true });
      // The new target may first show its initial about:blank, itself
      // "complete" and without chrome.tabs: wait for the page asked for.
      await waitFor(`${page} to load`, async () =>
        (await evaluate(sessionId, `location.href === ${JSON.stringify(url)} && document.readyState === 'complete'`)));
      const tabId = await evaluate(sessionId, 'chrome.tabs.getCurrent().then((t) => t.id)');
      return {
        tabId,
        ask: (message) => evaluate(sessionId, `chrome.runtime.sendMessage(${JSON.stringify(message)})`),
      };
    },
    /** The browser process's id. */
    pid: child.pid,
    /** Ends the browser at once by its pid (SIGKILL), as a crash or a power
     * cut would: no tab closes, no event reaches the extension. */
    async kill() {
      if (!exited) {
        child.kill('SIGKILL');
        await exit;
      }
    },
    /** Closes the browser (politely, then by pid) and removes the profile
     * unless the caller gave it. */
    async close() {
      if (!exited) {
        cdp.send('Browser.close').catch(() => {});
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(timer);
      }
      if (!given) fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
