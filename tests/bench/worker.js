// worker.js — the extension's service worker seen and stopped over CDP, the
// way MV3 stops an idle worker (`ServiceWorker.stopAllWorkers`, as in
// tests/e2e/worker_restart.test.js). Playwright does not notice a stop or a
// restart, so the running status comes from `workerVersionUpdated`.
import { waitFor } from '../e2e/support/wait.js';

/**
 * Attaches to `page` (any page of `context`). Returns `{ status, starts,
 * stop(), waitRunning(), close() }`; `starts` counts transitions to
 * `running` seen since attaching.
 */
export async function watchWorker(context, page) {
  const cdp = await context.newCDPSession(page);
  let status = null;
  let starts = 0;
  cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
    for (const v of versions) {
      if (!v.scriptURL.endsWith('/background.js')) continue;
      if (v.runningStatus === 'running' && status !== 'running') starts += 1;
      status = v.runningStatus;
    }
  });
  await cdp.send('ServiceWorker.enable');
  await waitFor('the worker status over CDP', () => status !== null, { timeoutMs: 10000, intervalMs: 10 });
  return {
    get status() {
      return status;
    },
    get starts() {
      return starts;
    },
    /** Stops the worker and waits until Chrome reports it stopped. */
    async stop() {
      await cdp.send('ServiceWorker.stopAllWorkers');
      await waitFor('the worker to be stopped', () => status === 'stopped', { timeoutMs: 10000, intervalMs: 5 });
    },
    /** Waits until the worker runs (after something woke it). */
    waitRunning(timeoutMs = 10000) {
      return waitFor('the worker to run', () => status === 'running', { timeoutMs, intervalMs: 5 });
    },
    async close() {
      await cdp.detach().catch(() => {});
    },
  };
}
