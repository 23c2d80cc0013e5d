// events.js — the server's live event stream (`GET /api/v1/events`, SSE) read
// from Node, every event stamped with `performance.now()` the moment its
// bytes arrive. The bench's "arrived on the server" clock: the server sends
// an event right after it committed the upsert, so arrival here is commit
// time plus one loopback hop, with no polling interval in between.

/**
 * Opens the stream with `token` (the extension user's own). Returns
 * `{ sessions, lagged, size, waitFor(match, { from, timeoutMs }), close() }`;
 * `sessions` holds `{ at, session }` in arrival order.
 */
export async function openEventStream(serverUrl, token) {
  const controller = new AbortController();
  const res = await fetch(`${serverUrl}/api/v1/events`, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: controller.signal,
  });
  if (!res.ok) throw new Error(`GET /api/v1/events: ${res.status} ${await res.text()}`);

  const sessions = [];
  const waiters = new Set();
  let lagged = 0;
  let failure = null;
  let ended = false;
  const notify = () => {
    for (const wake of waiters) wake();
  };

  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      const at = performance.now();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let name = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue; // keep-alive comment
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') name = text;
          else if (field === 'data') data.push(text);
        }
        if (name === 'session') sessions.push({ at, session: JSON.parse(data.join('\n')) });
        else if (name === 'lagged') lagged += Number(data.join('')) || 1;
      }
      notify();
    }
  })()
    .catch((err) => {
      if (!controller.signal.aborted) failure = err;
    })
    .finally(() => {
      ended = true;
      notify();
    });

  return {
    sessions,
    /** Events the server said this stream missed (it fell behind). */
    get lagged() {
      return lagged;
    },
    /** How many session events arrived so far (an index for `from`). */
    get size() {
      return sessions.length;
    },
    /**
     * The first event at index `from` or later whose session satisfies
     * `match`; rejects after `timeoutMs`, or when the stream ends or lags.
     */
    waitFor(what, match, { from = 0, timeoutMs = 15000 } = {}) {
      return new Promise((resolve, reject) => {
        let next = from;
        const check = () => {
          for (; next < sessions.length; next++) {
            if (match(sessions[next].session)) return finish(null, sessions[next]);
          }
          if (lagged) return finish(new Error(`the event stream fell behind (${lagged} missed) waiting for ${what}`));
          if (failure || ended) return finish(new Error(`the event stream ended (${failure ?? 'closed'}) waiting for ${what}`));
          return undefined;
        };
        const timer = setTimeout(
          () => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what} on the event stream`)),
          timeoutMs,
        );
        const finish = (err, value) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolve(value);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      controller.abort();
      await pump;
    },
  };
}
