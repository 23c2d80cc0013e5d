// format.js — how durations, dates and pull requests read on the page, in
// the viewer's own locale and time zone.

const dateTime = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});
const dateTimeFull = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayShort = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const dayWeek = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const dayLong = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' });

/** "1 h 05 min", "12 min", "45 s": a total of review time, coarse on purpose. */
export function duration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hours = Math.floor(m / 60);
  return `${hours} h ${String(m % 60).padStart(2, '0')} min`;
}

/** "1:02:03" or "2:03": a running clock for a session in progress. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** Short hours for a chart axis: "0", "30m", "1.5h". */
export function axisDuration(seconds) {
  if (seconds === 0) return '0';
  if (seconds < 3600) return `${Math.round(seconds / 60)}m`;
  const h = seconds / 3600;
  return `${Number.isInteger(h) ? h : h.toFixed(1)}h`;
}

/** A timestamp in the table: "Nov 21, 14:03", or just "14:03" when it is today. */
export function when(iso, now = new Date()) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return sameDay(d, now) ? timeOnly.format(d) : dateTime.format(d);
}

/** The full timestamp, for a tooltip. */
export function whenFull(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : dateTimeFull.format(d);
}

/** "Nov 21" for a chart label, from a local day key "2026-11-21". */
export function dayLabel(key) {
  return dayShort.format(dayKeyToDate(key));
}

/** "Sat" for a chart label. */
export function weekdayLabel(key) {
  return dayWeek.format(dayKeyToDate(key));
}

/** "Saturday, November 21, 2026". */
export function dayLongLabel(key) {
  return dayLong.format(dayKeyToDate(key));
}

const rangeFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', year: 'numeric' });

/** "Nov 8 – 21, 2026": two day keys as a compact range. */
export function rangeLabel(firstKey, lastKey) {
  return rangeFormat.formatRange(dayKeyToDate(firstKey), dayKeyToDate(lastKey));
}

/** The local calendar day of `date` as "YYYY-MM-DD". */
export function dayKey(date) {
  const y = date.getFullYear();
  const m = String(date.getMonth() + 1).padStart(2, '0');
  const d = String(date.getDate()).padStart(2, '0');
  return `${y}-${m}-${d}`;
}

/** Local midnight of a "YYYY-MM-DD" key. */
export function dayKeyToDate(key) {
  const [y, m, d] = key.split('-').map(Number);
  return new Date(y, m - 1, d);
}

/** Local midnight at the start of `date`'s day, shifted by `days`. */
export function startOfDay(date, days = 0) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate() + days);
}

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** "owner/repo#12". */
export function prLabel(s) {
  return `${s.repo_owner}/${s.repo_name}#${s.pr_number}`;
}

/**
 * The pull request's page on GitHub. Each segment is URI-encoded so a name
 * can never change the URL's shape (the server validates names anyway).
 */
export function prUrl(owner, repo, number) {
  return `https://github.com/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/pull/${encodeURIComponent(String(number))}`;
}

/** The repository's page on GitHub. */
export function repoUrl(owner, repo) {
  return `https://github.com/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
}

/** 1234 → "1,234" in the viewer's locale. */
export function count(n) {
  return new Intl.NumberFormat().format(n);
}
