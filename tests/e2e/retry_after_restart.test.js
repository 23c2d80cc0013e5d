// Issue #10, loss path 4: the server-wide Retry-After hold survives a worker
// restart. The server answers 429 with Retry-After: 12 to the ended session;
// the worker is stopped right after and woken again at once, and a second
// review starts: the new worker sends nothing (preflights included) before
// the 12 s are over, measured on the fault proxy's clock — not the held
// session (its own backoff would see to that) and not the new one (only the
// persisted hold does) — and then delivers both.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';
import { controlWorker } from './support/worker-control.js';

const RETRY_AFTER_S = 12;

let stack;

before(async () => {
  stack = await startStack({ faultProxy: true });
});

after(() => stack?.close());

test('a Retry-After hold outlives the worker that heard it', async () => {
  const { ext, proxy, server } = stack;
  const { page: popup, token } = await signIn(stack, { user: 'vic', device: 'desk', page: 'popup.html', serverUrl: proxy.url });
  const onServer = async (state) =>
    (await server.get(`/api/v1/sessions?state=${state}`, token)).sessions.find((s) => s.pr_number === 90);

  const pr = await ext.context.newPage();
  await pr.goto('https://github.com/octo/hello-world/pull/90');
  await waitFor('the started session on the server', () => onServer('active'), { timeoutMs: 20000 });
  await waitFor('the worker to say Synced', async () =>
    (await askWorker(popup, { type: 'get-status' })).reply.view.status.line === 'Synced');

  proxy.inject({ kind: 'retry-after', seconds: RETRY_AFTER_S }, { times: 1, path: '/api/v1/sessions/' });
  await pr.close();
  const limited = await waitFor('the 429', () => proxy.requests.find((r) => r.fault === 'retry-after'));
  assert.equal(JSON.parse(limited.body).state, 'ended');
  await waitFor('the worker to hold the session with its next retry', async () =>
    (await askWorker(popup, { type: 'get-status' })).reply.view.next_retry_at != null);

  // The worker dies with its memory; a new one starts at once.
  const worker = await controlWorker(ext.context, popup);
  await worker.stop();
  const restarted = await waitFor('the restarted worker to answer', async () => {
    const answer = await askWorker(popup, { type: 'get-status' });
    return answer.ok && answer.reply.view;
  });
  assert.equal(restarted.status.line, '1 pending', JSON.stringify(restarted.status));
  const heldUntil = restarted.next_retry_at - limited.at;
  assert.ok(heldUntil >= RETRY_AFTER_S * 1000 - 1000, `the new worker plans to retry ${heldUntil} ms after the 429`);

  // A new review starts under the hold: it waits too.
  const second = await ext.context.newPage();
  await second.goto('https://github.com/octo/hello-world/pull/91');
  await waitFor('PR 91 to be timed', async () =>
    (await askWorker(popup, { type: 'get-status' })).reply.view.current?.pr === 'octo/hello-world#91');
  assert.ok(Date.now() - limited.at < RETRY_AFTER_S * 1000, 'the second review started within the hold');

  const ended = await waitFor('the ended session on the server', () => onServer('ended'), {
    timeoutMs: (RETRY_AFTER_S + 15) * 1000,
    intervalMs: 250,
  });
  assert.equal(ended.local_id, JSON.parse(limited.body).local_id);
  await waitFor('the second session on the server', async () =>
    (await server.get('/api/v1/sessions?state=active', token)).sessions.find((s) => s.pr_number === 91));
  const early = proxy
    .seenSince(limited.at + 1, { preflights: true })
    .filter((r) => r.at - limited.at < RETRY_AFTER_S * 1000);
  assert.deepEqual(early.map((r) => `${r.method} ${r.path} +${r.at - limited.at} ms`), [],
    'no request within Retry-After, before or after the restart');
  await second.close();
  await worker.close();
});
