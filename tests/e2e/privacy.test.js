// Privacy controls (issue 9, point 9): repositories or owners never to time
// (`owner/*`, `owner/repo`, any case), or "only these". A PR that is not to
// be timed leaves no trace: no session in the worker's IndexedDB, nothing on
// the server. A bad entry is refused by name and changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { askWorker } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';
import { waitFor } from './support/wait.js';

let stack;

before(async () => {
  stack = await startStack();
});

after(() => stack?.close());

/** Every record of the worker's `sessions` and `queue` stores. */
function storedSessions() {
  return stack.ext.worker.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('worktime-sync');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction(['sessions', 'queue'], 'readonly');
          const out = [];
          for (const name of ['sessions', 'queue']) {
            const req = tx.objectStore(name).getAll();
            req.onsuccess = () => out.push(...req.result.map((r) => JSON.stringify(r)));
          }
          tx.oncomplete = () => {
            db.close();
            resolve(out);
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
}

async function savePrivacy(page, privacy) {
  const answer = await askWorker(page, { type: 'save-privacy', ...privacy });
  assert.ok(answer.ok, JSON.stringify(answer));
  return answer.reply;
}

/** Opens `path`, then a marker PR in a second tab; returns both pages once
 * the marker is timed (the first page's report came before it). */
async function visitWithMarker(r, path, markerPr) {
  const page = await stack.ext.context.newPage();
  await page.goto(`https://github.com${path}`);
  const marker = await stack.ext.context.newPage();
  await marker.goto(`https://github.com/octo/hello-world/pull/${markerPr}`);
  await waitFor(`marker PR ${markerPr} timed`, async () => (await r.current()) === `octo/hello-world#${markerPr}`);
  return [page, marker];
}

test('a repository or owner on the list is never timed and leaves no trace; "only these" times only the list', async () => {
  const { page: options, token } = await signIn(stack, { user: 'pia', device: 'desk' });
  const r = {
    current: async () => (await askWorker(options, { type: 'get-status' })).reply.view.current?.pr ?? null,
    rows: async () => (await stack.server.get('/api/v1/sessions', token)).sessions,
  };

  const saved = await savePrivacy(options, { timeIncognito: false, repos: 'Secret-Org/*\nocto/Private', onlyThese: false });
  assert.deepEqual(saved, { timeIncognito: false, repos: ['secret-org/*', 'octo/private'], onlyThese: false });

  const pages = await visitWithMarker(r, '/secret-org/vault/pull/1', 2);
  const other = await stack.ext.context.newPage();
  await other.goto('https://github.com/OCTO/private/pull/3/changes');
  const stored = await storedSessions();
  assert.ok(stored.length > 0, 'the marker review is stored');
  assert.ok(!stored.some((s) => /secret-org|private/i.test(s)), `an excluded PR left a trace: ${stored}`);
  for (const p of [...pages, other]) await p.close();
  await waitFor('the marker ended on the server', async () =>
    (await r.rows()).some((s) => s.pr_number === 2 && s.state === 'ended'));
  assert.deepEqual((await r.rows()).map((s) => `${s.repo_owner}/${s.repo_name}#${s.pr_number}`), ['octo/hello-world#2']);

  // Only these: the list is the only thing timed.
  await savePrivacy(options, { timeIncognito: false, repos: 'octo/hello-world', onlyThese: true });
  const [unlisted, marker] = await visitWithMarker(r, '/octo/elsewhere/pull/5', 6);
  await unlisted.close();
  await marker.close();
  await waitFor('marker 6 ended on the server', async () =>
    (await r.rows()).some((s) => s.pr_number === 6 && s.state === 'ended'));
  assert.ok(!(await r.rows()).some((s) => s.repo_name === 'elsewhere'), 'an unlisted repository was timed');
  assert.ok(!(await storedSessions()).some((s) => /elsewhere/.test(s)));
});

test('a bad list entry is refused by name and the saved controls stay', async () => {
  const options = await stack.ext.context.newPage();
  await options.goto(stack.ext.url('options.html'));
  const before = await askWorker(options, { type: 'get-privacy' });
  const bad = await askWorker(options, { type: 'save-privacy', timeIncognito: true, repos: 'octo/*\nnot a repo', onlyThese: false });
  assert.equal(bad.ok, false);
  assert.equal(bad.error.variant, 'InvalidRepoPattern');
  assert.match(bad.error.message, /"not a repo"/);
  assert.deepEqual(await askWorker(options, { type: 'get-privacy' }), before, 'nothing changed');
  // The options page shows the saved list and incognito is off by default.
  await waitFor('the options page to show the saved list', async () => (await options.inputValue('#repos')) === 'octo/hello-world');
  assert.equal(await options.isChecked('#time-incognito'), false, 'incognito is not timed unless turned on');
  assert.equal(await options.isChecked('#only-these'), true);
  await options.close();
});
