// api.js — talks to the server's v1 API with the signed-in token as a Bearer
// header, and turns every non-2xx answer into a typed ApiError. The token is
// kept in sessionStorage only: never in a URL, a cookie or a log line.

const TOKEN_KEY = 'worktime.token';

/** A failed API call: `status` 0 means the server could not be reached. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }

  /** True when the token is wrong or was revoked (sign in again). */
  get unauthorized() {
    return this.status === 401;
  }
}

/** The token this tab signed in with, if any. */
export function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** Keeps `token` for this tab only (sessionStorage dies with the tab). */
export function storeToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** Forgets the token. */
export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Reads are retried this often when the server says 429 (rate limited). */
const MAX_RATE_LIMIT_RETRIES = 2;
/** Longest Retry-After a read waits for before giving up. */
const MAX_RETRY_AFTER_S = 10;

/**
 * Calls the API. `query` values that are empty are left out. Resolves to the
 * parsed JSON body (or null for 204); rejects with an ApiError. A GET that
 * is rate limited waits for `Retry-After` and tries again (twice at most).
 */
export async function call(token, method, path, options = {}) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await callOnce(token, method, path, options);
    } catch (e) {
      const wait = e instanceof ApiError && e.status === 429 ? e.retryAfter ?? 1 : null;
      if (method !== 'GET' || wait === null || wait > MAX_RETRY_AFTER_S || attempt >= MAX_RATE_LIMIT_RETRIES) throw e;
      await new Promise((r) => setTimeout(r, wait * 1000));
    }
  }
}

async function callOnce(token, method, path, { query, body, signal } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The server could not be reached.');
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      if (res.ok) throw new ApiError(res.status, 'bad_response', 'The server sent a reply that is not JSON.');
    }
  }
  if (!res.ok) throw errorFrom(res, json);
  return json;
}

/** The ApiError for a non-2xx answer, from its `{"error": {...}}` body if any. */
export function errorFrom(res, json) {
  const e = json && typeof json === 'object' && json.error && typeof json.error === 'object' ? json.error : {};
  const code = typeof e.code === 'string' ? e.code : `http_${res.status}`;
  let message = typeof e.message === 'string' && e.message ? e.message : `The server answered ${res.status} ${res.statusText}.`;
  let retryAfter;
  if (res.status === 429) {
    const after = Number(res.headers.get('Retry-After'));
    if (Number.isFinite(after) && after >= 0) {
      retryAfter = after;
      message = `Too many requests; try again in ${after} s.`;
    }
  }
  const error = new ApiError(res.status, code, message, typeof e.field === 'string' ? e.field : undefined);
  error.retryAfter = retryAfter;
  return error;
}

/**
 * Fetches every page of `GET /api/v1/sessions` for `query`, following
 * `next` cursors, up to `max` sessions.
 */
export async function allSessions(token, query, { max = 100_000, signal } = {}) {
  const out = [];
  let cursor;
  do {
    const page = await call(token, 'GET', '/api/v1/sessions', {
      query: { ...query, limit: 500, cursor },
      signal,
    });
    out.push(...(page.sessions ?? []));
    cursor = page.next;
  } while (cursor && out.length < max);
  return out;
}
