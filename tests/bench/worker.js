// worker.js — the extension's service worker seen and stopped over CDP, the
// way MV3 stops an idle worker: the e2e tests' controlWorker, looking every
// 5 ms, with `status` and `starts` as properties for the bench's reports.
import { controlWorker } from '../e2e/support/worker-control.js';

/**
 * Attaches to `page` (any page of `context`). Returns `{ status, starts,
 * stop(), waitRunning(), close() }`; `starts` counts transitions to
 * `running` seen since attaching.
 */
export async function watchWorker(context, page) {
  const worker = await controlWorker(context, page, { intervalMs: 5 });
  return {
    get status() {
      return worker.status();
    },
    get starts() {
      return worker.starts();
    },
    stop: () => worker.stop(),
    waitRunning: (timeoutMs = 10000) => worker.waitRunning('the worker to run', timeoutMs),
    close: () => worker.close(),
  };
}
