// Bad input from outside: a web page cannot talk to the extension. Neither
// a github.com page's own scripts nor another site can reach the worker —
// not with window.postMessage (the content script listens to no page
// messages) nor with chrome.runtime.sendMessage (the manifest has no
// externally_connectable) — so a forged "page-state" or "save-settings"
// changes nothing: no session, the settings stay, the server sees nothing.
// (The sender check's verdicts are unit-tested in messages.test.js.) From
// our own pages, a malformed message reaches the shell, which decodes it once
// and refuses it with a MessageError naming what is wrong, changing nothing.
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

/** In the page's own world: every way a page script could try to reach the
 * extension, with forged messages. Returns what each attempt gave. */
async function forge(page, extensionId) {
  return page.evaluate(async (id) => {
    const forged = [
      { type: 'page-state', path: '/octo/hello-world/pull/77', visible: true, doc: 1, seq: 1 },
      { type: 'save-settings', serverUrl: 'https://evil.example', token: 'stolen' },
      { type: 'sync-now' },
    ];
    for (const m of forged) window.postMessage(m, '*');
    const runtime = globalThis.chrome?.runtime;
    const results = { hasSendMessage: typeof runtime?.sendMessage === 'function', answers: [] };
    if (results.hasSendMessage) {
      for (const m of forged) {
        try {
          results.answers.push(await runtime.sendMessage(id, m));
        } catch (err) {
          results.answers.push(`refused: ${err.message}`);
        }
      }
    }
    return results;
  }, extensionId);
}

test('a web page\'s postMessage and sendMessage reach nothing and change nothing', async () => {
  const { page: options, token } = await signIn(stack, { user: 'wes', device: 'desk' });
  const { context } = ext;
  const view = async () => (await askWorker(options, { type: 'get-status' })).reply.view;

  // Another site (served by Playwright, never the network) and a github.com
  // page that is not a pull request, where our content script is injected.
  await context.route('https://evil.example/**', (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>evil</title><p>hi</p>' }));
  const evil = await context.newPage();
  await evil.goto('https://evil.example/');
  const fromEvil = await forge(evil, ext.extensionId);
  const issues = await context.newPage();
  await issues.goto('https://github.com/octo/hello-world/issues');
  const fromGithub = await forge(issues, ext.extensionId);
  for (const [where, result] of [['another site', fromEvil], ['a github.com page', fromGithub]]) {
    // Without externally_connectable a page gets no chrome.runtime.sendMessage at all.
    assert.equal(result.hasSendMessage, false, `${where} can call chrome.runtime.sendMessage`);
  }

  // A real review after the forgeries; once it is on the server, anything
  // they had set off would have been handled before it.
  const real = await context.newPage();
  await real.goto('https://github.com/octo/hello-world/pull/78');
  await waitFor('PR 78 to be timed', async () => (await view()).current?.pr === 'octo/hello-world#78');
  await real.close();
  await waitFor('PR 78 ended on the server', async () =>
    (await server.get('/api/v1/sessions?state=ended', token)).sessions.some((s) => s.pr_number === 78));

  const rows = (await server.get('/api/v1/sessions', token)).sessions;
  assert.deepEqual(rows.map((s) => s.pr_number), [78], 'no session for the forged PR 77');
  assert.equal((await view()).current, null);
  assert.deepEqual(
    await askWorker(options, { type: 'get-settings' }),
    { ok: true, reply: { serverUrl: server.url, hasToken: true } },
    'the settings are the ones the user saved',
  );
  assert.deepEqual(ext.consoleErrors, []);
});

test('a malformed message from our own page is refused by the shell, naming what is wrong, and changes nothing', async () => {
  const { page: options } = await signIn(stack, { user: 'mal', device: 'desk' });
  const before = await askWorker(options, { type: 'get-settings' });
  for (const [message, named] of [
    [null, 'invalid type'],
    ['get-status', 'invalid type'],
    [{}, 'type'],
    [{ type: 'rm-rf' }, 'rm-rf'],
    [{ type: 'toString' }, 'toString'],
    [{ type: 'get-status', extra: 1 }, 'extra'],
    [{ type: 'retry-failed' }, 'id'],
    [{ type: 'retry-failed', id: 'a/b' }, 'id'],
    [{ type: 'save-timing', idleSeconds: '180' }, '"180"'],
    [{ type: 'save-timing', idleSeconds: 1.5 }, '1.5'],
    [{ type: 'save-settings', serverUrl: 'https://evil.example' }, 'token'],
    [{ type: 'save-settings', serverUrl: 'https://evil.example', token: 'x'.repeat(5000) }, '5000 bytes'],
    // A content report is not a page command, whoever claims it.
    [{ type: 'page-state', path: '/octo/hello-world/pull/1', visible: true, doc: 1, seq: 1 }, 'page-state'],
  ]) {
    const answer = await askWorker(options, message);
    assert.equal(answer.ok, false, `${JSON.stringify(message)} was accepted`);
    assert.equal(answer.error.name, 'MessageError', JSON.stringify(answer.error));
    assert.ok(answer.error.message.includes(named), `${JSON.stringify(answer.error)} should name ${named}`);
  }
  assert.deepEqual(await askWorker(options, { type: 'get-settings' }), before, 'the settings are unchanged');
  assert.equal((await askWorker(options, { type: 'get-status' })).reply.view.current, null, 'no session started');
});
