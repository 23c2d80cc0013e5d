// IndexedDB can refuse writes (a full disk or an exhausted quota): the
// extension must say so in the popup, keep delivering what it holds in
// memory, and bring the disk level with the engine as soon as storage works
// again, so a later worker restart neither resurrects nor loses a session.
//
// Fault injection: the real IndexedDB is used throughout; only its `put` and
// `delete` are made to throw QuotaExceededError for a while, inside the
// service worker (Chromium offers no other way to fill an extension's quota).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';
import { controlWorker } from './support/worker-control.js';

let stack;
let server;
let ext;

before(async () => {
  stack = await startStack();
  ({ server, ext } = stack);
});

after(() => stack?.close());

/** Makes every IndexedDB put and delete in the worker throw, or undoes it. */
async function refuseStorage(worker, refuse) {
  await worker.evaluate((refuse) => {
    const proto = IDBObjectStore.prototype;
    if (refuse) {
      self.__realIdb ??= { put: proto.put, delete: proto.delete };
      const quota = () => {
        throw new DOMException('the quota is exhausted (injected by the test)', 'QuotaExceededError');
      };
      proto.put = quota;
      proto.delete = quota;
    } else if (self.__realIdb) {
      proto.put = self.__realIdb.put;
      proto.delete = self.__realIdb.delete;
    }
  }, refuse);
}

test('refused IndexedDB writes are shown, retried, and leave nothing to resend after a restart', async () => {
  const { page: popup, token } = await signIn(stack, { user: 'sam', device: 'laptop' });
  const { context } = ext;

  const pr = await context.newPage();
  await pr.goto('https://github.com/octo/hello-world/pull/77');
  await waitFor('the started session on the server', async () => {
    const page = await server.get('/api/v1/sessions?state=active', token);
    return page.sessions.find((s) => s.pr_number === 77);
  }, { timeoutMs: 20000 });

  await refuseStorage(ext.worker, true);
  await popup.goto(ext.url('popup.html'));
  await pr.close();

  // The session still reaches the server: sending does not wait for a disk
  // that refuses writes.
  const ended = await waitFor('the ended session on the server', async () => {
    const page = await server.get('/api/v1/sessions?state=ended', token);
    return page.sessions.find((s) => s.pr_number === 77);
  }, { timeoutMs: 20000 });
  // And the popup says that storage is failing.
  const banner = popup.locator('#storage-error');
  await banner.waitFor({ state: 'visible', timeout: 10000 });
  assert.match(await banner.textContent(), /QuotaExceededError/);
  const badge = await ext.worker.evaluate(() => chrome.action.getBadgeText({}));
  assert.equal(badge, '!');

  // Storage works again: the next input commits what was refused.
  await refuseStorage(ext.worker, false);
  await askWorker(popup, { type: 'sync-now' });
  await banner.waitFor({ state: 'hidden', timeout: 10000 });

  // A restart from the disk finds nothing to end or resend: the ended
  // session's removal from storage was committed by the backlog.
  const worker = await controlWorker(context, popup);
  await worker.stop();
  const answer = await waitFor('the restarted worker to answer', async () => {
    const a = await askWorker(popup, { type: 'get-status' });
    return a.ok && a;
  });
  const view = answer.reply.view;
  assert.equal(view.current, null, 'no session resurrected from a stale disk');
  assert.equal(view.status.line, 'Synced', JSON.stringify(view));
  assert.equal(view.storage_error, null);

  const all = await server.get('/api/v1/sessions', token);
  const rows = all.sessions.filter((s) => s.pr_number === 77);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].state, 'ended');
  assert.equal(rows[0].updated_at, ended.updated_at, 'the ended session was not sent again with other values');
});
