// The agent's HTTP API as the UI uses it: one fetch wrapper that adds the ACL token and turns
// failures into ApiError with a kind the UI can explain, and `watch`, a blocking-query loop.

const TOKEN_KEY = 'cairn-ui-token';

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: the token lasts only until the page is closed.
  }
}

// kind: 'unreachable' | 'forbidden' | 'no-leader' | 'not-found' | 'http'
export class ApiError extends Error {
  constructor(kind, status, message) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
}

// Listeners told about every failure and every success, for the global status banner.
const listeners = new Set();
export function onApiStatus(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
function report(error) {
  for (const fn of listeners) fn(error);
}

// Calls the API. `path` starts with /v1/; query is an object (true means a bare flag such as
// ?keys). Resolves to {status, index, body} where body is parsed JSON (or text when `text`).
export async function api(path, { method = 'GET', query = {}, body, text = false, signal, allow404 = false } = {}) {
  const qs = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== null && v !== false)
    .map(([k, v]) => (v === true ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
    .join('&');
  const url = path + (qs ? '?' + qs : '');
  const headers = {};
  const token = getToken();
  if (token) headers['X-Consul-Token'] = token;
  let res;
  try {
    res = await fetch(url, { method, headers, body, signal, cache: 'no-store' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    const err = new ApiError('unreachable', 0, 'The agent is unreachable: ' + e.message);
    report(err);
    throw err;
  }
  const index = Number(res.headers.get('X-Consul-Index') || 0);
  if (res.status === 404 && allow404) {
    report(null);
    return { status: 404, index, body: null };
  }
  if (!res.ok) {
    const msg = (await res.text()).trim() || res.statusText;
    let kind = 'http';
    if (res.status === 403) kind = 'forbidden';
    else if (/no (cluster )?leader/i.test(msg)) kind = 'no-leader';
    else if (res.status === 404) kind = 'not-found';
    const err = new ApiError(kind, res.status, `${res.status}: ${msg}`);
    if (kind !== 'not-found' && kind !== 'http') report(err);
    throw err;
  }
  report(null);
  const raw = await res.text();
  return { status: res.status, index, body: text ? raw : raw === '' ? null : JSON.parse(raw) };
}

// Runs a blocking query in a loop: calls onData(result) with every answer whose index moved,
// then waits for the next change with ?index=<last>&wait=<wait>. Errors go to onError and are
// retried with backoff. Returns a stop function (aborts the request in flight).
export function watch(path, query, onData, onError, { wait = '5m', allow404 = true } = {}) {
  const ctl = new AbortController();
  let index = 0;
  let backoff = 500;
  (async () => {
    while (!ctl.signal.aborted) {
      try {
        const q = { ...query };
        if (index > 0) Object.assign(q, { index, wait });
        const r = await api(path, { query: q, signal: ctl.signal, allow404 });
        backoff = 500;
        // An index that went backwards (e.g. a restore) restarts from scratch, as Consul advises.
        const moved = r.index !== index || index === 0;
        index = r.index > 0 ? r.index : 0;
        if (moved && !ctl.signal.aborted) onData(r);
        if (index === 0) await sleep(1000, ctl.signal);
      } catch (e) {
        if (ctl.signal.aborted || e.name === 'AbortError') return;
        if (onError) onError(e);
        await sleep(backoff, ctl.signal);
        backoff = Math.min(backoff * 2, 10000);
        index = 0;
      }
    }
  })();
  return () => ctl.abort();
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}
