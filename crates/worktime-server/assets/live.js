// live.js — the live feed: `GET /api/v1/events` (server-sent events) read
// through fetch, so the token travels in the Authorization header (an
// EventSource cannot send headers, and a token in a URL ends up in logs).
// Reconnects by itself with capped, jittered exponential backoff. Every event
// carries the server's sequence number as its id; a reconnect sends the last
// one as `Last-Event-ID` and the server first replays every change after it,
// so nothing is missed and nothing is reloaded. A fresh stream starts with a
// `ready` event whose id is the server's latest change, so even a feed that
// saw no session yet resumes that way; only a feed that never got that far
// tells its owner to catch up by other means.

/** Reconnect delays: 1 s, doubling, capped at 30 s, ±25 % jitter. */
export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, attempt));
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * Parses a text/event-stream incrementally. Feed it decoded text chunks; it
 * calls `onEvent({event, data, id})` for each complete event and `onActivity()`
 * for anything at all (comments included: they are the server's keep-alives).
 */
export class SseParser {
  constructor(onEvent, onActivity = () => {}) {
    this.onEvent = onEvent;
    this.onActivity = onActivity;
    this.buffer = '';
    this.reset();
  }

  reset() {
    this.event = '';
    this.data = [];
    this.id = undefined;
  }

  push(chunk) {
    this.buffer += chunk;
    this.onActivity();
    let m;
    // A line ends at \r\n, \n or \r; a lone \r at the very end may be half of \r\n.
    while ((m = /\r\n|\n|\r(?!$)/.exec(this.buffer))) {
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.line(line);
    }
  }

  line(line) {
    if (line === '') {
      if (this.data.length > 0) {
        this.onEvent({ event: this.event || 'message', data: this.data.join('\n'), id: this.id });
      }
      this.reset();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
  }
}

/**
 * One live connection that keeps itself up until `stop()`.
 *
 * Callbacks: `onSession(session)` per `session` event; `onState(state, info)`
 * with state `connecting` | `live` | `waiting` (info.retryInMs) | `offline`;
 * `onOpen({reconnect, resumed})` each time the stream is (re)established
 * (`resumed`: the server replays what was missed after `lastEventId`);
 * `onUnauthorized()` when the server refuses the token (no retry then).
 * A `lagged` event (older servers) reconnects at once from the last id.
 */
export class LiveFeed {
  constructor({ token, path = '/api/v1/events', onSession, onState, onOpen, onUnauthorized, idleTimeoutMs = 45_000 }) {
    Object.assign(this, { token, path, onSession, onState, onOpen, onUnauthorized, idleTimeoutMs });
    /** The id of the last event received: where a reconnect resumes. */
    this.lastEventId = null;
    this.attempt = 0;
    this.connectedOnce = false;
    this.stopped = false;
    this.controller = null;
    this.retryTimer = null;
    this.idleTimer = null;
    this.onOnline = () => this.retryNow();
  }

  start() {
    addEventListener('online', this.onOnline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    removeEventListener('online', this.onOnline);
    clearTimeout(this.retryTimer);
    clearTimeout(this.idleTimer);
    this.controller?.abort();
  }

  /** Skips the remaining backoff (the browser came back online). */
  retryNow() {
    if (this.stopped || !this.retryTimer) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  async connect() {
    if (this.stopped) return;
    this.retryTimer = null;
    this.onState('connecting');
    const controller = new AbortController();
    this.controller = controller;
    let res;
    const resumeFrom = this.lastEventId;
    const headers = { Authorization: `Bearer ${this.token}`, Accept: 'text/event-stream' };
    if (resumeFrom !== null) headers['Last-Event-ID'] = resumeFrom;
    try {
      res = await fetch(this.path, {
        headers,
        cache: 'no-store',
        credentials: 'omit',
        signal: controller.signal,
      });
    } catch {
      return this.scheduleRetry();
    }
    if (res.status === 401 || res.status === 403) {
      this.stop();
      this.onUnauthorized();
      return;
    }
    if (!res.ok || !res.body) {
      res.body?.cancel().catch(() => {});
      return this.scheduleRetry();
    }
    const reconnect = this.connectedOnce;
    this.connectedOnce = true;
    this.attempt = 0;
    this.onState('live');
    this.armIdle();
    const parser = new SseParser(
      (ev) => this.dispatch(ev),
      () => this.armIdle(),
    );
    // Catch-up runs while the stream is already open, so nothing falls in between.
    try {
      this.onOpen({ reconnect, resumed: resumeFrom !== null });
    } catch (e) {
      console.error(e);
    }
    try {
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
      }
    } catch {
      // Aborted (stop, idle timeout) or the connection broke: handled below.
    }
    clearTimeout(this.idleTimer);
    if (!this.stopped) this.scheduleRetry();
  }

  dispatch(ev) {
    // Every event with an id (`session`s, and the `ready` a fresh stream
    // starts with) is a point to resume from.
    if (ev.id !== undefined && /^\d+$/.test(ev.id)) this.lastEventId = ev.id;
    if (ev.event === 'lagged') {
      // The server dropped events for this slow stream: reconnect and
      // resume from the last id instead of reloading everything.
      this.attempt = 0;
      this.controller?.abort();
      return;
    }
    if (ev.event !== 'session') return;
    let session;
    try {
      session = JSON.parse(ev.data);
    } catch {
      console.warn('live feed: ignoring an event that is not JSON');
      return;
    }
    if (session && typeof session === 'object' && typeof session.local_id === 'string') this.onSession(session);
  }

  /** The server sends keep-alive comments; silence this long means a dead link. */
  armIdle() {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.controller?.abort(), this.idleTimeoutMs);
  }

  scheduleRetry() {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt++);
    this.onState(navigator.onLine === false ? 'offline' : 'waiting', { retryInMs: delay });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}
