// worker-control.js — stopping the extension's service worker the way MV3
// does when it is idle (ServiceWorker.stopAllWorkers over CDP), and watching
// it start again. Playwright does not notice a restart (and `evaluate` on a
// stopped worker hangs), so the running status comes from CDP's
// ServiceWorker.workerVersionUpdated. Used by the e2e tests and the bench.
import { waitFor } from './wait.js';

/**
 * Attaches a CDP session through `page` (any page of the context). Returns
 * `{ status(), starts(), stop(), waitRunning(what), close() }`: the worker's
 * last running status, how many times it has entered `running` since
 * attaching, a stop that resolves once it is stopped, a wait for it to run
 * again, and the session's detach. `intervalMs` is how often those waits
 * look (the bench looks every few milliseconds).
 */
export async function controlWorker(context, page, { intervalMs = 100 } = {}) {
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
  await waitFor('CDP to report the worker', () => status !== null, { intervalMs });
  return {
    status: () => status,
    starts: () => starts,
    async stop() {
      await cdp.send('ServiceWorker.stopAllWorkers');
      await waitFor('the worker to be stopped', () => status === 'stopped', { intervalMs });
    },
    waitRunning: (what = 'the worker to run again', timeoutMs = 15000) =>
      waitFor(what, () => status === 'running', { timeoutMs, intervalMs }),
    close: () => cdp.detach().catch(() => {}),
  };
}
