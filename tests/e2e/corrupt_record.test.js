// A stored record that no longer decodes (a bug, a downgrade, a disk fault)
// never stops the extension: after a worker restart it is set aside, the
// popup says so, and timing and sync go on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

let stack;
let server;
let ext;

before(async () => {
  stack = await startStack();
  ({ server, ext } = stack);
});

after(() => stack?.close());

test('a corrupt queue record is set aside at start and shown in the popup; sync goes on', async () => {
  const { page: popup, token } = await signIn(stack, { user: 'eve', device: 'old-laptop', page: 'popup.html' });

  // Write garbage into the queue store, beside the shell's own connection.
  await ext.worker.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('worktime-sync');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction('queue', 'readwrite');
      tx.objectStore('queue').put({ session: 42, priority: 'urgent' }, 'garbage');
      tx.oncomplete = () => { db.close(); resolve(true); };
      tx.onerror = () => reject(tx.error);
    };
  }));

  // Restart the worker as MV3 would; the next message starts it again.
  const cdp = await ext.context.newCDPSession(popup);
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await popup.reload();
  await waitFor('the popup to report the set-aside record', async () =>
    (await popup.locator('#quarantined').isVisible()) &&
    (await popup.locator('#quarantined').textContent()) === '1 stored record could not be read and was set aside.',
  { timeoutMs: 15000 });

  // Timing and sync still work.
  const pr = await ext.context.newPage();
  await pr.goto('https://github.com/octo/hello-world/pull/81');
  await waitFor('PR 81 to be timed', async () => (await askWorker(popup, { type: 'get-status' })).reply.view.current?.pr === 'octo/hello-world#81');
  await pr.close();
  await waitFor('the session on the server', async () => {
    const page = await server.get('/api/v1/sessions?state=ended', token);
    return page.sessions.some((s) => s.pr_number === 81);
  }, { timeoutMs: 20000 });
  await waitFor('the popup to say Synced', async () => (await popup.locator('#status').textContent()) === 'Synced');
});
