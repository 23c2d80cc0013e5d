// The dashboard's pure modules, run in Node on the very files the server
// embeds: the SSE parser and backoff, filters, CSV export, merge and order
// of sessions, and totals helpers. The page itself is tested in Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const assets = new URL('../../crates/worktime-server/assets/', import.meta.url);
const { SseParser, backoffDelay } = await import(new URL('live.js', assets));
const { FilterError, parseFilters, apiQuery, chartDays, matches } = await import(new URL('filters.js', assets));
const { csvField, toCsv, CSV_COLUMNS } = await import(new URL('export.js', assets));
const { newer, compareSessions, sessionKey } = await import(new URL('sessions-view.js', assets));
const { parsePrKey, parseRepoKey, fillDays, top } = await import(new URL('totals-view.js', assets));
const { duration, clock, prUrl } = await import(new URL('format.js', assets));
const { niceStep } = await import(new URL('chart.js', assets));

test('sse parser joins data lines, names events and skips keep-alive comments', () => {
  const events = [];
  let activity = 0;
  const p = new SseParser((e) => events.push(e), () => activity++);
  p.push(': keep-alive\n\n');
  p.push('event: session\ndata: {"a":');
  p.push('1}\n\nevent: session\r\ndata: x\r\ndata: y\r\n\r\n');
  p.push('data: plain\n\n');
  assert.deepEqual(events, [
    { event: 'session', data: '{"a":1}', id: undefined },
    { event: 'session', data: 'x\ny', id: undefined },
    { event: 'message', data: 'plain', id: undefined },
  ]);
  assert.equal(activity, 4);
});

test('sse parser waits for the rest of a line split after a carriage return', () => {
  const events = [];
  const p = new SseParser((e) => events.push(e));
  p.push('data: a\r');
  p.push('\n\r\n');
  assert.deepEqual(events.map((e) => e.data), ['a']);
});

test('reconnect backoff starts at 1 s, doubles, caps at 30 s, with ±25 % jitter', () => {
  const mid = () => 0.5;
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(a, mid)), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(backoffDelay(0, () => 0), 750);
  assert.equal(backoffDelay(10, () => 0.999999), 37500);
});

test('presets run from local midnight with no end; custom ranges end after their last day', () => {
  const now = new Date(2026, 10, 21, 15, 30);
  const week = parseFilters({ range: '7d', repo: ' octo/hello ', user: '' }, now);
  assert.equal(week.from.getTime(), new Date(2026, 10, 15).getTime());
  assert.equal(week.to, null);
  assert.equal(week.repo, 'octo/hello');
  assert.deepEqual(apiQuery(week, { admin: false }), { from: week.from.toISOString(), to: undefined, repo: 'octo/hello', user: undefined });
  // The server answers with the caller's own sessions unless asked: an admin asks for everyone's.
  assert.equal(apiQuery(week, { admin: true }).user, '*');
  assert.equal(apiQuery({ ...week, user: 'bob' }, { admin: true }).user, 'bob');
  const custom = parseFilters({ range: 'custom', from: '2026-11-01', to: '2026-11-03' }, now);
  assert.equal(custom.to.getTime(), new Date(2026, 10, 4).getTime());
  assert.equal(custom.lastDay, '2026-11-03');
});

test('bad filter input is refused with the field to fix', () => {
  const now = new Date(2026, 10, 21);
  assert.throws(() => parseFilters({ range: '7d', repo: 'not a repo' }, now), (e) => e instanceof FilterError && e.field === 'repo');
  assert.throws(() => parseFilters({ range: '7d', repo: 'a/b/c' }, now), (e) => e.field === 'repo');
  assert.throws(() => parseFilters({ range: 'custom', from: '' }, now), (e) => e.field === 'from');
  assert.throws(() => parseFilters({ range: 'custom', from: '2026-11-10', to: '2026-11-01' }, now), (e) => e.field === 'to');
});

test('the chart shows at least 14 days, ending on the range’s last day', () => {
  const now = new Date(2026, 10, 21, 9);
  const today = chartDays(parseFilters({ range: 'today' }, now));
  assert.equal(today.length, 14);
  assert.equal(today[13], '2026-11-21');
  assert.equal(today[0], '2026-11-08');
  assert.equal(chartDays(parseFilters({ range: '30d' }, now)).length, 30);
});

test('a live session is shown only when it matches the filters', () => {
  const f = parseFilters({ range: 'today', repo: 'Octo/Hello', user: 'bob' }, new Date());
  const s = { started_at: new Date().toISOString(), repo_owner: 'octo', repo_name: 'hello', user: 'bob' };
  assert.equal(matches(f, s, { admin: true }), true);
  assert.equal(matches(f, { ...s, user: 'eve' }, { admin: true }), false);
  assert.equal(matches(f, { ...s, repo_name: 'other' }, { admin: true }), false);
  assert.equal(matches(f, { ...s, started_at: new Date(Date.now() - 3 * 86_400_000).toISOString() }, { admin: true }), false);
});

test('csv quotes what needs quoting and defuses spreadsheet formulas', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.equal(csvField(null), '');
  assert.equal(csvField(42), '42');
  const csv = toCsv([{ user: 'ann', local_id: 'x', repo_owner: 'o', repo_name: 'r', pr_number: 3, ended_at: null, state: 'active', closed_by_server: false }]);
  const [head, row, end] = csv.split('\r\n');
  assert.equal(head, CSV_COLUMNS.join(','));
  assert.equal(row.split(',').length, CSV_COLUMNS.length);
  assert.equal(end, '');
});

test('merging keeps ended over active and otherwise the later update', () => {
  const base = { local_id: 'a', user: 'u', state: 'active', updated_at: '2026-11-21T10:00:00Z' };
  const ended = { ...base, state: 'ended', updated_at: '2026-11-21T09:00:00Z' };
  const later = { ...base, updated_at: '2026-11-21T11:00:00Z' };
  assert.equal(newer(ended, later), ended);
  assert.equal(newer(base, ended), ended);
  assert.equal(newer(base, later), later);
  assert.equal(newer(later, base), later);
  assert.equal(newer(undefined, base), base);
  assert.notEqual(sessionKey({ local_id: 'a', user: 'u' }), sessionKey({ local_id: 'a', user: 'v' }));
});

test('sessions sort newest first', () => {
  const a = { local_id: 'a', started_at: '2026-11-21T10:00:00Z' };
  const b = { local_id: 'b', started_at: '2026-11-21T11:00:00Z' };
  assert.deepEqual([a, b].sort(compareSessions).map((s) => s.local_id), ['b', 'a']);
});

test('totals helpers read the server keys and fill missing days with zero', () => {
  assert.deepEqual(parsePrKey('octo/hello#12'), { owner: 'octo', repo: 'hello', number: 12 });
  assert.equal(parsePrKey('<img src=x>'), null);
  assert.deepEqual(parseRepoKey('octo/hello'), { owner: 'octo', repo: 'hello' });
  assert.deepEqual(fillDays(['2026-11-20', '2026-11-21'], [{ key: '2026-11-21', seconds: 5, sessions: 1 }]), [
    { key: '2026-11-20', seconds: 0, sessions: 0 },
    { key: '2026-11-21', seconds: 5, sessions: 1 },
  ]);
  const rows = Array.from({ length: 12 }, (_, i) => ({ key: `k${i}`, seconds: i, sessions: 1 }));
  assert.deepEqual(top(rows).map((r) => r.seconds), [11, 10, 9, 8, 7, 6, 5, 4, 3, 2]);
});

test('durations, clocks, PR links and chart steps read right', () => {
  assert.equal(duration(45), '45 s');
  assert.equal(duration(600), '10 min');
  assert.equal(duration(3900), '1 h 05 min');
  assert.equal(clock(65), '1:05');
  assert.equal(clock(3725), '1:02:05');
  assert.equal(prUrl('octo', 'hello', 7), 'https://github.com/octo/hello/pull/7');
  assert.equal(prUrl('a/../b', 'x?y', 1), 'https://github.com/a%2F..%2Fb/x%3Fy/pull/1');
  assert.equal(niceStep(100), 60);
  assert.equal(niceStep(3 * 3600), 3600);
});
