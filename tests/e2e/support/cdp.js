// cdp.js — Chromium started directly (no Playwright) and driven over a raw
// DevTools connection. Playwright keeps every tab visible; Chromium on its
// own hides a tab when another one is activated, so visibility scenarios
// need this driver. Tabs are switched with chrome.tabs evaluated in the
// extension's service worker; extension pages are reached by attaching to
// their own targets, never to the github.com tabs whose visibility is tested.
// Needs Node's WebSocket (`node --experimental-websocket` on Node 20).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM, DIST } from './paths.js';
import { waitFor } from './wait.js';

/** One DevTools connection with flat sessions. */
class Connection {
  constructor(ws) {
    this.ws = ws;
    this.nextId = 1;
    this.pending = new Map();
    ws.addEventListener('message', (event) => {
      const msg = JSON.parse(event.data);
      const waiter = msg.id && this.pending.get(msg.id);
      if (!waiter) return;
      this.pending.delete(msg.id);
      if (msg.error) waiter.reject(new Error(`${waiter.method}: ${msg.error.message}`));
      else waiter.resolve(msg.result);
    });
  }

  send(method, params = {}, sessionId = undefined) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.ws.send(JSON.stringify({ id, method, params, sessionId }));
    });
  }

  /** Evaluates `expression` (awaiting a promise) in a session; its JSON value. */
  async evaluate(sessionId, expression) {
    const result = await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId);
    if (result.exceptionDetails) {
      throw new Error(`evaluate failed: ${result.exceptionDetails.exception?.description ?? result.exceptionDetails.text}`);
    }
    return result.result.value;
  }
}

/**
 * Starts Chromium headless with dist/ loaded and github.com mapped to
 * `githubPort`. Returns `{ worker(expr), page(target, expr), openExtensionPage(name), close() }`.
 */
export async function launchRawChromium({ githubPort }) {
  if (typeof WebSocket !== 'function') {
    throw new Error('WebSocket is missing: run node with --experimental-websocket');
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-raw-chromium-'));
  const child = spawn(CHROMIUM, [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--no-default-browser-check',
    `--user-data-dir=${profile}`,
    '--remote-debugging-port=0',
    `--disable-extensions-except=${DIST}`,
    `--load-extension=${DIST}`,
    '--ignore-certificate-errors',
    `--host-resolver-rules=MAP github.com 127.0.0.1:${githubPort}`,
    'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });

  const portFile = path.join(profile, 'DevToolsActivePort');
  const wsUrl = await waitFor('Chromium to open its DevTools port', () => {
    if (child.exitCode !== null) throw new Error(`chromium exited: ${stderr}`);
    if (!fs.existsSync(portFile)) return null;
    const [port, wsPath] = fs.readFileSync(portFile, 'utf8').trim().split('\n');
    return port && wsPath ? `ws://127.0.0.1:${port}${wsPath}` : null;
  }, { timeoutMs: 20000 });
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', reject, { once: true });
  });
  const conn = new Connection(ws);

  const sessions = new Map();
  async function attach(targetId) {
    if (!sessions.has(targetId)) {
      const { sessionId } = await conn.send('Target.attachToTarget', { targetId, flatten: true });
      sessions.set(targetId, sessionId);
    }
    return sessions.get(targetId);
  }

  const workerTarget = await waitFor('the extension service worker', async () => {
    const { targetInfos } = await conn.send('Target.getTargets');
    return targetInfos.find((t) => t.type === 'service_worker' && t.url.endsWith('/background.js'));
  }, { timeoutMs: 20000 });
  const extensionId = new URL(workerTarget.url).host;

  // The target can be listed before its script has run; wait for chrome.tabs.
  await waitFor('the worker to be ready', async () =>
    conn.evaluate(await attach(workerTarget.targetId), "typeof chrome === 'object' && !!chrome.tabs"), { timeoutMs: 20000 });

  const raw = {
    extensionId,
    /** Evaluates in the extension's service worker. */
    async worker(expression) {
      return conn.evaluate(await attach(workerTarget.targetId), expression);
    },
    /** Opens an extension page in a background tab; returns its target id. */
    async openExtensionPage(name) {
      const url = `chrome-extension://${extensionId}/${name}`;
      await raw.worker(`chrome.tabs.create({ url: ${JSON.stringify(url)}, active: false }).then(() => true)`);
      const target = await waitFor(`${name} to open`, async () => {
        const { targetInfos } = await conn.send('Target.getTargets');
        return targetInfos.find((t) => t.type === 'page' && t.url === url);
      });
      await waitFor(`${name} to load`, async () =>
        (await conn.evaluate(await attach(target.targetId), 'document.readyState')) === 'complete');
      return target.targetId;
    },
    /** Evaluates in an extension page opened by openExtensionPage. */
    async page(targetId, expression) {
      return conn.evaluate(await attach(targetId), expression);
    },
    async close() {
      try {
        await conn.send('Browser.close');
      } catch {
        // Already closing.
      }
      ws.close();
      if (child.exitCode === null) {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await new Promise((resolve) => child.once('exit', resolve));
        clearTimeout(timer);
      }
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
  return raw;
}
