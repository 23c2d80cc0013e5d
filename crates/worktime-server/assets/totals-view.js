// totals-view.js — the numbers the server adds up (`GET /api/v1/totals`):
// the summary tiles, the per-day chart and table, and the top repositories
// and pull requests.

import { drawDays } from './chart.js';
import { byId, h, replaceChildren } from './dom.js';
import { count, dayKey, dayLabel, dayLongLabel, duration, prUrl, repoUrl } from './format.js';

/** How many repositories and pull requests the top lists show. */
export const TOP_N = 10;

/** Splits "owner/repo#12" (the server's PR key) into its parts, or null. */
export function parsePrKey(key) {
  const m = /^([^/\s]+)\/([^#\s]+)#(\d+)$/.exec(key);
  return m ? { owner: m[1], repo: m[2], number: Number(m[3]) } : null;
}

/** Splits "owner/repo" into its parts, or null. */
export function parseRepoKey(key) {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(key);
  return m ? { owner: m[1], repo: m[2] } : null;
}

/** Fills `keys` (every chart day) with the server's rows; missing days are 0. */
export function fillDays(keys, rows) {
  const byKey = new Map(rows.map((r) => [r.key, r]));
  return keys.map((key) => ({ key, seconds: byKey.get(key)?.seconds ?? 0, sessions: byKey.get(key)?.sessions ?? 0 }));
}

/** Biggest first, then by key, at most `n`. */
export function top(rows, n = TOP_N) {
  return [...rows].sort((a, b) => b.seconds - a.seconds || (a.key < b.key ? -1 : 1)).slice(0, n);
}

/** The summary tiles, chart and top lists. */
export class TotalsView {
  constructor() {
    this.chart = byId('days-chart');
    this.days = [];
    this.resize = new ResizeObserver(() => this.drawChart());
    this.resize.observe(this.chart);
  }

  /**
   * Shows one set of totals: `days` for the chart (keys already chosen,
   * covering `range` = {firstDay, lastDay} at least), `repos` and `prs`
   * over the filtered range.
   */
  show({ days, range, repos, prs, caption }) {
    // The server caps repo and PR totals at the top 10; days are complete,
    // so the summary adds up the days inside the filtered range.
    const inRange = days.filter((d) => d.key >= range.firstDay && d.key <= range.lastDay);
    const totalSeconds = inRange.reduce((a, d) => a + d.seconds, 0);
    const totalSessions = inRange.reduce((a, d) => a + d.sessions, 0);
    setText('stat-total', duration(totalSeconds), totalSeconds);
    setText('stat-sessions', count(totalSessions), totalSessions);
    const average = totalSessions ? Math.round(totalSeconds / totalSessions) : 0;
    setText('stat-average', totalSessions ? duration(average) : '–', average);

    this.days = days;
    replaceChildren(byId('days-caption'), caption);
    this.drawChart();
    replaceChildren(byId('days-table'), ...days.map((d) =>
      h('tr', { 'data-day': d.key },
        h('th', { scope: 'row' }, h('time', { datetime: d.key, title: dayLongLabel(d.key) }, dayLabel(d.key))),
        h('td', { class: 'num', 'data-seconds': String(d.seconds) }, duration(d.seconds)),
        h('td', { class: 'num' }, count(d.sessions)))));

    barList('repos', top(repos), (key) => {
      const r = parseRepoKey(key);
      return r ? h('a', { href: repoUrl(r.owner, r.repo), rel: 'noopener noreferrer', target: '_blank' }, key) : key;
    });
    barList('prs', top(prs), (key) => {
      const p = parsePrKey(key);
      return p ? h('a', { href: prUrl(p.owner, p.repo, p.number), rel: 'noopener noreferrer', target: '_blank' }, key) : key;
    });
  }

  /** Shows the number of sessions in progress (kept up by the live table). */
  setActive(n) {
    setText('stat-active', count(n), n);
  }

  drawChart() {
    if (this.days.length && this.chart.clientWidth > 0) drawDays(this.chart, this.days, dayKey(new Date()));
  }
}

function setText(id, text, value) {
  const el = byId(id);
  el.textContent = text;
  el.dataset.value = String(value);
}

/** A top-N table whose rows carry a proportional bar behind the numbers. */
function barList(name, rows, labelFor) {
  const max = Math.max(1, ...rows.map((r) => r.seconds));
  byId(`${name}-empty`).hidden = rows.length > 0;
  byId(`${name}-table`).closest('table').hidden = rows.length === 0;
  replaceChildren(byId(`${name}-table`), ...rows.map((r) => {
    const bar = h('span', { class: 'bar-fill', 'aria-hidden': 'true' });
    // CSSOM, not a style attribute: allowed by the page's CSP (style-src 'self').
    bar.style.inlineSize = `${Math.max(1, (r.seconds / max) * 100).toFixed(1)}%`;
    return h('tr', { 'data-key': r.key, 'data-seconds': String(r.seconds) },
      h('th', { scope: 'row' }, h('span', { class: 'bar-track' }, bar), h('span', { class: 'bar-label' }, labelFor(r.key))),
      h('td', { class: 'num' }, duration(r.seconds)),
      h('td', { class: 'num col-sessions' }, count(r.sessions)));
  }));
}
