// A request that never gets an answer is aborted after 15 s (AbortController
// in the shell), reported to the engine as a timeout, and retried: the
// session still reaches the server, once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

let stack;
let server;
let proxy;
let ext;

before(async () => {
  stack = await startStack({ faultProxy: true });
  ({ server, proxy, ext } = stack);
});

after(() => stack?.close());

test('a hung request times out after 15 s and the retry delivers the session', async () => {
  const { page: options, token } = await signIn(stack, { user: 'ivy', device: 'tablet', serverUrl: proxy.url });

  proxy.inject({ kind: 'hang' }, { method: 'PUT', times: 1 });
  const pr = await ext.context.newPage();
  await pr.goto('https://github.com/octo/hello-world/pull/41');
  const hungAt = await waitFor('the first PUT to hang', () => proxy.requests.find((r) => r.fault === 'hang')?.at);
  await pr.close();

  const ended = await waitFor('the ended session on the server', async () => {
    const page = await server.get('/api/v1/sessions?state=ended', token);
    return page.sessions.find((s) => s.pr_number === 41);
  }, { timeoutMs: 40000, intervalMs: 250 });
  const deliveredAt = Date.now();
  assert.equal(ended.repo_name, 'hello-world');
  assert.ok(deliveredAt - hungAt >= 14500, `delivered ${deliveredAt - hungAt} ms after the hang: the timeout is 15 s`);
  assert.ok(deliveredAt - hungAt < 30000, `delivered ${deliveredAt - hungAt} ms after the hang: the hung request was not aborted`);
  const all = await server.get('/api/v1/sessions', token);
  assert.equal(all.sessions.filter((s) => s.pr_number === 41).length, 1);
});
