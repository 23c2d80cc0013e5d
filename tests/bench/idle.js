// idle.js — requests an idle extension makes with nothing pending.
//
// After everything drained, the bench waits for 3 s of silence at the fault
// proxy, then counts every request reaching it (preflights included) for
// `seconds`. Chrome stops an idle MV3 worker after about 30 s and the
// 1-minute fallback alarm starts it again; Playwright's attachment keeps a
// worker alive, so the bench stops it itself every 30 s it finds it running.
import { waitFor } from '../e2e/support/wait.js';
import { pause } from './pause.js';

const STOP_EVERY_MS = 30000;

/** Counts requests at `proxy` during `seconds` of idleness. */
export async function measureIdle({ proxy, worker, seconds, onTick }) {
  await waitFor('3 s without a request at the proxy', () => {
    const last = proxy.requests.at(-1);
    return !last || Date.now() - last.at >= 3000;
  }, { timeoutMs: 120000, intervalMs: 200 });
  const from = Date.now();
  const until = from + seconds * 1000;
  const startsBefore = worker.starts;
  let stops = 0;
  let nextStop = from;
  while (Date.now() < until) {
    if (Date.now() >= nextStop) {
      if (worker.status === 'running') {
        await worker.stop();
        stops += 1;
      }
      nextStop += STOP_EVERY_MS;
    }
    onTick?.(Math.round((until - Date.now()) / 1000));
    await pause(Math.min(1000, Math.max(0, until - Date.now())));
  }
  const seen = proxy.seenSince(from, { preflights: true }).filter((r) => r.at < until);
  return {
    seconds,
    requests: seen.length,
    seen: seen.map((r) => `${new Date(r.at).toISOString()} ${r.method} ${r.path.replace(/\?.*/, '?…')} ${r.status ?? '-'}`),
    workerStops: stops,
    workerStarts: worker.starts - startsBefore,
  };
}
