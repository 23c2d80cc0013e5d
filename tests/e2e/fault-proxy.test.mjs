// The fault proxy is test equipment; these checks make sure each fault does
// what the end-to-end scenarios rely on, against a stand-in upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startFaultProxy } from './support/fault-proxy.mjs';

let upstream;
let upstreamUrl;
const applied = [];

before(async () => {
  upstream = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      if (req.url === '/api/v1/sessions/batch') {
        const { sessions } = JSON.parse(raw);
        applied.push(...sessions.map((s) => s.local_id));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ results: sessions.map((s) => ({ local_id: s.local_id, status: 'ok' })) }));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"user":"u"}');
      }
    });
  });
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;
});

after(() => new Promise((r) => upstream.close(r)));

async function post(url, sessions) {
  const res = await fetch(`${url}/api/v1/sessions/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'chrome-extension://abc' },
    body: JSON.stringify({ sessions: sessions.map((local_id) => ({ local_id })) }),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

test('forwards untouched when no fault is set and records the request', async () => {
  const proxy = await startFaultProxy({ target: upstreamUrl });
  try {
    const res = await post(proxy.url, ['a1']);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.results.map((r) => r.status), ['ok']);
    assert.equal(proxy.requests.length, 1);
    assert.equal(proxy.requests[0].path, '/api/v1/sessions/batch');
    assert.deepEqual(JSON.parse(proxy.requests[0].body), { sessions: [{ local_id: 'a1' }] }, 'the body sent is recorded');
    assert.equal('authorization' in proxy.requests[0], false);
  } finally {
    await proxy.close();
  }
});

test('answers injected statuses with CORS headers, for a limited number of times', async () => {
  const proxy = await startFaultProxy({ target: upstreamUrl });
  try {
    proxy.inject({ kind: 'status', status: 503 }, { times: 2 });
    assert.equal((await post(proxy.url, ['b1'])).status, 503);
    const second = await post(proxy.url, ['b1']);
    assert.equal(second.status, 503);
    assert.equal(second.headers.get('access-control-allow-origin'), 'chrome-extension://abc');
    assert.equal((await post(proxy.url, ['b1'])).status, 200);
  } finally {
    await proxy.close();
  }
});

test('429 carries Retry-After and exposes it to the extension', async () => {
  const proxy = await startFaultProxy({ target: upstreamUrl });
  try {
    proxy.inject({ kind: 'retry-after', seconds: 5 }, { times: 1 });
    const res = await post(proxy.url, ['c1']);
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '5');
    assert.match(res.headers.get('access-control-expose-headers'), /retry-after/i);
  } finally {
    await proxy.close();
  }
});

test('a rejected item never reaches the server and is answered in its place', async () => {
  const proxy = await startFaultProxy({ target: upstreamUrl });
  try {
    proxy.inject({ kind: 'reject-item', localId: 'd2', message: 'bad item' });
    const before = applied.length;
    const res = await post(proxy.url, ['d1', 'd2', 'd3']);
    assert.deepEqual(res.body.results.map((r) => [r.local_id, r.status]), [
      ['d1', 'ok'],
      ['d2', 'rejected'],
      ['d3', 'ok'],
    ]);
    assert.equal(res.body.results[1].error.message, 'bad item');
    assert.deepEqual(applied.slice(before), ['d1', 'd3']);
  } finally {
    await proxy.close();
  }
});

test('apply-then-drop applies the batch upstream but the client sees a network error', async () => {
  const proxy = await startFaultProxy({ target: upstreamUrl });
  try {
    proxy.inject({ kind: 'apply-then-drop' }, { times: 1 });
    const before = applied.length;
    await assert.rejects(post(proxy.url, ['e1']));
    assert.deepEqual(applied.slice(before), ['e1']);
  } finally {
    await proxy.close();
  }
});

test('drop and hang fail the request without reaching the server', async () => {
  const proxy = await startFaultProxy({ target: upstreamUrl });
  try {
    const before = applied.length;
    proxy.inject({ kind: 'drop' }, { times: 1 });
    await assert.rejects(post(proxy.url, ['f1']));
    proxy.inject({ kind: 'hang' }, { times: 1 });
    const hanging = post(proxy.url, ['f2']);
    const deadline = Date.now() + 2000;
    while (!proxy.requests.some((r) => r.fault === 'hang')) {
      assert.ok(Date.now() < deadline, 'hung request was never seen');
      await new Promise((r) => setTimeout(r, 10));
    }
    proxy.heal();
    await assert.rejects(hanging);
    assert.equal(applied.length, before);
  } finally {
    await proxy.close();
  }
});

test('apply-then-hang applies the batch upstream and holds the answer until heal', async () => {
  const proxy = await startFaultProxy({ target: upstreamUrl });
  try {
    proxy.inject({ kind: 'apply-then-hang' }, { times: 1 });
    let settled = false;
    const hanging = post(proxy.url, ['g1']).finally(() => { settled = true; });
    const deadline = Date.now() + 2000;
    while (!applied.includes('g1')) {
      assert.ok(Date.now() < deadline, 'the batch never reached the upstream');
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(settled, false, 'the client is still waiting for the answer');
    assert.equal(proxy.requests.at(-1).fault, 'apply-then-hang');
    proxy.heal();
    await assert.rejects(hanging);
  } finally {
    await proxy.close();
  }
});

test('answers a page of its own, with or without CORS headers, forwarding nothing', async () => {
  const proxy = await startFaultProxy({ target: upstreamUrl });
  const before = applied.length;
  try {
    proxy.inject({ kind: 'page', status: 404 }, { times: 1 });
    let res = await fetch(`${proxy.url}/api/v1/sessions/batch`, { method: 'POST', headers: { origin: 'chrome-extension://abc' }, body: '{}' });
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    assert.match(await res.text(), /^<!DOCTYPE html>/);
    assert.equal(res.headers.get('access-control-allow-origin'), 'chrome-extension://abc');

    proxy.inject({ kind: 'page', status: 302, cors: false, headers: { location: 'http://elsewhere.invalid/' } }, { times: 1 });
    res = await fetch(`${proxy.url}/api/v1/me`, { headers: { origin: 'chrome-extension://abc' }, redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), 'http://elsewhere.invalid/');
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(applied.length, before, 'nothing reached the upstream');
    assert.deepEqual(proxy.requests.map((r) => [r.fault, r.status]), [['page', 404], ['page', 302]]);
  } finally {
    await proxy.close();
  }
});

test('rejects every item of a batch without forwarding it', async () => {
  const proxy = await startFaultProxy({ target: upstreamUrl });
  const before = applied.length;
  try {
    proxy.inject({ kind: 'reject-all', message: 'no' }, { times: 1 });
    const res = await post(proxy.url, ['r1', 'r2']);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.results.map((r) => [r.local_id, r.status, r.error.message]), [['r1', 'rejected', 'no'], ['r2', 'rejected', 'no']]);
    assert.equal(applied.length, before);
  } finally {
    await proxy.close();
  }
});
