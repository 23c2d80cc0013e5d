// app.js — the dashboard's entry point: sign-in, loading what the filters ask
// for, the live feed, and wiring the views together. Every value from the
// server reaches the page through dom.js (text nodes), never as HTML.

import { ApiError, allSessions, call, forgetToken, storeToken, storedToken } from './api.js';
import { byId, h, replaceChildren } from './dom.js';
import { DevicesView, confirmAction } from './devices-view.js';
import { download, toCsv, toJson } from './export.js';
import { FilterError, apiQuery, chartDays, matches, parseFilters, tzOffsetMinutes } from './filters.js';
import { dayKey, dayKeyToDate, rangeLabel, startOfDay } from './format.js';
import { LiveFeed } from './live.js';
import { SessionsView } from './sessions-view.js';
import { TotalsView, fillDays } from './totals-view.js';

/** Sessions per page of the table. */
const PAGE_SIZE = 100;
/** Catch-up after a reconnect re-reads this much before the drop (clock skew). */
const CATCH_UP_MARGIN_MS = 5 * 60_000;
/** Live changes are batched into one totals refresh at most this often. */
const TOTALS_THROTTLE_MS = 1000;

const state = {
  token: null,
  me: null,
  filters: null,
  generation: 0,
  cursor: null,
  feed: null,
  droppedAt: null,
  totalsTimer: null,
  retryAt: null,
  repos: new Set(),
};

let sessionsView;
let totalsView;
let devicesView;

// ------------------------------------------------------------------ views ---

function showSignin(message = '', { invalid = false } = {}) {
  byId('loading').hidden = true;
  byId('dashboard-view').hidden = true;
  byId('account').hidden = true;
  byId('signin-view').hidden = false;
  replaceChildren(byId('signin-error'), message);
  const input = byId('token');
  input.value = '';
  input.setAttribute('aria-invalid', invalid ? 'true' : 'false');
  document.title = 'Sign in · WorkTime Sync';
  input.focus();
}

function showDashboard() {
  byId('loading').hidden = true;
  byId('signin-view').hidden = true;
  byId('dashboard-view').hidden = false;
  byId('account').hidden = false;
  document.title = 'WorkTime Sync · Dashboard';
  const me = state.me;
  replaceChildren(byId('who-user'), me.user);
  replaceChildren(byId('who-device'), `on ${me.device}`);
  byId('who-admin').hidden = !me.admin;
  byId('user-field').hidden = !me.admin;
  sessionsView.setShowUser(Boolean(me.admin));
}

let toastTimer;
function toast(text) {
  const el = byId('toast');
  replaceChildren(el, text);
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 5000);
}

function setConnection(stateName, info = {}) {
  const el = byId('conn');
  el.dataset.state = stateName;
  state.retryAt = stateName === 'waiting' || stateName === 'offline' ? Date.now() + (info.retryInMs ?? 0) : null;
  if ((stateName === 'waiting' || stateName === 'offline') && state.droppedAt === null) state.droppedAt = Date.now();
  renderConnection();
}

/** The connection pill: its state is announced; the retry countdown only shown. */
function renderConnection() {
  const name = byId('conn').dataset.state;
  let text = 'Not connected';
  let retry = '';
  if (name === 'live') text = 'Live';
  else if (name === 'connecting') text = 'Connecting…';
  else if (name === 'waiting' || name === 'offline') {
    text = name === 'offline' ? 'Offline' : 'Disconnected';
    retry = ` · retrying in ${Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000))} s`;
  }
  for (const [id, value] of [['conn-text', text], ['conn-retry', retry]]) {
    const el = byId(id);
    if (el.textContent !== value) el.textContent = value;
  }
}

// ----------------------------------------------------------------- errors ---

/** Every failed call ends here: a dead token signs out, the rest is shown. */
function failed(e, where) {
  // Calls still in flight when this tab signed out have nothing left to say.
  if (!state.token) return;
  if (e instanceof ApiError && e.unauthorized) {
    signOutLocally('Your token is no longer valid: it was revoked or signed out. Sign in with a new one.');
    return;
  }
  if (e?.name === 'AbortError') return;
  const message = e instanceof ApiError ? e.message : 'Something went wrong.';
  if (where) replaceChildren(byId(where), message);
  else toast(message);
  if (!(e instanceof ApiError)) console.error(e);
}

// ------------------------------------------------------------------- auth ---

async function signIn(token, { remembered }) {
  const submit = byId('signin-submit');
  submit.disabled = true;
  try {
    const me = await call(token, 'GET', '/api/v1/me');
    state.token = token;
    state.me = me;
    storeToken(token);
    showDashboard();
    startFeed();
    await Promise.all([applyFilters(), loadDevices()]);
  } catch (e) {
    if (e instanceof ApiError && e.unauthorized) {
      forgetToken();
      showSignin(remembered
        ? 'Your token is no longer valid: it was revoked or signed out. Sign in with a new one.'
        : 'That token is not valid, or it was revoked. Check it and try again.', { invalid: !remembered });
    } else if (e instanceof ApiError) {
      showSignin(`Could not sign in: ${e.message}`);
    } else {
      throw e;
    }
  } finally {
    submit.disabled = false;
  }
}

/** Forgets the token in this tab and returns to the sign-in form. */
function signOutLocally(message) {
  state.feed?.stop();
  state.feed = null;
  state.token = null;
  state.me = null;
  state.generation++;
  state.repos.clear();
  clearTimeout(state.totalsTimer);
  state.totalsTimer = null;
  forgetToken();
  sessionsView.clear();
  byId('conn').dataset.state = 'idle';
  renderConnection();
  showSignin(message);
}

// ------------------------------------------------------------------- data ---

function readFilterForm() {
  const form = byId('filters');
  const data = new FormData(form);
  return { range: data.get('range'), from: data.get('from'), to: data.get('to'), repo: data.get('repo'), user: data.get('user') };
}

async function applyFilters() {
  const errorEl = byId('filters-error');
  for (const el of byId('filters').querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  try {
    state.filters = parseFilters(readFilterForm());
  } catch (e) {
    if (!(e instanceof FilterError)) throw e;
    replaceChildren(errorEl, e.message);
    const input = byId(e.field);
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  replaceChildren(errorEl, '');
  const gen = ++state.generation;
  sessionsView.clear();
  state.cursor = null;
  await Promise.all([loadSessions(gen), loadTotals(gen)]);
}

async function loadSessions(gen, cursor) {
  replaceChildren(byId('sessions-error'), '');
  try {
    const page = await call(state.token, 'GET', '/api/v1/sessions', {
      query: { ...apiQuery(state.filters, state.me), limit: PAGE_SIZE, cursor },
    });
    if (gen !== state.generation) return;
    state.cursor = page.next ?? null;
    sessionsView.addPage(page.sessions ?? [], Boolean(state.cursor));
    afterSessionsChanged();
  } catch (e) {
    if (gen === state.generation) failed(e, 'sessions-error');
  }
}

async function loadTotals(gen = state.generation) {
  const f = state.filters;
  if (!f) return;
  const base = apiQuery(f, state.me);
  const keys = chartDays(f);
  const chartQuery = {
    ...base,
    from: dayKeyToDate(keys[0]).toISOString(),
    to: startOfDay(dayKeyToDate(keys[keys.length - 1]), 1).toISOString(),
    group: 'day',
    tz_offset_minutes: tzOffsetMinutes(),
  };
  try {
    const [days, repos, prs] = await Promise.all([
      call(state.token, 'GET', '/api/v1/totals', { query: chartQuery }),
      call(state.token, 'GET', '/api/v1/totals', { query: { ...base, group: 'repo' } }),
      call(state.token, 'GET', '/api/v1/totals', { query: { ...base, group: 'pr' } }),
    ]);
    if (gen !== state.generation) return;
    for (const r of repos.rows) state.repos.add(r.key);
    fillDatalist('repo-list', [...state.repos].sort());
    totalsView.show({
      days: fillDays(keys, days.rows),
      range: f,
      repos: repos.rows,
      prs: prs.rows,
      caption: rangeLabel(keys[0], keys[keys.length - 1]),
    });
  } catch (e) {
    if (gen === state.generation) failed(e);
  }
}

/**
 * Live changes arrive in bursts; refresh the totals at most once a second
 * (the server rate-limits each token), always after the latest change.
 */
function scheduleTotals() {
  if (state.totalsTimer) return;
  state.totalsTimer = setTimeout(() => {
    state.totalsTimer = null;
    loadTotals();
  }, TOTALS_THROTTLE_MS);
}

function afterSessionsChanged() {
  totalsView.setActive(sessionsView.activeCount());
  if (state.me?.admin) fillDatalist('user-list', sessionsView.users());
}

function fillDatalist(id, values) {
  replaceChildren(byId(id), ...values.map((v) => h('option', { value: v })));
}

async function loadDevices() {
  replaceChildren(byId('devices-error'), '');
  try {
    devicesView.show(await call(state.token, 'GET', '/api/v1/devices'));
  } catch (e) {
    failed(e, 'devices-error');
  }
}

// ------------------------------------------------------------------- live ---

function startFeed() {
  state.feed?.stop();
  state.droppedAt = null;
  state.feed = new LiveFeed({
    token: state.token,
    onState: setConnection,
    onSession: onLiveSession,
    // A reconnect that resumes from the last event id gets every missed
    // change from the server itself; only a feed that never saw an event
    // catches up by asking for recent sessions.
    onOpen: ({ reconnect, resumed }) => {
      if (reconnect && !resumed) catchUp();
      state.droppedAt = null;
    },
    onUnauthorized: () => signOutLocally('Your token is no longer valid: it was revoked or signed out. Sign in with a new one.'),
  });
  state.feed.start();
}

function onLiveSession(session) {
  if (!state.filters || !matches(state.filters, session, state.me)) return;
  if (sessionsView.upsert(session)) afterSessionsChanged();
  scheduleTotals();
}

/**
 * After a reconnect: whatever changed while the feed was down. `since`
 * compares with the sessions' own `updated_at`, which the server's stale
 * closer leaves as it was; so it also reaches back to the oldest session
 * still shown in progress, to learn whether the server closed it.
 */
async function catchUp() {
  const gen = state.generation;
  let sinceMs = (state.droppedAt ?? Date.now()) - CATCH_UP_MARGIN_MS;
  for (const s of sessionsView.sessions.values()) {
    if (s.state === 'active') sinceMs = Math.min(sinceMs, Date.parse(s.updated_at));
  }
  const since = new Date(sinceMs).toISOString();
  try {
    const missed = await allSessions(state.token, { ...apiQuery(state.filters, state.me), since }, { max: 5000 });
    if (gen !== state.generation) return;
    let changed = false;
    for (const s of missed) changed = sessionsView.upsert(s) || changed;
    if (changed) afterSessionsChanged();
    scheduleTotals();
  } catch (e) {
    failed(e);
  }
}

// ----------------------------------------------------------------- export ---

async function exportSessions(kind, button) {
  button.disabled = true;
  try {
    const f = state.filters;
    const sessions = await allSessions(state.token, apiQuery(f, state.me));
    const name = `worktime-sessions-${f.firstDay}_to_${f.lastDay}.${kind}`;
    if (kind === 'csv') download(name, 'text/csv;charset=utf-8', toCsv(sessions));
    else download(name, 'application/json', toJson(sessions, { ...apiQuery(f, state.me) }));
    toast(`Exported ${sessions.length} session${sessions.length === 1 ? '' : 's'} as ${kind.toUpperCase()}.`);
  } catch (e) {
    failed(e);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- devices ---

async function signOutDevice(device, button) {
  button.disabled = true;
  try {
    await call(state.token, 'DELETE', `/api/v1/devices/${encodeURIComponent(device.id)}`);
    if (device.current) {
      signOutLocally('This dashboard’s device was signed out. Sign in with another token.');
      return;
    }
    toast(`Signed out “${device.label}”.`);
    await loadDevices();
  } catch (e) {
    button.disabled = false;
    failed(e, 'devices-error');
  }
}

async function signOutEverywhere() {
  const yes = await confirmAction({
    title: 'Sign out everywhere?',
    text: 'This revokes every token of your account, this dashboard’s included. Each device stops syncing until it gets a new token.',
    ok: 'Sign out everywhere',
  });
  if (!yes) return;
  try {
    await call(state.token, 'DELETE', '/api/v1/devices');
    signOutLocally('You were signed out everywhere: every token of your account is revoked.');
  } catch (e) {
    failed(e, 'devices-error');
  }
}

// ------------------------------------------------------------------- boot ---

function wire() {
  byId('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = byId('token').value.trim();
    if (!token) {
      showSignin('Paste your API token first.', { invalid: true });
      return;
    }
    signIn(token, { remembered: false });
  });
  byId('forget').addEventListener('click', () => signOutLocally(''));

  const filters = byId('filters');
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    applyFilters();
  });
  filters.addEventListener('reset', () => setTimeout(() => {
    syncCustomRange();
    applyFilters();
  }));
  for (const radio of filters.querySelectorAll('input[name="range"]')) {
    radio.addEventListener('change', () => {
      syncCustomRange();
      if (radio.value !== 'custom') applyFilters();
      else byId('from').focus();
    });
  }

  byId('load-more').addEventListener('click', () => loadSessions(state.generation, state.cursor));
  byId('export-csv').addEventListener('click', (ev) => exportSessions('csv', ev.currentTarget));
  byId('export-json').addEventListener('click', (ev) => exportSessions('json', ev.currentTarget));
  byId('signout-all').addEventListener('click', signOutEverywhere);

  // One clock for the whole page: the connection countdown (the table ticks
  // itself), and a new day for the preset ranges after midnight.
  setInterval(() => {
    renderConnection();
    rollOverDay();
  }, 1000);
}

/** "Today" must mean today: presets move on when the local date changes. */
function rollOverDay() {
  const f = state.filters;
  if (state.token && f && f.range !== 'custom' && f.lastDay !== dayKey(new Date())) applyFilters();
}

function syncCustomRange() {
  const custom = byId('range-custom').checked;
  byId('custom-range').hidden = !custom;
  if (custom && !byId('from').value) {
    const now = new Date();
    byId('from').value = dayKey(startOfDay(now, -13));
    byId('to').value = dayKey(now);
  }
}

function boot() {
  sessionsView = new SessionsView();
  totalsView = new TotalsView();
  devicesView = new DevicesView({ onSignOut: signOutDevice });
  wire();
  const token = storedToken();
  byId('loading').hidden = !token;
  if (token) signIn(token, { remembered: true });
  else showSignin();
}

boot();
