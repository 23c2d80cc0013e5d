// pause.js — a fixed pause for pacing a benchmark (never to wait for a
// condition: that is waitFor's job, with a deadline).

/** Resolves after `ms` milliseconds. */
export function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
