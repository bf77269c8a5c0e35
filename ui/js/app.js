// The Cairn web UI: the shell (navigation, connection status, ACL token) and the router. Views
// live in kv.js, catalog.js, sessions.js and cluster.js. No build step: plain ES modules and one
// vendored file (Preact + hooks + htm, docs/ui.md).
import { html, render, useEffect, useState } from '../vendor/preact-htm.js';
import { getToken, onApiStatus, setToken } from './api.js';
import { parseRoute, UI_ROOT } from './paths.js';
import { KvView } from './kv.js';
import { NodesView, ServicesView } from './catalog.js';
import { SessionsView } from './sessions.js';
import { ClusterView } from './cluster.js';
import { navigate } from './ui.js';

const SECTIONS = [
  ['kv', 'Key / Value'],
  ['services', 'Services'],
  ['nodes', 'Nodes'],
  ['sessions', 'Sessions'],
  ['cluster', 'Cluster'],
  ['settings', 'Token'],
];

function currentRoute() {
  return parseRoute(location.pathname, location.search);
}

// Same-app link clicks become history navigation (no reload); modified clicks keep their meaning.
function interceptLinks() {
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest && e.target.closest('a[href]');
    if (!a || a.target || a.origin !== location.origin || !a.pathname.startsWith(UI_ROOT)) return;
    e.preventDefault();
    navigate(a.pathname + a.search);
  });
}

function App() {
  const [route, setRoute] = useState(currentRoute());
  const [problem, setProblem] = useState(null);
  useEffect(() => {
    const update = () => {
      setRoute(currentRoute());
      // Move focus to the new page's heading, as a page load would for a screen reader.
      requestAnimationFrame(() => {
        const h = document.querySelector('main h1');
        if (h) {
          h.setAttribute('tabindex', '-1');
          h.focus({ preventScroll: true });
        }
      });
    };
    window.addEventListener('popstate', update);
    window.addEventListener('cairn:navigate', update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener('cairn:navigate', update);
    };
  }, []);
  useEffect(() => onApiStatus((err) => setProblem(err)), []);
  useEffect(() => {
    const label = SECTIONS.find(([v]) => v === route.view);
    document.title = (label ? label[1] + ' · ' : '') + 'Cairn';
  }, [route.view]);
  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href=${UI_ROOT + 'kv/'}>Cairn</a>
      <nav aria-label="Main"><ul>${SECTIONS.map(([view, label]) => html`<li>
        <a href=${UI_ROOT + (view === 'kv' ? 'kv/' : view)} aria-current=${route.view === view ? 'page' : undefined}>${label}</a></li>`)}
      </ul></nav>
    </header>
    <${Banner} problem=${problem} />
    <main id="main">${viewFor(route)}</main>`;
}

function viewFor(route) {
  switch (route.view) {
    case 'kv': return html`<${KvView} route=${route} />`;
    case 'services': return html`<${ServicesView} route=${route} />`;
    case 'nodes': return html`<${NodesView} route=${route} />`;
    case 'sessions': return html`<${SessionsView} route=${route} />`;
    case 'cluster': return html`<${ClusterView} />`;
    case 'settings': return html`<${Settings} />`;
    default: return html`<section><h1>Not found</h1><p>Nothing lives at <code>${route.path}</code>.</p>
      <a href=${UI_ROOT + 'kv/'}>Go to Key / Value</a></section>`;
  }
}

// The connection problem, if any, explained; a 403 offers the token field right there.
function Banner({ problem }) {
  if (!problem) return null;
  let text;
  if (problem.kind === 'unreachable') text = 'Cannot reach the Cairn agent. Is it running? Retrying…';
  else if (problem.kind === 'no-leader') text = 'The cluster has no leader right now, so reads and writes cannot be served. Retrying…';
  else if (problem.kind === 'forbidden') text = 'Access denied (403): the ACL token is missing or lacks permission.';
  else text = problem.message;
  return html`<div class="banner" role="alert" data-kind=${problem.kind}>
    <p>${text}</p>${problem.kind === 'forbidden' && html`<${TokenForm} />`}</div>`;
}

function TokenForm() {
  const [token, setValue] = useState(getToken());
  const [saved, setSaved] = useState(false);
  const submit = (e) => {
    e.preventDefault();
    setToken(token.trim());
    setSaved(true);
  };
  return html`<form class="token" onSubmit=${submit}>
    <label for="acl-token">ACL token</label>
    <input id="acl-token" type="password" autocomplete="off" value=${token} onInput=${(e) => { setValue(e.target.value); setSaved(false); }}
      aria-describedby="acl-token-hint" />
    <button type="submit">Save token</button>
    <p id="acl-token-hint" class="hint">Kept in this browser (localStorage) and sent as the X-Consul-Token header.</p>
    ${saved && html`<p role="status">Token saved; it is used from the next request on.</p>`}
  </form>`;
}

function Settings() {
  return html`<section aria-labelledby="settings-title"><h1 id="settings-title">ACL token</h1>
    <p>Cairn has no ACLs yet; once it does, requests need a token. Leave empty to send none.</p>
    <${TokenForm} /></section>`;
}

interceptLinks();
if (location.pathname === UI_ROOT || location.pathname === UI_ROOT.slice(0, -1)) {
  history.replaceState(null, '', UI_ROOT + 'kv/');
}
render(html`<${App} />`, document.getElementById('app'));
