// Small shared components and hooks. Everything user- or agent-supplied is rendered as a text
// child (htm/Preact create text nodes for them); the UI never parses strings as HTML.
import { html, useEffect, useRef, useState } from '../vendor/preact-htm.js';
import { watch } from './api.js';

// Navigation without a page load. Links are plain <a href> (so they work with the keyboard, in
// new tabs and after a reload); a document-level click handler turns same-app clicks into
// history.pushState (app.js).
export function navigate(href, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  window.dispatchEvent(new Event('cairn:navigate'));
}

// Live data from a blocking query: {data, index, error, loading}. Restarts when `key` changes.
export function useWatch(path, query, key = path + JSON.stringify(query), opts = {}) {
  const [state, setState] = useState({ data: undefined, index: 0, error: null, loading: true });
  useEffect(() => {
    setState({ data: undefined, index: 0, error: null, loading: true });
    return watch(
      path,
      query,
      (r) => setState({ data: r.body, status: r.status, index: r.index, error: null, loading: false }),
      (e) => setState((s) => ({ ...s, error: e, loading: false })),
      opts,
    );
  }, [key]);
  return state;
}

// Polls `load` every `ms` (for endpoints without blocking queries, e.g. autopilot health).
export function usePoll(load, ms, key = '') {
  const [state, setState] = useState({ data: undefined, error: null });
  useEffect(() => {
    let stopped = false;
    let timer;
    const tick = async () => {
      try {
        const data = await load();
        if (!stopped) setState({ data, error: null });
      } catch (e) {
        if (!stopped) setState((s) => ({ ...s, error: e }));
      }
      if (!stopped) timer = setTimeout(tick, ms);
    };
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [key]);
  return state;
}

export function ErrorNote({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error.message || String(error)}</p>`;
}

export function Loading({ what }) {
  return html`<p class="muted" role="status">Loading ${what}…</p>`;
}

// A health status as a labelled badge (colour is never the only signal: the word is there).
export function Status({ status }) {
  const s = status || 'unknown';
  return html`<span class=${'badge status-' + s}>${s}</span>`;
}

// Counts of passing/warning/critical as badges.
export function HealthSummary({ counts }) {
  const parts = [];
  for (const s of ['passing', 'warning', 'critical']) {
    if (counts[s]) parts.push(html`<span class=${'badge status-' + s} title=${`${counts[s]} ${s}`}>${counts[s]} ${s}</span> `);
  }
  if (!parts.length) return html`<span class="muted">no checks</span>`;
  return parts;
}

export function worstStatus(checks) {
  let worst = 'passing';
  for (const c of checks) {
    if (c.Status === 'critical') return 'critical';
    if (c.Status === 'warning') worst = 'warning';
  }
  return worst;
}

export function countStatuses(checks) {
  const counts = { passing: 0, warning: 0, critical: 0 };
  for (const c of checks) counts[c.Status] = (counts[c.Status] || 0) + 1;
  return counts;
}

// A filter box with a label.
export function Filter({ value, onInput, label, id }) {
  return html`<div class="filter">
    <label for=${id}>${label}</label>
    <input id=${id} type="search" value=${value} onInput=${(e) => onInput(e.target.value)} autocomplete="off" />
  </div>`;
}

// A virtualised list: renders only the rows in view (plus a margin), so 10,000 rows cost as much
// as 40. Rows have a fixed height (CSS var --row); `renderRow(item, i)` returns the row content.
export function VirtualList({ items, renderRow, rowHeight = 40, label, height = 480 }) {
  const ref = useRef(null);
  const [top, setTop] = useState(0);
  const [viewport, setViewport] = useState(height);
  useEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const measure = () => setViewport(el.clientHeight || height);
    measure();
    window.addEventListener('resize', measure);
    return () => window.removeEventListener('resize', measure);
  }, []);
  const overscan = 10;
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((top + viewport) / rowHeight) + overscan);
  const rows = [];
  for (let i = first; i < last; i++) {
    rows.push(html`<li class="vrow" role="listitem" aria-setsize=${items.length} aria-posinset=${i + 1}
      style=${{ top: i * rowHeight + 'px', height: rowHeight + 'px' }}>${renderRow(items[i], i)}</li>`);
  }
  // Focus moving by Tab to a row near the edge scrolls it into view, which renders the next rows.
  const onFocus = (e) => {
    const li = e.target.closest && e.target.closest('li');
    if (li && li.scrollIntoView) li.scrollIntoView({ block: 'nearest' });
  };
  const boxHeight = Math.max(rowHeight, items.length * rowHeight) + 2;
  return html`<div class="vlist" ref=${ref} tabindex="-1" style=${{ height: boxHeight + 'px' }} onScroll=${(e) => setTop(e.target.scrollTop)} onFocusin=${onFocus}>
    <ul role="list" aria-label=${label} class="vlist-inner" style=${{ height: items.length * rowHeight + 'px' }}>${rows}</ul>
  </div>`;
}

export function Breadcrumbs({ crumbs }) {
  return html`<nav aria-label="Breadcrumb" class="crumbs"><ol>
    ${crumbs.map((c, i) => html`<li>${i === crumbs.length - 1 && c.current
      ? html`<span aria-current="page">${c.label}</span>`
      : html`<a href=${c.href}>${c.label}</a>`}</li>`)}
  </ol></nav>`;
}

export function formatTime(ns) {
  if (!ns) return '0s';
  const s = ns / 1e9;
  return s >= 1 ? `${s}s` : `${ns / 1e6}ms`;
}

// A ref that focuses its element once, when it first appears (confirmations, conflict choices).
export function useAutoFocus() {
  const ref = useRef(null);
  useEffect(() => {
    if (ref.current) ref.current.focus();
  }, []);
  return ref;
}

export function AutoFocusButton({ children, ...props }) {
  const ref = useAutoFocus();
  return html`<button ref=${ref} ...${props}>${children}</button>`;
}
