// filters.js — turns the filter form (date range, repository, user) into the
// API's query parameters, checks it, and decides whether a live session
// belongs in the current view.

import { dayKey, dayKeyToDate, startOfDay } from './format.js';

/** How many days each preset covers, today included. */
const PRESET_DAYS = { today: 1, '7d': 7, '14d': 14, '30d': 30 };

/** Days the chart shows at least, ending at the range's last day. */
export const CHART_MIN_DAYS = 14;

/** A filter value the user has to fix; `field` names the input. */
export class FilterError extends Error {
  constructor(field, message) {
    super(message);
    this.name = 'FilterError';
    this.field = field;
  }
}

const REPO_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;

/**
 * Reads the raw form values `{range, from, to, repo, user}` into a checked
 * filter: `{from: Date, to: Date|null, firstDay, lastDay, repo, user, range}`.
 * `to` is exclusive and null for presets (they run up to now and beyond, so
 * sessions that start later still show).
 */
export function parseFilters(raw, now = new Date()) {
  const repo = (raw.repo ?? '').trim();
  const user = (raw.user ?? '').trim();
  if (repo && !REPO_RE.test(repo)) {
    throw new FilterError('repo', 'Repository must look like owner/name, e.g. rust-lang/rust.');
  }
  let from;
  let to = null;
  let lastDay;
  if (raw.range === 'custom') {
    if (!raw.from) throw new FilterError('from', 'Choose the first day of the range.');
    from = dayKeyToDate(raw.from);
    const last = raw.to ? dayKeyToDate(raw.to) : startOfDay(now);
    if (Number.isNaN(from.getTime()) || Number.isNaN(last.getTime())) {
      throw new FilterError('from', 'That is not a valid date.');
    }
    if (last < from) throw new FilterError('to', 'The last day must not be before the first day.');
    to = startOfDay(last, 1);
    lastDay = dayKey(last);
  } else {
    const days = PRESET_DAYS[raw.range] ?? PRESET_DAYS['14d'];
    from = startOfDay(now, -(days - 1));
    lastDay = dayKey(now);
  }
  return { range: raw.range in PRESET_DAYS ? raw.range : raw.range === 'custom' ? 'custom' : '14d', from, to, firstDay: dayKey(from), lastDay, repo, user };
}

/** The query string parameters shared by `/sessions` and `/totals`. */
export function apiQuery(f, { admin }) {
  return {
    from: f.from.toISOString(),
    to: f.to ? f.to.toISOString() : undefined,
    repo: f.repo || undefined,
    // Without user= the server answers with the caller's own sessions; an
    // admin's dashboard shows everyone's unless a user is picked.
    user: admin ? f.user || '*' : undefined,
  };
}

/** The days the chart shows: the range, widened to at least 14 days. */
export function chartDays(f) {
  const last = dayKeyToDate(f.lastDay);
  const first = dayKeyToDate(f.firstDay);
  const span = Math.round((last - first) / 86_400_000) + 1;
  const n = Math.max(CHART_MIN_DAYS, span);
  const keys = [];
  for (let i = n - 1; i >= 0; i--) keys.push(dayKey(startOfDay(last, -i)));
  return keys;
}

/** Whether a session pushed live belongs in the view the filters describe. */
export function matches(f, session, { admin }) {
  const started = new Date(session.started_at);
  if (started < f.from) return false;
  if (f.to && started >= f.to) return false;
  if (f.repo && `${session.repo_owner}/${session.repo_name}`.toLowerCase() !== f.repo.toLowerCase()) return false;
  if (admin && f.user && session.user !== f.user) return false;
  return true;
}

/** Minutes to add to UTC to get the viewer's local time (UTC+1 → 60). */
export function tzOffsetMinutes(date = new Date()) {
  return -date.getTimezoneOffset();
}
