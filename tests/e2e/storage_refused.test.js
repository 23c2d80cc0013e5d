// IndexedDB can refuse writes (a full disk or an exhausted quota): the
// extension must say so in the popup, keep delivering what it holds in
// memory, and bring the disk level with the engine as soon as storage works
// again, so a later worker restart neither resurrects nor loses a session.
// The refused writes are also kept in chrome.storage.local (its own quota):
// a review that ends while the disk refuses and the server is down survives
// the worker's death. When that storage refuses too, the popup says how many
// ended reviews are held in memory only.
//
// Fault injection: the real IndexedDB is used throughout; only its `put` and
// `delete` are made to throw QuotaExceededError for a while, inside the
// service worker (Chromium offers no other way to fill an extension's quota),
// and chrome.storage.local.set is made to reject the same way; the server
// being down is the fault proxy answering 503.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';
import { controlWorker } from './support/worker-control.js';

let stack;
let server;
let proxy;
let ext;

before(async () => {
  stack = await startStack({ faultProxy: true });
  ({ server, proxy, ext } = stack);
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

const KEPT_KEY = 'worktime-refused-writes';

/** Makes chrome.storage.local.set in the worker reject, or undoes it. */
async function refuseExtensionStorage(worker, refuse) {
  await worker.evaluate((refuse) => {
    const area = chrome.storage.local;
    if (refuse) {
      self.__realSet ??= area.set.bind(area);
      area.set = () => Promise.reject(new Error('QUOTA_BYTES quota exceeded (injected by the test)'));
    } else if (self.__realSet) {
      area.set = self.__realSet;
    }
  }, refuse);
}

test('a review that ends while IndexedDB refuses and the server is down survives the worker: kept in chrome.storage.local', async () => {
  const { page: popup, token } = await signIn(stack, { user: 'tia', device: 'laptop', page: 'popup.html', serverUrl: proxy.url });
  const pr = await ext.context.newPage();
  await pr.goto('https://github.com/octo/hello-world/pull/78');
  await waitFor('the started session on the server', async () =>
    (await server.get('/api/v1/sessions?state=active', token)).sessions.find((s) => s.pr_number === 78), { timeoutMs: 20000 });

  proxy.inject({ kind: 'status', status: 503 });
  await refuseStorage(ext.worker, true);
  // Some time on the page after its last checkpoint, so the ended version
  // (ended at the close) differs from what a restart would make of the
  // running session alone (ended at its last checkpoint).
  const openedFor = Date.now() + 2000;
  await waitFor('two seconds on the page', () => Date.now() >= openedFor, { timeoutMs: 5000 });
  await pr.close();
  const banner = popup.locator('#storage-error');
  await banner.waitFor({ state: 'visible', timeout: 10000 });
  assert.match(await banner.textContent(), /kept in the extension's own storage/);
  const kept = await waitFor('the ended session kept in chrome.storage.local', async () => {
    const value = (await ext.worker.evaluate((key) => chrome.storage.local.get(key), KEPT_KEY))[KEPT_KEY];
    return value?.queue?.find((e) => e.session.pr_number === 78 && e.session.state === 'ended');
  });
  assert.equal(kept.session.repo_name, 'hello-world');

  // The worker dies (its memory, and the injected IndexedDB refusal, with
  // it); the server comes back; the next worker finds the review.
  const worker = await controlWorker(ext.context, popup);
  await worker.stop();
  proxy.heal();
  await waitFor('the restarted worker to answer', async () => (await askWorker(popup, { type: 'get-status' })).ok);
  const ended = await waitFor('the ended session on the server', async () =>
    (await server.get('/api/v1/sessions?state=ended', token)).sessions.find((s) => s.pr_number === 78), { timeoutMs: 30000, intervalMs: 250 });
  assert.equal(ended.local_id, kept.session.local_id);
  assert.equal(ended.active_seconds, kept.session.active_seconds);
  assert.equal(Date.parse(ended.ended_at), Date.parse(kept.session.ended_at), 'the version kept, not a guess from the last checkpoint');
  assert.ok(Date.parse(ended.ended_at) - Date.parse(ended.started_at) >= 2000, JSON.stringify(ended));
  await waitFor('the popup to say Synced with no storage warning', async () => {
    const { view } = (await askWorker(popup, { type: 'get-status' })).reply;
    return view.status.line === 'Synced' && view.storage_error === null && view;
  });
  await waitFor('chrome.storage.local to forget the kept writes', async () =>
    (await askWorker(popup, { type: 'get-status' })).ok &&
    (await popup.evaluate((key) => chrome.storage.local.get(key), KEPT_KEY))[KEPT_KEY] === undefined);
  await worker.close();
  await popup.close();
});

test('when chrome.storage.local refuses too, the popup says how many ended reviews are at risk', async () => {
  const { page: popup, token } = await signIn(stack, { user: 'uma', device: 'laptop', page: 'popup.html', serverUrl: proxy.url });
  // After the restart above, Playwright's handle on the worker is stale:
  // inject through a fresh one.
  const worker = ext.context.serviceWorkers().at(-1);
  proxy.inject({ kind: 'status', status: 503 });
  await refuseStorage(worker, true);
  await refuseExtensionStorage(worker, true);
  for (const n of [79, 80]) {
    const pr = await ext.context.newPage();
    await pr.goto(`https://github.com/octo/hello-world/pull/${n}`);
    await waitFor(`PR ${n} to be timed`, async () =>
      (await askWorker(popup, { type: 'get-status' })).reply.view.current?.pr === `octo/hello-world#${n}`);
    await pr.close();
  }
  const banner = popup.locator('#storage-error');
  await waitFor('the popup to say 2 ended reviews are held in memory only', async () =>
    (await banner.isVisible()) && /2 ended reviews are held in memory only/.test(await banner.textContent()));
  assert.match(await banner.textContent(), /QUOTA_BYTES|QuotaExceededError/);
  assert.equal((await askWorker(popup, { type: 'get-status' })).reply.view.storage_at_risk, 2);

  // Both storages work again and the server is back: nothing was lost.
  await refuseExtensionStorage(worker, false);
  await refuseStorage(worker, false);
  proxy.heal();
  await askWorker(popup, { type: 'sync-now' });
  await waitFor('both reviews on the server', async () => {
    const rows = (await server.get('/api/v1/sessions?state=ended', token)).sessions;
    return [79, 80].every((n) => rows.some((s) => s.pr_number === n));
  }, { timeoutMs: 40000, intervalMs: 250 });
  await banner.waitFor({ state: 'hidden', timeout: 10000 });
  assert.equal((await askWorker(popup, { type: 'get-status' })).reply.view.storage_at_risk, null);
});
