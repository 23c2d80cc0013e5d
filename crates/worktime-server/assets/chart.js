// chart.js — the "review time per day" bar chart, drawn as plain SVG at the
// container's real width (so text stays crisp on a phone and a wide screen).
// No library: a dozen rectangles do not need one, and the page must work
// offline under a strict CSP.

import { s, replaceChildren } from './dom.js';
import { axisDuration, dayLabel, dayLongLabel, duration, weekdayLabel } from './format.js';

const STEPS = [60, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 4 * 3600, 6 * 3600, 8 * 3600, 12 * 3600, 24 * 3600];

/** A round axis step so that `max` fits in about four gridlines. */
export function niceStep(max) {
  return STEPS.find((step) => max / step <= 4) ?? Math.ceil(max / 4 / 3600) * 3600;
}

/**
 * Draws `days` ([{key: "YYYY-MM-DD", seconds, sessions}], oldest first) into
 * `container`. `todayKey` is highlighted.
 */
export function drawDays(container, days, todayKey) {
  const width = Math.max(280, Math.floor(container.clientWidth || 640));
  const height = 220;
  const pad = { top: 12, right: 20, bottom: 40, left: 44 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = Math.max(0, ...days.map((d) => d.seconds));
  const step = max > 0 ? niceStep(max) : 3600;
  const top = Math.max(step, Math.ceil(max / step) * step);
  const y = (v) => pad.top + plotH - (v / top) * plotH;
  const slot = plotW / Math.max(1, days.length);
  const barW = Math.max(3, Math.min(40, slot * 0.62));
  const total = days.reduce((a, d) => a + d.seconds, 0);
  const busiest = days.reduce((a, d) => (d.seconds > (a?.seconds ?? 0) ? d : a), null);

  const label = days.length
    ? `Bar chart of review time per day from ${dayLongLabel(days[0].key)} to ${dayLongLabel(days[days.length - 1].key)}: ` +
      `${duration(total)} in total` + (busiest ? `, most on ${dayLongLabel(busiest.key)} (${duration(busiest.seconds)}).` : '.')
    : 'No days to show.';

  const svg = s('svg', {
    class: 'bars-svg',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': label,
  });

  const grid = s('g', { class: 'grid', 'aria-hidden': 'true' });
  for (let v = 0; v <= top; v += step) {
    const yy = Math.round(y(v)) + 0.5;
    grid.append(
      s('line', { x1: pad.left, x2: width - pad.right, y1: yy, y2: yy, class: v === 0 ? 'axis' : 'gridline' }),
      s('text', { x: pad.left - 8, y: yy, class: 'tick', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, axisDuration(v)),
    );
  }
  svg.append(grid);

  // Thin out day labels so they never overlap: about 44 px per label.
  const every = Math.max(1, Math.ceil(44 / slot));
  const bars = s('g', { class: 'bars' });
  days.forEach((d, i) => {
    const cx = pad.left + slot * i + slot / 2;
    const h = d.seconds > 0 ? Math.max(2, plotH - (y(d.seconds) - pad.top)) : 0;
    const g = s('g', { class: ['bar', d.key === todayKey && 'today'], 'data-day': d.key, 'data-seconds': d.seconds });
    g.append(
      s('title', {}, `${dayLongLabel(d.key)}: ${duration(d.seconds)} in ${d.sessions} session${d.sessions === 1 ? '' : 's'}`),
      // A full-height transparent target, so the tooltip works on short bars too.
      s('rect', { class: 'hit', x: cx - slot / 2, y: pad.top, width: slot, height: plotH }),
    );
    if (h > 0) {
      g.append(s('rect', { class: 'fill', x: cx - barW / 2, y: pad.top + plotH - h, width: barW, height: h, rx: Math.min(3, barW / 3) }));
    }
    if (i % every === (days.length - 1) % every) {
      g.append(
        s('text', { x: cx, y: height - pad.bottom + 16, class: 'day', 'text-anchor': 'middle' }, dayLabel(d.key)),
        s('text', { x: cx, y: height - pad.bottom + 30, class: 'weekday', 'text-anchor': 'middle' }, weekdayLabel(d.key)),
      );
    }
    bars.append(g);
  });
  svg.append(bars);
  replaceChildren(container, svg);
}
