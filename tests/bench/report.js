// report.js — the bench's one table: each figure beside its goal (from
// issues 3, 4 and 6) and whether it is met, the machine's load when it was
// taken, and what exactly was measured. Also the JSON written next to it.
import fs from 'node:fs';
import path from 'node:path';

/** The 1-minute load average now (Linux), as a number. */
export function loadAverage() {
  try {
    return Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

const ms = (v) => (v === null || v === undefined ? '–' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`);
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

/**
 * One row. `figure` is what the table shows, `goal` the target in words,
 * `met` true/false (null: no goal), `value` the raw figures for the JSON,
 * `how` one sentence on what was measured.
 */
export function row({ id, what, figure, goal = null, met = null, value = null, how, load }) {
  return { id, what, figure, goal, met, value, how, load };
}

/** A row for a measurement that could not be taken. */
export function failedRow({ id, what, goal = null, error, load }) {
  return { id, what, figure: `FAILED: ${error.message.split('\n')[0]}`, goal, met: null, value: null, how: error.stack ?? String(error), load, failed: true };
}

/** Rows for the latency figures. */
export function latencyRow({ id, what, result, goalMs, how, load }) {
  return row({
    id,
    what: `${what} (n=${result.n})`,
    figure: `p50 ${ms(result.p50)} · p95 ${ms(result.p95)} · p99 ${ms(result.p99)}`,
    goal: `p99 ≤ ${ms(goalMs)}`,
    met: result.p99 <= goalMs,
    value: result,
    how,
    load,
  });
}

/** Formatters for durations (ms) and sizes (bytes). */
export { ms, kb };

/** The table as text lines. */
export function renderTable(rows, meta) {
  const cols = [
    ['measurement', (r) => r.what],
    ['figure', (r) => r.figure],
    ['goal', (r) => r.goal ?? '–'],
    ['met', (r) => (r.met === null ? '–' : r.met ? 'yes' : 'NO')],
    ['load', (r) => (r.load === null || r.load === undefined ? '?' : r.load.toFixed(2))],
  ];
  const cells = rows.map((r) => cols.map(([, f]) => String(f(r))));
  const widths = cols.map(([h], i) => Math.min(70, Math.max(h.length, ...cells.map((c) => c[i].length))));
  const line = (values) => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]))).join('  ');
  const out = [];
  out.push(`WorkTime Sync bench · ${meta.at} · ${meta.cores} cores · ${meta.chromium} · load before ${meta.loadBefore?.toFixed(2)}, after ${meta.loadAfter?.toFixed(2)}${meta.quick ? ' · --quick' : ''}`);
  out.push(line(cols.map(([h]) => h)));
  out.push(line(widths.map((w) => '-'.repeat(w))));
  for (const c of cells) out.push(line(c));
  out.push('');
  out.push('What each figure measures (load = 1-minute load average when it started; figures, not pass/fail):');
  for (const r of rows) out.push(`  ${r.id}: ${r.failed ? r.how.split('\n').slice(0, 6).join('\n      ') : r.how}`);
  return out;
}

/** Writes the JSON report, creating its directory. */
export function writeJson(file, report) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}
