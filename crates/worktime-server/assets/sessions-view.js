// sessions-view.js — the sessions table: one keyed row per session, newest
// first, updated in place when the live feed pushes a change, with a ticking
// clock on sessions still in progress.

import { byId, h, replaceChildren } from './dom.js';
import { clock, count, duration, prUrl, repoUrl, when, whenFull } from './format.js';

/** A session's identity: the same local_id from two users is two sessions. */
export function sessionKey(s) {
  return `${s.user ?? ''}\u0000${s.local_id}`;
}

/**
 * Which of two versions of one session to keep, by the server's own rule:
 * ended never goes back to active; otherwise the later `updated_at` wins
 * (ties go to the newer arrival, which is how the server saw it last).
 */
export function newer(current, incoming) {
  if (!current) return incoming;
  if (current.state === 'ended' && incoming.state !== 'ended') return current;
  if (incoming.state === 'ended' && current.state !== 'ended') return incoming;
  return Date.parse(incoming.updated_at) >= Date.parse(current.updated_at) ? incoming : current;
}

/** Newest first: by start time, then by id so the order is stable. */
export function compareSessions(a, b) {
  const d = Date.parse(b.started_at) - Date.parse(a.started_at);
  if (d !== 0) return d;
  return sessionKey(a) < sessionKey(b) ? 1 : -1;
}

/** The table of sessions and everything shown with it. */
export class SessionsView {
  constructor() {
    this.body = byId('sessions-body');
    this.table = byId('sessions-table');
    this.empty = byId('sessions-empty');
    this.countEl = byId('sessions-count');
    this.loadMore = byId('load-more');
    this.sessions = new Map();
    this.rows = new Map();
    this.hasMore = false;
    this.showUser = false;
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  /** Shows or hides the user column (admins see everyone's sessions). */
  setShowUser(show) {
    this.showUser = show;
    this.table.classList.toggle('with-user', show);
    for (const [key, row] of this.rows) row.replaceWith(this.renderRow(this.sessions.get(key)));
    this.rebuildRowIndex();
  }

  /** Drops everything (new filters, or sign-out). */
  clear() {
    this.sessions.clear();
    this.rows.clear();
    this.body.replaceChildren();
    this.hasMore = false;
    this.update();
  }

  /** The sessions currently listed, newest first. */
  list() {
    return [...this.sessions.values()].sort(compareSessions);
  }

  /** Adds a page from the API (already filtered by the server). */
  addPage(sessions, hasMore) {
    for (const s of sessions) this.merge(s, { flash: false });
    this.hasMore = hasMore;
    this.reorder();
    this.update();
  }

  /**
   * Merges one session (live or catch-up). Returns true if the table changed.
   * A session older than the oldest listed one, while more pages exist, is
   * left for "Load more" so the list never has a hole in it.
   */
  upsert(session, { flash = true } = {}) {
    const key = sessionKey(session);
    if (!this.sessions.has(key) && this.hasMore) {
      const list = this.list();
      const oldest = list[list.length - 1];
      if (oldest && compareSessions(session, oldest) > 0) return false;
    }
    const changed = this.merge(session, { flash });
    if (changed) {
      this.reorder();
      this.update();
    }
    return changed;
  }

  merge(session, { flash }) {
    const key = sessionKey(session);
    const current = this.sessions.get(key);
    const kept = newer(current, session);
    if (current && kept === current) return false;
    this.sessions.set(key, kept);
    const row = this.renderRow(kept);
    if (flash) row.classList.add('flash');
    const old = this.rows.get(key);
    if (old) replaceKeepingFocus(old, row);
    this.rows.set(key, row);
    return true;
  }

  reorder() {
    const ordered = this.list().map((s) => this.rows.get(sessionKey(s)));
    // Move only what is out of place, so focus and selection survive.
    let cursor = this.body.firstElementChild;
    for (const row of ordered) {
      if (row === cursor) cursor = cursor.nextElementSibling;
      else this.body.insertBefore(row, cursor);
    }
  }

  rebuildRowIndex() {
    this.rows.clear();
    for (const row of this.body.children) this.rows.set(row.dataset.key, row);
  }

  renderRow(s) {
    const active = s.state === 'active';
    const startedAt = Date.parse(s.started_at);
    const row = h('tr', {
      dataset: { key: sessionKey(s), localId: s.local_id, state: s.state },
      class: [active && 'is-active'],
    });
    row.addEventListener('animationend', () => row.classList.remove('flash'));
    if (this.showUser) row.append(h('td', { class: 'col-user' }, s.user ?? '—'));
    row.append(
      h('td', { class: 'repo' },
        h('a', { href: repoUrl(s.repo_owner, s.repo_name), rel: 'noopener noreferrer', target: '_blank' },
          h('span', { class: 'owner' }, `${s.repo_owner}/`), s.repo_name)),
      h('td', { class: 'pr' },
        h('a', {
          href: prUrl(s.repo_owner, s.repo_name, s.pr_number),
          rel: 'noopener noreferrer',
          target: '_blank',
          'aria-label': `Pull request ${s.pr_number} in ${s.repo_owner}/${s.repo_name} (opens GitHub)`,
        }, `#${s.pr_number}`)),
      h('td', { class: 'when' }, h('time', { datetime: s.started_at, title: whenFull(s.started_at) }, when(s.started_at))),
    );
    if (active) {
      row.append(h('td', { class: 'when' },
        h('span', { class: 'ticking' },
          'in progress · ',
          h('span', { class: 'clock', 'data-started': String(startedAt) }, clock((Date.now() - startedAt) / 1000)))));
    } else {
      row.append(h('td', { class: 'when' },
        s.ended_at ? h('time', { datetime: s.ended_at, title: whenFull(s.ended_at) }, when(s.ended_at)) : '—'));
    }
    row.append(
      h('td', { class: 'num', 'data-seconds': String(s.active_seconds) }, duration(s.active_seconds)),
      h('td', {}, statusBadge(s)),
    );
    return row;
  }

  /** Advances every "in progress" clock. */
  tick() {
    const now = Date.now();
    for (const el of this.body.querySelectorAll('.clock')) {
      el.textContent = clock((now - Number(el.dataset.started)) / 1000);
    }
  }

  /** The count line, the empty state and the "Load more" button. */
  update() {
    const n = this.sessions.size;
    this.empty.hidden = n > 0;
    this.table.hidden = n === 0;
    this.loadMore.hidden = !this.hasMore;
    replaceChildren(this.countEl, n === 0 ? '' : `Showing ${count(n)} session${n === 1 ? '' : 's'}${this.hasMore ? ' (more available)' : ''}`);
  }

  /** How many listed sessions are still in progress. */
  activeCount() {
    let n = 0;
    for (const s of this.sessions.values()) if (s.state === 'active') n++;
    return n;
  }

  /** Users seen in the listed sessions (for the admin's user filter). */
  users() {
    return [...new Set([...this.sessions.values()].map((s) => s.user).filter(Boolean))].sort();
  }
}

/**
 * Swaps a row for its new rendering; a keyboard user whose focus was on a
 * link in it keeps the focus on the same link.
 */
function replaceKeepingFocus(old, row) {
  const focusable = (r) => [...r.querySelectorAll('a[href], button')];
  const index = focusable(old).indexOf(document.activeElement);
  old.replaceWith(row);
  if (index >= 0) focusable(row)[index]?.focus({ preventScroll: true });
}

function statusBadge(s) {
  if (s.state === 'active') return h('span', { class: 'badge badge-live' }, h('span', { class: 'pulse', 'aria-hidden': 'true' }), 'In progress');
  if (s.closed_by_server) {
    return h('span', {
      class: 'badge badge-warn',
      title: 'The device stopped reporting, so the server ended this session at its last update.',
    }, 'Closed by server');
  }
  return h('span', { class: 'badge' }, 'Ended');
}
