// A fault-injecting HTTP proxy that sits between the extension and the real
// worktime-server in end-to-end tests. It forwards by default and, on demand,
// misbehaves the ways a real network and server do: 5xx, 429 with
// Retry-After, a rejected batch item (or every item), 401, a page of its
// own (an HTML 404 from a reverse proxy, a redirect; with or without CORS
// headers), a hung request, a dropped connection, and the duplicate trap (forward, let the server apply it, then
// drop the response). Every request is recorded so tests can assert on
// traffic (for example: an idle extension sends nothing).
//
// Used in-process: `const proxy = await startFaultProxy({ target })`.

import http from 'node:http';

/**
 * @typedef {(
 *   | { kind: 'status', status: number, body?: object }
 *   | { kind: 'retry-after', seconds: number }
 *   | { kind: 'reject-item', localId: string, message?: string }
 *   | { kind: 'reject-all', message?: string }
 *   | { kind: 'page', status: number, html?: string, cors?: boolean, headers?: object }
 *   | { kind: 'hang' }
 *   | { kind: 'drop' }
 *   | { kind: 'apply-then-drop' }
 *   | { kind: 'apply-then-hang' }
 * )} Fault
 */

/** Starts the proxy on 127.0.0.1 with a free port, forwarding to `target`. */
export async function startFaultProxy({ target }) {
  const upstream = new URL(target);
  /** @type {{ fault: Fault, match: (req) => boolean, remaining: number }[]} */
  let rules = [];
  const requests = [];
  const hung = new Set();

  const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    const record = {
      at: Date.now(),
      method: req.method,
      path: req.url,
      origin: req.headers.origin ?? null,
      // What the client sent (JSON text; never headers, so never the token).
      body: body.length > 0 ? body.toString('utf8') : null,
      fault: null,
      status: null,
    };
    requests.push(record);

    // Preflights always pass through: the browser must reach the real CORS answer.
    const rule = req.method === 'OPTIONS' ? null : takeRule(req, body);
    const fault = rule?.fault ?? null;
    record.fault = fault?.kind ?? null;

    const cors = corsHeaders(req);
    switch (fault?.kind) {
      case 'status': {
        record.status = fault.status;
        const payload = fault.body ?? { error: { code: 'injected', message: `injected ${fault.status}` } };
        send(res, fault.status, payload, cors);
        return;
      }
      case 'retry-after':
        record.status = 429;
        send(res, 429, { error: { code: 'rate_limited', message: 'slow down' } }, {
          ...cors,
          'retry-after': String(fault.seconds),
        });
        return;
      case 'reject-all': {
        // The server's verdict on every item of the batch (nothing forwarded).
        record.status = 200;
        send(res, 200, { results: rejectAll(body, fault) }, cors);
        return;
      }
      case 'page': {
        // What a reverse proxy in front of the server answers on its own:
        // an HTML page, not the API's JSON; CORS headers only if it copies
        // them (most do not).
        record.status = fault.status;
        const html = fault.html ?? `<!DOCTYPE html>\n<html><head><title>${fault.status}</title></head>` +
          `<body><h1>${fault.status}</h1><hr><address>fault-proxy</address></body></html>\n`;
        res.writeHead(fault.status, {
          'content-type': 'text/html; charset=utf-8',
          ...(fault.cors === false ? {} : cors),
          ...(fault.headers ?? {}),
        });
        res.end(html);
        return;
      }
      case 'hang':
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      case 'drop':
        req.socket.destroy();
        return;
      default:
        break;
    }

    // A rejected item never reaches the server: it is cut out of the batch
    // and a per-item rejection is put in its place in the answer.
    let sent = body;
    let cut = null;
    if (fault?.kind === 'reject-item') {
      cut = cutItem(body, fault.localId);
      if (cut) sent = cut.body;
    }

    let answer;
    try {
      answer = await forward(upstream, req, sent);
    } catch (err) {
      record.status = 502;
      send(res, 502, { error: { code: 'bad_gateway', message: String(err) } }, cors);
      return;
    }
    record.status = answer.status;

    if (fault?.kind === 'apply-then-hang') {
      // The server has applied the request; its answer is held (until heal()
      // or the client goes away), so the request stays in flight.
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    if (fault?.kind === 'apply-then-drop') {
      // The server has applied the request; the client never learns it.
      req.socket.destroy();
      return;
    }
    if (cut && answer.status === 200) {
      answer.body = spliceRejection(answer.body, cut.index, fault);
      delete answer.headers['content-length'];
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });

  /** Finds the first matching rule and consumes one of its uses. */
  function takeRule(req, body) {
    const index = rules.findIndex((r) => r.match(req, body));
    if (index < 0) return null;
    const rule = rules[index];
    rule.remaining -= 1;
    if (rule.remaining <= 0) rules.splice(index, 1);
    return rule;
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();

  return {
    url: `http://127.0.0.1:${port}`,
    /** Every request seen, in order: `{ at, method, path, origin, body,
     * fault, status }` (never the Authorization header). */
    requests,
    /**
     * Adds a fault for the next `times` matching requests (default: every
     * one until cleared). `path` narrows it to paths starting with it.
     */
    inject(fault, { times = Infinity, path = null, method = null } = {}) {
      rules.push({
        fault,
        remaining: times,
        match: (req, body) =>
          (!path || req.url.startsWith(path)) &&
          (!method || req.method === method) &&
          // A rejection only applies to a request that carries that item.
          (fault.kind !== 'reject-item' || body.includes(`"${fault.localId}"`)),
      });
    },
    /** Removes every fault and releases hung requests (their sockets close). */
    heal() {
      rules = [];
      for (const res of hung) res.socket?.destroy();
      hung.clear();
    },
    /** Requests seen since `since` (ms), preflights excluded unless asked. */
    seenSince(since, { preflights = false } = {}) {
      return requests.filter((r) => r.at >= since && (preflights || r.method !== 'OPTIONS'));
    },
    async close() {
      this.heal();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function forward(upstream, req, body) {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    const out = http.request(
      { hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: { ...res.headers }, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    out.on('error', reject);
    out.end(body);
  });
}

/** Removes the session `localId` from a batch body; null if it is not there. */
function cutItem(raw, localId) {
  let parsed;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    return null;
  }
  const index = Array.isArray(parsed?.sessions) ? parsed.sessions.findIndex((s) => s?.local_id === localId) : -1;
  if (index < 0) return null;
  parsed.sessions.splice(index, 1);
  return { index, body: Buffer.from(JSON.stringify(parsed)) };
}

/** A rejection of every session in the batch `raw`, in its order. */
function rejectAll(raw, fault) {
  let parsed;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    parsed = null;
  }
  const sessions = Array.isArray(parsed?.sessions) ? parsed.sessions : [];
  return sessions.map((s) => ({
    local_id: String(s?.local_id ?? ''),
    status: 'rejected',
    error: { code: 'invalid_field', message: fault.message ?? 'rejected by the fault proxy', field: 'pr_number' },
  }));
}

/** Puts a per-item rejection for the cut item back at its place in the answer. */
function spliceRejection(raw, index, fault) {
  let parsed;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    return raw;
  }
  if (!Array.isArray(parsed?.results)) return raw;
  parsed.results.splice(index, 0, {
    local_id: fault.localId,
    status: 'rejected',
    error: { code: 'invalid_field', message: fault.message ?? 'rejected by the fault proxy', field: 'pr_number' },
  });
  return Buffer.from(JSON.stringify(parsed));
}

function corsHeaders(req) {
  const origin = req.headers.origin;
  if (!origin) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': 'retry-after, date',
    vary: 'origin',
  };
}

function send(res, status, payload, headers) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(payload));
}
