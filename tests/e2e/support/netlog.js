// netlog.js — Chromium's own record of its network traffic
// (--log-net-log=<file>): every URL request the network stack started,
// whoever asked for it, from the browser's first second on — before any
// DevTools client attaches, so an extension's very first worker start is in
// it too. Each request names its initiator: the origin that asked for it.
import fs from 'node:fs';

/** The Chromium flags that write the NetLog to `file`. The default capture
 * mode leaves out cookies and credentials. */
export function netLogArgs(file) {
  return [`--log-net-log=${file}`, '--net-log-capture-mode=Default'];
}

/**
 * The requests in the NetLog at `file`, in order: `{ url, method, initiator }`.
 * `initiator` is the asking origin (`chrome-extension://<id>`,
 * `https://github.com`), `not an origin` for the browser's own requests, or
 * null when the log does not say. Chromium writes one event per line, so a
 * log still being written reads too (its last, partial line is skipped).
 */
export function netLogRequests(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const head = lines[0] ?? '';
  if (!head.startsWith('{"constants":')) throw new Error(`${file} is not a Chromium NetLog`);
  const constants = JSON.parse(head.slice('{"constants":'.length).replace(/,\s*$/, ''));
  const startJob = constants.logEventTypes?.URL_REQUEST_START_JOB;
  if (startJob === undefined) throw new Error(`${file}: no URL_REQUEST_START_JOB event type`);
  const requests = [];
  for (const line of lines.slice(1)) {
    if (!line.startsWith('{')) continue;
    let event;
    try {
      event = JSON.parse(line.replace(/,\s*$/, ''));
    } catch {
      continue; // the line being written when the file was read
    }
    const params = event.params;
    if (event.type !== startJob || typeof params?.url !== 'string') continue;
    requests.push({ url: params.url, method: params.method ?? null, initiator: params.initiator ?? null });
  }
  return requests;
}
