// background.js — the service worker: a switchboard between Chrome's events
// and the Rust shell (worktime_wasm.js). It decides nothing: it checks who
// sent a message, starts the wasm once, and forwards every event to the
// shell's export for that kind of event.
//
// MV3 rules this file obeys (see shared TOOLCHAIN.md):
// - every listener is registered synchronously in the first turn: a worker
//   woken for an event only delivers it to listeners registered then;
// - no top-level await (the worker would never start) and no dynamic
//   import() (refused in service workers): the wasm module is imported
//   statically, started once, and its promise awaited inside each listener.
import init, { Extension } from './worktime_wasm.js';
import { checkSender, errorToPlain, MessageError } from './messages.js';

/** The chrome.storage.local key of writes IndexedDB refused. */
const BACKLOG_KEY = 'worktime-refused-writes';

/** What the wasm shell may ask of the browser; it holds no logic either. */
const host = {
  /** One-shot alarm at `whenMs` (Unix ms); replaces one of the same name. */
  setAlarm(name, whenMs) {
    return chrome.alarms.create(name, { when: whenMs });
  },
  /** Repeating alarm every `periodMinutes`, created only when missing so
   * that a worker restart does not push the next firing back. */
  async ensureRepeatingAlarm(name, periodMinutes) {
    const existing = await chrome.alarms.get(name);
    if (!existing || existing.periodInMinutes !== periodMinutes) {
      await chrome.alarms.create(name, { periodInMinutes: periodMinutes });
    }
  },
  clearAlarm(name) {
    return chrome.alarms.clear(name);
  },
  /** Report idle after `seconds` without input (the user's setting, read by
   * the shell at every start; locked screens are reported anyway). */
  setIdleDetection(seconds) {
    chrome.idle.setDetectionInterval(seconds);
  },
  /** The toolbar badge: pending count, `!`, or empty. */
  async setBadge(text, color) {
    await chrome.action.setBadgeText({ text });
    if (color) await chrome.action.setBadgeBackgroundColor({ color });
  },
  /** `chrome.idle`'s state now ('active', 'idle' or 'locked'), asked at
   * every worker start: a worker woken while the machine is idle or locked
   * hears no state change. */
  queryIdleState(seconds) {
    return chrome.idle.queryState(seconds);
  },
  /** Whether this is the worker's first start in this browser run:
   * `chrome.storage.session` is cleared when the browser restarts, and Chrome
   * then reuses tab ids, so the shell must not match stored tabs to new ones. */
  async firstStartThisBrowserRun() {
    const key = 'worktimeBrowserRun';
    const seen = await chrome.storage.session.get(key);
    if (seen[key]) return false;
    await chrome.storage.session.set({ [key]: true });
    return true;
  },
  /** Ids of every open tab, so sessions whose tabs vanished while the worker
   * was stopped can be ended (ids need no `tabs` permission). */
  async openTabs() {
    const tabs = await chrome.tabs.query({});
    return tabs.map((tab) => tab.id).filter((id) => Number.isInteger(id));
  },
  /** Keeps writes IndexedDB refused in chrome.storage.local (a quota of its
   * own) until IndexedDB takes them; rejects when that storage refuses too. */
  saveBacklog(writes) {
    return chrome.storage.local.set({ [BACKLOG_KEY]: writes });
  },
  /** The writes kept by saveBacklog, or null. */
  async loadBacklog() {
    return (await chrome.storage.local.get(BACKLOG_KEY))[BACKLOG_KEY] ?? null;
  },
  clearBacklog() {
    return chrome.storage.local.remove(BACKLOG_KEY);
  },
  /** Tells open popup/options pages that the view changed. No page open is fine. */
  broadcast(view) {
    chrome.runtime.sendMessage({ type: 'status-changed', view }).catch(() => {});
  },
};

let started = null;
/** Starts the wasm and opens the shell once; later calls share the promise.
 * A failed start is forgotten so the next event tries again. */
function shell() {
  if (!started) {
    started = init({ module_or_path: chrome.runtime.getURL('worktime_wasm_bg.wasm') })
      .then(() => Extension.open(host))
      .catch((err) => {
        started = null;
        console.error('WorkTime Sync: the shell did not start:', errorToPlain(err));
        throw err;
      });
  }
  return started;
}

/** Runs `f` with the started shell; an error is logged, never thrown into Chrome. */
function forward(what, f) {
  return shell()
    .then(f)
    .catch((err) => console.error(`WorkTime Sync: ${what} failed:`, errorToPlain(err)));
}


chrome.runtime.onInstalled.addListener(() => forward('install', (ext) => ext.woke()));
chrome.runtime.onStartup.addListener(() => forward('startup', (ext) => ext.woke()));
chrome.alarms.onAlarm.addListener((alarm) => forward('alarm', (ext) => ext.alarm(alarm.name)));
chrome.tabs.onRemoved.addListener((tabId) => forward('tab removal', (ext) => ext.tabRemoved(tabId)));
// A tab that starts loading another page: its URL is visible to us only on
// github.com (the host permission; no `tabs` permission), so a tab leaving
// GitHub stops its clock even when its page's `pagehide` never arrives.
chrome.tabs.onUpdated.addListener((tabId, change, tab) => {
  if (change.status === undefined && change.url === undefined) return;
  forward('tab update', (ext) => ext.tabUpdated(tabId, tab.url ?? undefined));
});
chrome.idle.onStateChanged.addListener((state) => forward('idle change', (ext) => ext.idle(state)));

// The network comes and goes; the engine retries at once when it is back.
self.addEventListener('online', () => forward('online', (ext) => ext.network(true)));
self.addEventListener('offline', () => forward('offline', (ext) => ext.network(false)));

const OWN_ORIGIN = chrome.runtime.getURL('');

// Only the sender is checked here (only Chrome knows it); the message itself
// is decoded, and refused when malformed, by the shell.
chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  let from;
  try {
    from = checkSender(sender, chrome.runtime.id, OWN_ORIGIN);
  } catch (err) {
    if (!(err instanceof MessageError)) throw err;
    console.warn('WorkTime Sync: refused a message:', err.variant, err.message);
    sendResponse({ ok: false, error: errorToPlain(err) });
    return false;
  }
  shell()
    .then((ext) =>
      from.family === 'content' ? ext.pageReport(message, from.tabId, from.incognito) : ext.command(message),
    )
    .then(
      (reply) => sendResponse({ ok: true, reply: reply ?? null }),
      (err) => sendResponse({ ok: false, error: errorToPlain(err) }),
    );
  return true; // the answer comes asynchronously
});

// Start now rather than on the first event, so that a worker restarted by an
// event Chrome delivers elsewhere still resumes pending work promptly.
forward('start', (ext) => ext.woke());
