// backlog.js — 1,000 sessions end while the server is down (the fault
// proxy answers 503, or drops every connection: a network error, as for an
// unreachable server); how long until all are durable in IndexedDB, then
// how long and how many requests until the backlog has drained once the
// server is back.
//
// Enqueue: one github.com tab navigates in-page (history.pushState, as
// GitHub's Turbo does) through PRs 1..n of bench/backlog and then closes;
// each navigation makes the content script report the new path, so the
// worker ends the previous session and starts the next — the real message
// path, the real engine, the real IndexedDB. Meanwhile an extension page
// watches the worker's database (read-only: count, then getAll of the
// `queue` store every 10 ms) and notes the moment all n queued entries of
// bench/backlog are `ended`. The clock runs from the first navigation.
//
// Drain: the fault proxy stops failing and "Sync now" is sent, as from the
// popup (the engine's own retry would come after its backoff, up to 30 s,
// or at the 1-minute alarm once items are parked). Timed from then to the
// arrival of the n-th `ended` event on the server's stream; requests are
// counted at the fault proxy.
import { askWorker } from '../e2e/support/browser.js';
import { waitFor } from '../e2e/support/wait.js';

/** How the server is down: the proxy's fault, and how a refused request shows in its log. */
export const OUTAGES = {
  503: { fault: { kind: 'status', status: 503 }, refused: (r) => r.status === 503, words: 'answers 503' },
  unreachable: { fault: { kind: 'drop' }, refused: (r) => r.fault === 'drop', words: 'drops every connection (a network error)' },
};

/** Runs enqueue then drain on PRs of bench/`repo`. `options` is an open
 * extension page. The proxy is healed however it ends. */
export async function measureBacklog(args) {
  try {
    return await enqueueThenDrain(args);
  } finally {
    args.proxy.heal();
  }
}

async function enqueueThenDrain({ ext, proxy, server, token, events, options, count, outage, repo }) {
  const mine = (s) => s.repo_owner === 'bench' && s.repo_name === repo;
  proxy.inject(outage.fault, { path: '/api/v1/' });
  const outageFrom = Date.now();

  const tab = await ext.context.newPage();
  await tab.goto(`https://github.com/bench/${repo}/pull/1`);
  await waitFor('the first backlog session to be sent and refused', () =>
    proxy.seenSince(outageFrom).some((r) => outage.refused(r) && r.path.startsWith('/api/v1/sessions')),
  { timeoutMs: 20000, intervalMs: 10 });

  const watch = options.evaluate(watchQueue, { repo, count, timeoutMs: 120000 });
  const startedAt = Date.now();
  const drivenAt = await tab.evaluate(navigate, { repo, count });
  await tab.close();
  const durable = await watch;
  if (durable.error) throw new Error(`enqueue: ${durable.error}`);
  const enqueue = {
    ms: durable.at - startedAt,
    navigationsMs: drivenAt - startedAt,
    requestsDuringOutage: proxy.seenSince(outageFrom).length,
    // When each refused request came, from the first navigation (ms).
    outageTrace: proxy.seenSince(outageFrom, { preflights: true }).map((r) => `${r.at - startedAt} ${describe(r)}`),
  };

  // Drain.
  const before = events.sessions.filter((e) => mine(e.session) && e.session.state === 'ended').length;
  if (before > 0) throw new Error(`${before} backlog sessions reached the server during the outage`);
  const from = events.size;
  const drainFrom = Date.now();
  const t0 = performance.now();
  proxy.heal();
  const answer = await askWorker(options, { type: 'sync-now' });
  const syncNow = answer.ok ? answer.reply.sync_now : answer.error;
  const seen = new Set();
  const last = await events.waitFor(`${count} backlog sessions ended on the server`, (s) => {
    if (mine(s) && s.state === 'ended') seen.add(s.local_id);
    return seen.size >= count;
  }, { from, timeoutMs: 120000 });
  const drainMs = last.at - t0;
  // Wait for the engine to finish the run (its pull, if any) before counting.
  await waitFor('the drain to go quiet at the proxy', () => {
    const seenNow = proxy.seenSince(drainFrom, { preflights: true });
    return seenNow.length > 0 && Date.now() - seenNow.at(-1).at > 2000;
  }, { timeoutMs: 60000, intervalMs: 100 });
  const requests = proxy.seenSince(drainFrom, { preflights: true }).filter((r) => r.at <= drainFrom + drainMs + 5);
  const pushes = requests.filter((r) => r.method !== 'OPTIONS' && r.path.startsWith('/api/v1/sessions') && r.method !== 'GET');
  const totals = await server.get(`/api/v1/totals?group=repo&repo=bench/${repo}`, token);
  const onServer = totals.rows.reduce((n, row) => n + row.sessions, 0);
  if (onServer !== count) throw new Error(`drain: the server holds ${onServer} backlog sessions, not ${count}`);
  return {
    enqueue,
    drain: {
      ms: drainMs,
      requests: requests.filter((r) => r.method !== 'OPTIONS').length,
      pushes: pushes.length,
      preflights: requests.filter((r) => r.method === 'OPTIONS').length,
      afterwards: proxy.seenSince(drainFrom + drainMs + 5, { preflights: true }).map(describe),
      trace: requests.map(describe),
      syncNow,
      onServer,
    },
  };
}

function describe(r) {
  return `${r.method} ${r.path.replace(/\?.*/, '?…')} ${r.status ?? '-'}`;
}

/** In the github.com tab: pushState through PRs 2..count, each report
 * given its own timestamp (the content script's `seq` must grow). */
async function navigate({ repo, count }) {
  const yieldNow = () => new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(0);
  });
  for (let pr = 2; pr <= count; pr++) {
    history.pushState({}, '', `/bench/${repo}/pull/${pr}`);
    await yieldNow();
    const reported = performance.now();
    while (performance.now() <= reported) await yieldNow();
  }
  return Date.now();
}

/** In an extension page: waits until the worker's `queue` store holds
 * `count` ended entries of bench/`repo`; resolves with the wall-clock time. */
async function watchQueue({ repo, count, timeoutMs }) {
  const db = await new Promise((resolve, reject) => {
    const req = indexedDB.open('worktime-sync');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const ask = (op) => new Promise((resolve, reject) => {
    const req = op(db.transaction('queue', 'readonly').objectStore('queue'));
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const deadline = Date.now() + timeoutMs;
  let last = null;
  try {
    for (;;) {
      if ((await ask((s) => s.count())) >= count) {
        const entries = await ask((s) => s.getAll());
        const ended = entries.filter((e) => e.session?.repo_owner === 'bench' && e.session?.repo_name === repo && e.session?.state === 'ended');
        if (ended.length >= count) return { at: Date.now(), ended: ended.length };
        last = `${ended.length} ended of ${entries.length} queued`;
      }
      if (Date.now() > deadline) {
        const n = await ask((s) => s.count());
        return { error: `after ${timeoutMs} ms the queue holds ${n} entries (${last ?? 'fewer than expected'})` };
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    db.close();
  }
}
