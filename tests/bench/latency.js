// latency.js — tab close → session ended on the server.
//
// Each sample: open a PR page on the local github.com, wait until its active
// session is on the server (the event stream says so), keep the tab open a
// moment longer, then close it (Playwright `page.close()`: the content
// script's pagehide notice and chrome.tabs.onRemoved, as for a person
// closing the tab). The figure is from just before `close()` to the arrival
// of the server's `session` event with state `ended` for that PR.
//
// `woken`: before each close the worker is stopped over CDP (as MV3 does to
// an idle worker), so the close itself has to start it again.
import { summary } from './stats.js';
import { pause } from './pause.js';

/** Unmeasured sessions first: the first request opens connections and a preflight. */
const WARMUP = 2;
/** How long a tab stays open after its active session reached the server,
 * so the close does not race the answer to that upsert. */
const DWELL_MS = 300;

/**
 * Measures `sessions` closes on PRs of `bench/<repo>`. Returns the summary
 * in ms, the samples, the part from close to the push reaching the proxy
 * (wall clock, ms resolution), the traffic, and how often the worker started.
 */
export async function measureCloseLatency({ ext, events, worker, proxy, sessions, woken, repo }) {
  const samples = [];
  const toProxy = [];
  const toFirst = [];
  const phaseFrom = Date.now();
  const startsBefore = worker.starts;
  for (let i = 0; i < WARMUP + sessions; i++) {
    const pr = i + 1;
    const mine = (state) => (s) => s.repo_owner === 'bench' && s.repo_name === repo && s.pr_number === pr && s.state === state;
    const from = events.size;
    const tab = await ext.context.newPage();
    await tab.goto(`https://github.com/bench/${repo}/pull/${pr}`);
    await events.waitFor(`bench/${repo}#${pr} active`, mine('active'), { from, timeoutMs: 20000 });
    await pause(DWELL_MS);
    if (woken) await worker.stop();
    const closedWall = Date.now();
    const closedAt = performance.now();
    await tab.close();
    const ended = await events.waitFor(`bench/${repo}#${pr} ended`, mine('ended'), { from, timeoutMs: 30000 });
    if (i >= WARMUP) {
      samples.push(ended.at - closedAt);
      // Where the time went: the first push to reach the proxy after the close.
      const after = proxy.seenSince(closedWall, { preflights: true });
      const push = after.find((r) => r.method === 'PUT' || r.method === 'POST');
      if (push) toProxy.push(push.at - closedWall);
      if (after.length) toFirst.push(after[0].at - closedWall);
    }
  }
  // Each close found the worker stopped, so each must have started it again.
  if (woken && worker.starts - startsBefore < WARMUP + sessions) {
    throw new Error(`${WARMUP + sessions} closes of a stopped worker but only ${worker.starts - startsBefore} worker starts seen`);
  }
  const traffic = proxy.seenSince(phaseFrom, { preflights: true });
  return {
    ...summary(samples),
    samples,
    closeToProxy: summary(toProxy),
    closeToFirstRequest: summary(toFirst),
    requests: traffic.filter((r) => r.method !== 'OPTIONS').length,
    preflights: traffic.filter((r) => r.method === 'OPTIONS').length,
    workerStarts: worker.starts - startsBefore,
    warmup: WARMUP,
    dwellMs: DWELL_MS,
  };
}
