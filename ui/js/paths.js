// KV key and UI route helpers. Pure functions (no DOM), unit-tested with `node --test`.
//
// A KV key travels in a URL path with every segment percent-encoded and "/" kept as the
// separator, so "a b/c#?%" becomes "a%20b/c%23%3F%25" and decodes back exactly; empty segments
// (leading, trailing or doubled slashes) survive as empty segments. Keys ending in "/" are
// folders, as in Consul.

// The URL path form of a KV key (without the API prefix).
export function encodeKey(key) {
  return key.split('/').map(encodeURIComponent).join('/');
}

// The key from its URL path form; null when the text is not valid percent-encoding.
export function decodeKey(path) {
  try {
    return decodeURIComponent(path);
  } catch {
    return null;
  }
}

// Why a key cannot be written through the HTTP API, or null when it can. "." and ".." segments
// are rewritten by every browser's URL parser, and the agent refuses ".." (path traversal).
export function keyProblem(key) {
  if (key === '') return 'The key name is empty.';
  if (key.startsWith(' ') || key.endsWith(' ')) {
    return 'A key cannot begin or end with a space.';
  }
  for (const segment of key.split('/')) {
    if (segment === '.' || segment === '..') {
      return `A key cannot contain a "${segment}" segment (URLs cannot carry it).`;
    }
  }
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'A key cannot contain control characters.';
  return null;
}

export function isFolder(key) {
  return key === '' || key.endsWith('/');
}

// The folder holding `key`: "a/b/c" -> "a/b/", "a/b/" -> "a/", "a" -> "".
export function parentFolder(key) {
  const trimmed = key.endsWith('/') ? key.slice(0, -1) : key;
  const slash = trimmed.lastIndexOf('/');
  return slash < 0 ? '' : trimmed.slice(0, slash + 1);
}

// The name shown for an entry inside its folder: "a/b/c" in "a/b/" -> "c", "a/b/" in "a/" -> "b/".
export function baseName(key, folder) {
  return key.startsWith(folder) ? key.slice(folder.length) : key;
}

// Breadcrumbs for a folder or key: [{label, prefix}], starting with the root. Each prefix is a
// folder ("" for the root). An empty segment (from "//" or a leading "/") is labelled "(empty)".
export function breadcrumbs(key) {
  const crumbs = [{ label: 'Key / Value', prefix: '' }];
  const folder = isFolder(key) ? key : parentFolder(key);
  if (folder === '') return crumbs;
  const parts = folder.slice(0, -1).split('/');
  let prefix = '';
  for (const part of parts) {
    prefix += part + '/';
    crumbs.push({ label: part === '' ? '(empty)' : part, prefix });
  }
  return crumbs;
}

// Entries of a `?keys&separator=/` answer for `folder`, sorted folders first then keys, without
// the folder's own key. Each: {key, name, folder}.
export function folderEntries(keys, folder) {
  const out = [];
  for (const key of keys) {
    if (key === folder) continue;
    out.push({ key, name: baseName(key, folder), folder: key.endsWith('/') });
  }
  out.sort((a, b) => (a.folder !== b.folder ? (a.folder ? -1 : 1) : cmp(a.key, b.key)));
  return out;
}

function cmp(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

// --- UI routes ---------------------------------------------------------------------------------
// /ui/kv/<encoded folder>        a folder ("" or ending in "/")
// /ui/kv/<encoded key>           a key
// /ui/kv/<encoded folder>?edit   the value of a folder's own key
// /ui/kv/<encoded folder>?new    the create form in that folder
// /ui/services[/<name>]  /ui/nodes[/<name>]  /ui/sessions[/<id>]  /ui/cluster  /ui/settings

export const UI_ROOT = '/ui/';

// Parses a location (pathname without origin, search) into a route object.
export function parseRoute(pathname, search = '') {
  const params = new URLSearchParams(search);
  if (!pathname.startsWith(UI_ROOT)) return { view: 'kv', key: '', folder: true };
  const rest = pathname.slice(UI_ROOT.length);
  const slash = rest.indexOf('/');
  const view = slash < 0 ? rest : rest.slice(0, slash);
  const tail = slash < 0 ? '' : rest.slice(slash + 1);
  switch (view) {
    case '':
    case 'kv': {
      const key = decodeKey(tail);
      if (key === null) return { view: 'notfound', path: pathname };
      if (params.has('new')) return { view: 'kv', key, folder: true, create: true };
      const folder = isFolder(key) && !params.has('edit');
      return { view: 'kv', key, folder };
    }
    case 'services':
    case 'nodes':
    case 'sessions': {
      const name = decodeKey(tail);
      if (name === null) return { view: 'notfound', path: pathname };
      return { view, name };
    }
    case 'cluster':
    case 'settings':
      return { view };
    default:
      return { view: 'notfound', path: pathname };
  }
}

export function kvHref(key, { edit = false, create = false } = {}) {
  const q = create ? '?new' : edit ? '?edit' : '';
  return `${UI_ROOT}kv/${encodeKey(key)}${q}`;
}

export function viewHref(view, name) {
  return name ? `${UI_ROOT}${view}/${encodeURIComponent(name)}` : `${UI_ROOT}${view}`;
}
