// cold-start.js — bench only (copied as bench-cold-start.js into the bench's
// private copy of dist/, never shipped). Each load of the page is a fresh JS
// realm, so it times what a service-worker start does with the shipped
// worktime_wasm.js, in the same order background.js does it:
// `init()` (fetch, compile and instantiate worktime_wasm_bg.wasm), then
// `Extension.open(host, db)` (IndexedDB open/upgrade, load every store, the
// engine's Started input). `?db=NAME` picks the database, so the running
// worker's own database is never touched.
//
// The host is background.js's, with two differences that keep the page from
// disturbing the real worker: alarm names get a `bench-` prefix (the same
// chrome.alarms calls, on other alarms) and `broadcast` is a no-op (the
// worker's is fire-and-forget, never awaited).
import init, { Extension } from './worktime_wasm.js';

const t0 = performance.now();
const db = new URLSearchParams(location.search).get('db');

const host = {
  setAlarm(name, whenMs) {
    return chrome.alarms.create(`bench-${name}`, { when: whenMs });
  },
  async ensureRepeatingAlarm(name, periodMinutes) {
    const existing = await chrome.alarms.get(`bench-${name}`);
    if (!existing || existing.periodInMinutes !== periodMinutes) {
      await chrome.alarms.create(`bench-${name}`, { periodInMinutes: periodMinutes });
    }
  },
  clearAlarm(name) {
    return chrome.alarms.clear(`bench-${name}`);
  },
  async setBadge(text, color) {
    await chrome.action.setBadgeText({ text });
    if (color) await chrome.action.setBadgeBackgroundColor({ color });
  },
  async openTabs() {
    const tabs = await chrome.tabs.query({});
    return tabs.map((tab) => tab.id).filter((id) => Number.isInteger(id));
  },
  broadcast() {},
};

window.benchColdStart = (async () => {
  await init({ module_or_path: chrome.runtime.getURL('worktime_wasm_bg.wasm') });
  const t1 = performance.now();
  await Extension.open(host, db);
  const t2 = performance.now();
  return { initMs: t1 - t0, openMs: t2 - t1, totalMs: t2 - t0, sinceNavigationMs: t2 };
})();
