// Sessions: who holds what. The list is live; a session's page shows the keys it locks.
import { html, useMemo } from '../vendor/preact-htm.js';
import { kvHref, viewHref } from './paths.js';
import { Breadcrumbs, ErrorNote, formatTime, Loading, useWatch } from './ui.js';

export function SessionsView({ route }) {
  return route.name ? html`<${SessionDetail} id=${route.name} />` : html`<${SessionList} />`;
}

function SessionList() {
  const w = useWatch('/v1/session/list', {});
  const sessions = w.data || [];
  return html`<section aria-labelledby="sess-title">
    <h1 id="sess-title">Sessions</h1>
    <${ErrorNote} error=${w.error} />
    ${w.loading ? html`<${Loading} what="sessions" />` : sessions.length === 0 ? html`<p class="empty">No sessions.</p>` : html`
    <table class="grid"><caption class="sr-only">Sessions</caption>
      <thead><tr><th scope="col">ID</th><th scope="col">Name</th><th scope="col">Node</th><th scope="col">Behavior</th><th scope="col">TTL</th><th scope="col">Lock delay</th></tr></thead>
      <tbody>${sessions.map((s) => html`<tr data-session=${s.ID}>
        <th scope="row"><a class="mono" href=${viewHref('sessions', s.ID)}>${s.ID}</a></th><td data-label="Name">${s.Name}</td>
        <td data-label="Node"><a href=${viewHref('nodes', s.Node)}>${s.Node}</a></td><td data-label="Behavior">${s.Behavior}</td>
        <td data-label="TTL">${s.TTL || '–'}</td><td data-label="Lock delay">${formatTime(s.LockDelay)}</td></tr>`)}</tbody></table>`}
  </section>`;
}

function SessionDetail({ id }) {
  const info = useWatch('/v1/session/info/' + encodeURIComponent(id), {});
  // The held keys: the KV store listed recursively and filtered on Session. This costs a full
  // listing, so it is done only on this page.
  const kv = useWatch('/v1/kv/', { recurse: true });
  const s = info.data && info.data[0];
  const held = useMemo(() => (kv.data || []).filter((e) => e.Session === id), [kv.data, id]);
  return html`<section aria-labelledby="sess-detail">
    <${Breadcrumbs} crumbs=${[{ label: 'Sessions', href: viewHref('sessions') }, { label: id, current: true }]} />
    <h1 id="sess-detail" class="mono">${id}</h1>
    <${ErrorNote} error=${info.error || kv.error} />
    ${info.loading ? html`<${Loading} what="the session" />` : !s ? html`<p class="empty">This session does not exist (it expired or was destroyed).</p>` : html`
      <dl class="meta">
        <div><dt>Name</dt><dd>${s.Name || '–'}</dd></div>
        <div><dt>Node</dt><dd><a href=${viewHref('nodes', s.Node)}>${s.Node}</a></dd></div>
        <div><dt>Behavior</dt><dd>${s.Behavior}</dd></div>
        <div><dt>TTL</dt><dd>${s.TTL || '–'}</dd></div>
        <div><dt>Lock delay</dt><dd>${formatTime(s.LockDelay)}</dd></div>
        <div><dt>Checks</dt><dd>${(s.NodeChecks || s.Checks || []).join(', ') || '–'}</dd></div>
        <div><dt>CreateIndex</dt><dd>${s.CreateIndex}</dd></div>
      </dl>
      <h2>Locks held</h2>
      ${held.length === 0 ? html`<p class="muted">This session holds no keys.</p>` : html`<ul class="plain">${held.map((e) =>
        html`<li><a class="keyname" href=${kvHref(e.Key)}>${e.Key}</a></li>`)}</ul>`}`}
  </section>`;
}
