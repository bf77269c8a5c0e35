// Services (with their instances and checks) and nodes (with their health and services). Lists
// are live: each watches its catalog or health endpoint with blocking queries.
import { html, useEffect, useMemo, useState } from '../vendor/preact-htm.js';
import { api } from './api.js';
import { viewHref } from './paths.js';
import {
  Breadcrumbs, countStatuses, ErrorNote, Filter, HealthSummary, Loading, Status, useWatch, worstStatus,
} from './ui.js';

const enc = encodeURIComponent;

// Checks grouped by service name ("" = node checks) and by node, from /v1/health/state/any.
function groupChecks(checks) {
  const byService = new Map();
  const byNode = new Map();
  for (const c of checks || []) {
    if (c.ServiceName) {
      if (!byService.has(c.ServiceName)) byService.set(c.ServiceName, []);
      byService.get(c.ServiceName).push(c);
    }
    if (!byNode.has(c.Node)) byNode.set(c.Node, []);
    byNode.get(c.Node).push(c);
  }
  return { byService, byNode };
}

export function ServicesView({ route }) {
  return route.name ? html`<${ServiceDetail} name=${route.name} />` : html`<${ServiceList} />`;
}

function ServiceList() {
  const services = useWatch('/v1/catalog/services', {});
  const checks = useWatch('/v1/health/state/any', {});
  const [filter, setFilter] = useState('');
  const { byService } = useMemo(() => groupChecks(checks.data), [checks.data]);
  const counts = useInstanceCounts(services);
  const rows = useMemo(() => {
    const f = filter.toLowerCase();
    return Object.entries(services.data || {})
      .map(([name, tags]) => ({ name, tags: tags || [], checks: byService.get(name) || [] }))
      .filter((s) => !f || s.name.toLowerCase().includes(f) || s.tags.some((t) => t.toLowerCase().includes(f)))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }, [services.data, byService, filter]);
  return html`<section aria-labelledby="svc-title">
    <h1 id="svc-title">Services</h1>
    <${ErrorNote} error=${services.error || checks.error} />
    <${Filter} id="svc-filter" label="Search by name or tag" value=${filter} onInput=${setFilter} />
    ${services.loading ? html`<${Loading} what="services" />` : rows.length === 0 ? html`<p class="empty">No services match.</p>` : html`
    <table class="grid"><caption class="sr-only">Services</caption>
      <thead><tr><th scope="col">Service</th><th scope="col">Health</th><th scope="col">Instances</th><th scope="col">Tags</th></tr></thead>
      <tbody>${rows.map((s) => html`<tr data-service=${s.name}>
        <th scope="row"><a href=${viewHref('services', s.name)}>${s.name}</a></th>
        <td data-label="Health"><${HealthSummary} counts=${countStatuses(s.checks)} /></td>
        <td data-label="Instances">${counts[s.name] ?? '…'}</td>
        <td data-label="Tags">${s.tags.map((t) => html`<span class="tag">${t}</span> `)}</td></tr>`)}</tbody>
    </table>`}
  </section>`;
}

// Instance counts by service name: one /v1/catalog/service/<name> read per service, again
// whenever the services list changes (its index moves when instances come and go).
function useInstanceCounts(services) {
  const [counts, setCounts] = useState({});
  useEffect(() => {
    if (!services.data) return undefined;
    const ctl = new AbortController();
    Promise.all(Object.keys(services.data).map(async (name) => {
      const r = await api('/v1/catalog/service/' + enc(name), { signal: ctl.signal, allow404: true });
      return [name, (r.body || []).length];
    })).then((pairs) => setCounts(Object.fromEntries(pairs))).catch(() => {});
    return () => ctl.abort();
  }, [services.index]);
  return counts;
}

function ServiceDetail({ name }) {
  const w = useWatch('/v1/health/service/' + enc(name), {});
  const instances = w.data || [];
  return html`<section aria-labelledby="svc-detail">
    <${Breadcrumbs} crumbs=${[{ label: 'Services', href: viewHref('services') }, { label: name, current: true }]} />
    <h1 id="svc-detail">${name}</h1>
    <${ErrorNote} error=${w.error} />
    ${w.loading ? html`<${Loading} what="instances" />` : instances.length === 0
      ? html`<p class="empty">No instances of this service are registered.</p>` : html`
      <p class="muted">${instances.length} ${instances.length === 1 ? 'instance' : 'instances'}</p>
      <ul class="cards">${instances.map((i) => html`<li class="card" data-instance=${i.Service.ID}>
        <h2><span>${i.Service.ID}</span> <${Status} status=${worstStatus(i.Checks)} /></h2>
        <dl class="meta">
          <div><dt>Node</dt><dd><a href=${viewHref('nodes', i.Node.Node)}>${i.Node.Node}</a></dd></div>
          <div><dt>Address</dt><dd>${(i.Service.Address || i.Node.Address) + (i.Service.Port ? ':' + i.Service.Port : '')}</dd></div>
          <div><dt>Tags</dt><dd>${(i.Service.Tags || []).map((t) => html`<span class="tag">${t}</span> `)}</dd></div>
        </dl>
        <${ChecksTable} checks=${i.Checks} /></li>`)}</ul>`}
  </section>`;
}

export function ChecksTable({ checks }) {
  if (!checks || checks.length === 0) return html`<p class="muted">No checks.</p>`;
  return html`<table class="grid checks"><caption class="sr-only">Checks</caption>
    <thead><tr><th scope="col">Check</th><th scope="col">Status</th><th scope="col">Output</th></tr></thead>
    <tbody>${checks.map((c) => html`<tr data-check=${c.CheckID}>
      <th scope="row">${c.Name}<div class="muted small">${c.CheckID}${c.ServiceName ? '' : ' (node)'}</div></th>
      <td data-label="Status"><${Status} status=${c.Status} /></td>
      <td data-label="Output"><pre class="output">${c.Output || ''}</pre></td></tr>`)}</tbody></table>`;
}

export function NodesView({ route }) {
  return route.name ? html`<${NodeDetail} name=${route.name} />` : html`<${NodeList} />`;
}

function NodeList() {
  const nodes = useWatch('/v1/catalog/nodes', {});
  const checks = useWatch('/v1/health/state/any', {});
  const [filter, setFilter] = useState('');
  const { byNode } = useMemo(() => groupChecks(checks.data), [checks.data]);
  const f = filter.toLowerCase();
  const rows = (nodes.data || []).filter((n) => !f || n.Node.toLowerCase().includes(f) || n.Address.includes(f));
  return html`<section aria-labelledby="nodes-title">
    <h1 id="nodes-title">Nodes</h1>
    <${ErrorNote} error=${nodes.error || checks.error} />
    <${Filter} id="node-filter" label="Search by name or address" value=${filter} onInput=${setFilter} />
    ${nodes.loading ? html`<${Loading} what="nodes" />` : html`
    <table class="grid"><caption class="sr-only">Nodes</caption>
      <thead><tr><th scope="col">Node</th><th scope="col">Address</th><th scope="col">Health</th></tr></thead>
      <tbody>${rows.map((n) => html`<tr data-node=${n.Node}>
        <th scope="row"><a href=${viewHref('nodes', n.Node)}>${n.Node}</a></th><td data-label="Address">${n.Address}</td>
        <td data-label="Health"><${HealthSummary} counts=${countStatuses(byNode.get(n.Node) || [])} /></td></tr>`)}</tbody>
    </table>`}
  </section>`;
}

function NodeDetail({ name }) {
  const checks = useWatch('/v1/health/node/' + enc(name), {});
  const services = useWatch('/v1/catalog/node-services/' + enc(name), {});
  const node = services.data && services.data.Node;
  const svcs = (services.data && services.data.Services) || [];
  return html`<section aria-labelledby="node-detail">
    <${Breadcrumbs} crumbs=${[{ label: 'Nodes', href: viewHref('nodes') }, { label: name, current: true }]} />
    <h1 id="node-detail">${name} ${checks.data && html`<${Status} status=${worstStatus(checks.data)} />`}</h1>
    <${ErrorNote} error=${checks.error || services.error} />
    ${node && html`<dl class="meta"><div><dt>Address</dt><dd>${node.Address}</dd></div>
      <div><dt>Datacenter</dt><dd>${node.Datacenter}</dd></div><div><dt>ID</dt><dd>${node.ID}</dd></div></dl>`}
    ${!services.loading && services.status === 404 && html`<p class="empty">No such node.</p>`}
    <h2>Services</h2>
    ${svcs.length === 0 ? html`<p class="muted">No services on this node.</p>` : html`<ul class="plain">${svcs.map((s) =>
      html`<li><a href=${viewHref('services', s.Service)}>${s.Service}</a> <span class="muted">${s.ID}${s.Port ? ' :' + s.Port : ''}</span></li>`)}</ul>`}
    <h2>Checks</h2>
    <${ChecksTable} checks=${checks.data} />
  </section>`;
}
