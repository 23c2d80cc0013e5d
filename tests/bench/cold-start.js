// cold-start.js — how long the shell takes to be ready after a start.
//
// 1. In-page: the bench page (page/cold-start.js, in the bench's copy of
//    dist/ only) loaded `starts` times, each load a fresh realm: init()
//    (wasm fetched, compiled, instantiated) + Extension.open (IndexedDB
//    open, stores loaded, engine started) on a database of its own. The
//    first load creates that database (schema upgrade: a first install);
//    the others reopen it (what every worker restart does).
// 2. The real worker: stopped over CDP, then woken by a message from an
//    extension page (`get-settings`, answered from memory once the shell is
//    open); the time from sending to the answer covers Chrome starting the
//    worker, background.js evaluating, init(), open() and the message.
import { summary } from './stats.js';

/** Runs both measurements; `worker` is a watchWorker(). */
export async function measureColdStart({ ext, worker, starts, wakes }) {
  const { context } = ext;
  const dbName = `bench-cold-${process.pid}-${Date.now()}`;
  const page = await context.newPage();
  const loads = [];
  try {
    for (let i = 0; i <= starts; i++) {
      await page.goto(`${ext.url('bench-cold-start.html')}?db=${encodeURIComponent(dbName)}&load=${i}`);
      const result = await page.evaluate(() => window.benchColdStart);
      loads.push(result);
    }
    await page.evaluate(async () => {
      for (const alarm of await chrome.alarms.getAll()) {
        if (alarm.name.startsWith('bench-')) await chrome.alarms.clear(alarm.name);
      }
    });
    await page.goto(ext.url('options.html'));
    const wakeMs = [];
    for (let i = 0; i < wakes; i++) {
      await worker.stop();
      const answer = await page.evaluate(async () => {
        const t = performance.now();
        const reply = await chrome.runtime.sendMessage({ type: 'get-settings' });
        return { ms: performance.now() - t, ok: reply?.ok === true };
      });
      if (!answer.ok) throw new Error('the woken worker did not answer get-settings');
      wakeMs.push(answer.ms);
    }
    // The page's databases are the bench's own; remove them.
    await page.evaluate((name) => new Promise((resolve) => {
      const req = indexedDB.deleteDatabase(name);
      req.onsuccess = req.onerror = req.onblocked = () => resolve();
    }), dbName);
    const [first, ...restarts] = loads;
    return {
      firstInstall: first,
      restart: {
        total: summary(restarts.map((r) => r.totalMs)),
        init: summary(restarts.map((r) => r.initMs)),
        open: summary(restarts.map((r) => r.openMs)),
      },
      workerWake: summary(wakeMs),
    };
  } finally {
    await page.close();
  }
}
