// A worker that starts while the machine is idle or locked (issue 9, point
// 6): no idle event comes, because the state changed while the worker was
// stopped, so the shell asks chrome.idle.queryState at every start. Without
// that the review counts as active until the next idle event. Headless
// Chromium always answers `active` (shared TOOLCHAIN.md), so this runs a
// copy of dist/ whose chrome.idle.queryState answers what the test put in
// chrome.storage.local (support/dist-with-steered-idle.js, distWithSteeredIdle);
// the rest is the shipped build, the local github.com and the real server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { distWithSteeredIdle, STEERED_IDLE_KEY } from './support/dist-with-steered-idle.js';
import { signIn, startStack } from './support/stack.js';
import { controlWorker } from './support/worker-control.js';
import { waitFor } from './support/wait.js';

let dist;
let stack;

before(async () => {
  dist = distWithSteeredIdle();
  stack = await startStack({ dist: dist.dir });
});

after(async () => {
  await stack?.close();
  dist?.remove();
});

const elapse = (what, ms) => {
  const until = Date.now() + ms;
  return waitFor(what, () => Date.now() >= until, { timeoutMs: ms + 5000 });
};

/**
 * Reviews PR `pr` for `lookMs`, then stops the worker, sets what
 * chrome.idle will answer to `state`, waits `downMs`, wakes the worker from
 * the options page, keeps the tab open `afterMs` more and closes it.
 * Returns the ended session and the moments it needs.
 */
async function reviewAcrossAStart({ user, pr, state, idleSeconds, lookMs, downMs, afterMs }) {
  const { page: options, token } = await signIn(stack, { user, device: 'desk' });
  if (idleSeconds) {
    const saved = await askWorker(options, { type: 'save-timing', idleSeconds });
    assert.ok(saved.ok, JSON.stringify(saved));
  }
  const status = async () => (await askWorker(options, { type: 'get-status' })).reply.view;
  const page = await stack.ext.context.newPage();
  await page.goto(`https://github.com/octo/hello-world/pull/${pr}`);
  const shownAt = Date.now();
  await waitFor(`PR ${pr} counting`, async () => (await status()).current?.counting_since != null);
  await elapse('the review', lookMs);

  const worker = await controlWorker(stack.ext.context, options);
  await stack.ext.worker.evaluate(([key, value]) => chrome.storage.local.set({ [key]: value }), [STEERED_IDLE_KEY, state]);
  await worker.stop();
  await elapse('the worker stopped, the user away', downMs);
  const wokeAt = Date.now();
  // A popup or options page asking is what starts it again here.
  const view = await status();
  await worker.waitRunning();
  assert.equal(view.current?.pr, `octo/hello-world#${pr}`, 'the review is still open');
  assert.equal(view.current?.counting_since ?? null, null, `still counting after a start while ${state}: ${JSON.stringify(view.current)}`);
  await elapse(`the tab still open, the machine ${state}`, afterMs);
  await page.close();
  const rows = async () => (await stack.server.get('/api/v1/sessions', token)).sessions;
  const [ended] = await waitFor(`PR ${pr} ended on the server`, async () => {
    const all = await rows();
    return all.length === 1 && all[0].state === 'ended' && all;
  });
  // The user is back: Chrome's own answer again at the next start, which
  // says active (headless), and the engine counts again.
  await stack.ext.worker.evaluate((key) => chrome.storage.local.remove(key), STEERED_IDLE_KEY);
  await worker.stop();
  await status();
  await worker.waitRunning();
  await worker.close();
  return { ended, shownAt, wokeAt };
}

test('a worker started while the screen is locked counts nothing from that start', async () => {
  const { ended, shownAt, wokeAt } = await reviewAcrossAStart({
    user: 'lou', pr: 110, state: 'locked', lookMs: 3000, downMs: 2000, afterMs: 6000,
  });
  // Up to the start that heard "locked" (the worker's stop is no reason to
  // stop counting), none of the 6 s after it.
  const upToStart = Math.ceil((wokeAt - shownAt) / 1000);
  assert.ok(ended.active_seconds <= upToStart + 1,
    `active ${ended.active_seconds} s, but only ${upToStart} s passed before the locked start: ${JSON.stringify(ended)}`);
  assert.ok(ended.active_seconds >= 3, `the review before the lock was lost: ${JSON.stringify(ended)}`);
});

test('a worker started while the user is idle stops active time at the last input', async () => {
  // 15 s threshold (Chrome's floor): "idle" at the start means the last
  // input was 15 s before it.
  const { ended, shownAt, wokeAt } = await reviewAcrossAStart({
    user: 'mo', pr: 111, state: 'idle', idleSeconds: 15, lookMs: 3000, downMs: 17000, afterMs: 4000,
  });
  const lastInput = wokeAt - 15000;
  const upToLastInput = Math.ceil((lastInput - shownAt) / 1000);
  assert.ok(ended.active_seconds <= upToLastInput + 1,
    `active ${ended.active_seconds} s, but the last input was ${upToLastInput} s into the review: ${JSON.stringify(ended)}`);
  assert.ok(ended.active_seconds >= upToLastInput - 2, `more than the idle time taken back: ${JSON.stringify(ended)}`);
});
