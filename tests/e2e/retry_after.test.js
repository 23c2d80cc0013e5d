// A server that answers 429 with `Retry-After: 5` is left alone for those
// 5 s: no request (preflights included) reaches it before they have passed,
// measured on the fault proxy's own clock, not even for a second review that
// ends meanwhile; then both sessions are delivered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const RETRY_AFTER_S = 5;

let stack;
let server;
let proxy;
let ext;

before(async () => {
  stack = await startStack({ faultProxy: true });
  ({ server, proxy, ext } = stack);
});

after(() => stack?.close());

test('429 with Retry-After: 5 holds every request for 5 s, then the sessions are delivered', async () => {
  const { page: options, token } = await signIn(stack, { user: 'ria', device: 'desk', serverUrl: proxy.url });
  const onServer = async (state, n = 88) =>
    (await server.get(`/api/v1/sessions?state=${state}`, token)).sessions.find((s) => s.pr_number === n);

  const pr = await ext.context.newPage();
  await pr.goto('https://github.com/octo/hello-world/pull/88');
  await waitFor('the started session on the server', () => onServer('active'));
  const second = await ext.context.newPage();
  await second.goto('https://github.com/octo/hello-world/pull/89');
  await waitFor('the second started session on the server', () => onServer('active', 89));
  // Everything the popup or a restart may want (a pull, the /me probe) has
  // had its turn; from here on the only thing to send is the ended session.
  await waitFor('the worker to say Synced', async () =>
    (await askWorker(options, { type: 'get-status' })).reply.view.status.line === 'Synced');

  proxy.inject({ kind: 'retry-after', seconds: RETRY_AFTER_S }, { times: 1, path: '/api/v1/sessions/' });
  await pr.close();
  const limited = await waitFor('the 429', () => proxy.requests.find((r) => r.fault === 'retry-after'));
  assert.equal(limited.method, 'PUT');
  assert.equal(JSON.parse(limited.body).state, 'ended');
  // A second review ends while the server asked to wait: it waits too.
  await second.close();
  // Meanwhile the worker says what waits and when it goes (asking it sends
  // nothing: today's totals were pulled a moment ago).
  const waiting = await waitFor('the worker to show 2 pending with the next retry', async () => {
    const { view } = (await askWorker(options, { type: 'get-status' })).reply;
    return view.status.line === '2 pending' && view.next_retry_at != null && view;
  });
  const retryIn = waiting.next_retry_at - limited.at;
  assert.ok(retryIn >= RETRY_AFTER_S * 1000 && retryIn < (RETRY_AFTER_S + 2) * 1000, `next retry ${retryIn} ms after the 429`);

  const ended = await waitFor('the ended session on the server', () => onServer('ended'), {
    timeoutMs: (RETRY_AFTER_S + 10) * 1000,
    intervalMs: 250,
  });
  assert.equal(ended.local_id, JSON.parse(limited.body).local_id);
  await waitFor('the second ended session on the server', () => onServer('ended', 89));

  const after429 = proxy.requests.filter((r) => r.at > limited.at);
  assert.ok(after429.length > 0, 'the session was sent again');
  const early = after429.filter((r) => r.at - limited.at < RETRY_AFTER_S * 1000);
  assert.deepEqual(
    early.map((r) => `${r.method} ${r.path} +${r.at - limited.at} ms`),
    [],
    'no request reached the server within Retry-After',
  );
  // Both sessions go together, in one batch, once the wait is over.
  const retried = after429.find((r) => r.method === 'POST');
  assert.equal(retried.path, '/api/v1/sessions/batch');
  assert.equal(retried.status, 200);
  assert.deepEqual(JSON.parse(retried.body).sessions.map((s) => s.pr_number).sort(), [88, 89]);
  // Delivered promptly once allowed: not parked, not waiting for the 1-minute alarm.
  const wait = retried.at - limited.at;
  assert.ok(wait < (RETRY_AFTER_S + 5) * 1000, `sent again ${wait} ms after the 429`);
  assert.equal((await server.get('/api/v1/sessions', token)).sessions.length, 2);
  assert.deepEqual(ext.consoleErrors, []);
});
