// stats.js — percentiles and summaries of timing samples (milliseconds).

/** The nearest-rank percentile `p` (0..100) of `values`; null when empty. */
export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** p50, p95, p99, min, max and count of `values`. */
export function summary(values) {
  return {
    n: values.length,
    min: values.length ? Math.min(...values) : null,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: values.length ? Math.max(...values) : null,
  };
}

/** Rounds to `digits` decimals (null stays null). */
export function round(value, digits = 1) {
  if (value === null || value === undefined) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
