// The Key/Value screens: a folder (live list, create, delete recursively) and a key (view and
// edit with validation, flags, lock holder, CAS saves with a conflict view, live updates).
import { html, useEffect, useMemo, useRef, useState } from '../vendor/preact-htm.js';
import { api } from './api.js';
import { breadcrumbs, encodeKey, folderEntries, keyProblem, kvHref, parentFolder, viewHref } from './paths.js';
import {
  base64ToBytes, bytesToBase64, bytesToText, encodeForSave, formatSize, guessMode, hexPreview,
  MAX_VALUE_BYTES, validate,
} from './values.js';
import { casIndexFor, classifyRefusal, lineDiff, onRemoteChange, resolveConflict } from './cas.js';
import { Breadcrumbs, ErrorNote, Filter, Loading, navigate, AutoFocusButton, useWatch, VirtualList } from './ui.js';

const kvPath = (key) => '/v1/kv/' + encodeKey(key);

function crumbsFor(key, current) {
  const list = breadcrumbs(key).map((c) => ({ label: c.label, href: kvHref(c.prefix) }));
  if (current) list.push({ label: current, current: true });
  else list[list.length - 1].current = true;
  return list;
}

export function KvView({ route }) {
  // Keyed by the key, so moving to another folder or key starts with fresh state.
  if (route.create) return html`<${KvCreate} key=${'new:' + route.key} folder=${route.key} />`;
  if (route.folder) return html`<${KvFolder} key=${'dir:' + route.key} folder=${route.key} />`;
  return html`<${KvKey} key=${route.key} keyName=${route.key} />`;
}

// --- folder ------------------------------------------------------------------------------------

function KvFolder({ folder }) {
  const w = useWatch(kvPath(folder), { keys: true, separator: '/' });
  const [filter, setFilter] = useState('');
  const entries = useMemo(() => folderEntries(w.data || [], folder), [w.data, folder]);
  const shown = useMemo(() => {
    const f = filter.toLowerCase();
    return f ? entries.filter((e) => e.name.toLowerCase().includes(f)) : entries;
  }, [entries, filter]);
  const hasOwnKey = (w.data || []).includes(folder) && folder !== '';
  const title = folder === '' ? 'Key / Value' : folder;
  return html`<section aria-labelledby="kv-title">
    <${Breadcrumbs} crumbs=${crumbsFor(folder)} />
    <div class="title-row">
      <h1 id="kv-title" class="keyname">${title}</h1>
      <div class="actions">
        <a class="button primary" href=${kvHref(folder, { create: true })}>Create</a>
        ${hasOwnKey && html`<a class="button" href=${kvHref(folder, { edit: true })}>Folder key value</a>`}
        ${folder !== '' && html`<${DeleteFolder} folder=${folder} />`}
      </div>
    </div>
    <${ErrorNote} error=${w.error} />
    ${w.loading ? html`<${Loading} what="keys" />` : w.data === undefined ? null : html`
      <div class="list-head">
        <${Filter} id="kv-filter" label="Filter this folder" value=${filter} onInput=${setFilter} />
        <span class="muted" role="status" aria-live="polite">${shown.length === entries.length
          ? `${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}`
          : `${shown.length} of ${entries.length} entries`}</span>
      </div>
      ${entries.length === 0
        ? html`<p class="empty">${folder === '' ? 'No keys yet.' : 'This folder is empty (or was deleted).'}</p>`
        : html`<${VirtualList} label=${'Entries of ' + (folder || 'the root')} items=${shown}
            renderRow=${(e) => html`<a class=${'entry ' + (e.folder ? 'is-folder' : 'is-key')} href=${kvHref(e.key)}>
              <span class="icon" aria-hidden="true"></span>
              <span class="name">${e.name === '/' ? '(empty)/' : e.name}</span>
              <span class="sr-only">${e.folder ? ' (folder)' : ' (key)'}</span></a>`} />`}`}
  </section>`;
}

// Delete a whole folder: counts the keys first and names the number in the confirmation.
function DeleteFolder({ folder }) {
  const [state, setState] = useState(null);  // null | {count} | {busy} | {error}
  const ask = async () => {
    try {
      const r = await api(kvPath(folder), { query: { keys: true }, allow404: true });
      setState({ count: (r.body || []).length });
    } catch (e) {
      setState({ error: e });
    }
  };
  const confirm = async () => {
    setState({ busy: true });
    try {
      await api(kvPath(folder), { method: 'DELETE', query: { recurse: true } });
      navigate(kvHref(parentFolder(folder)));
    } catch (e) {
      setState({ error: e });
    }
  };
  if (!state) return html`<button class="danger" onClick=${ask}>Delete folder</button>`;
  if (state.error) return html`<${ErrorNote} error=${state.error} />`;
  if (state.busy) return html`<span role="status">Deleting…</span>`;
  return html`<div class="confirm" role="alertdialog" aria-labelledby="del-folder-q">
    <p id="del-folder-q">Delete the folder <strong class="keyname">${folder}</strong> and all <strong>${state.count}</strong> ${state.count === 1 ? 'key' : 'keys'} in it?</p>
    <${AutoFocusButton} class="danger" onClick=${confirm}>Delete ${state.count} ${state.count === 1 ? 'key' : 'keys'}</${AutoFocusButton}>
    <button onClick=${() => setState(null)}>Cancel</button>
  </div>`;
}

// --- create ------------------------------------------------------------------------------------

function KvCreate({ folder }) {
  const [name, setName] = useState('');
  const [mode, setMode] = useState('text');
  const [text, setText] = useState('');
  const [flags, setFlags] = useState('0');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const full = folder + name;
  const makingFolder = name.endsWith('/');
  const problem = name === '' ? null : keyProblem(full);
  const invalid = makingFolder ? null : validate(mode, text);
  const save = async (e) => {
    e.preventDefault();
    if (name === '') return setError(new Error('Enter a key or folder name.'));
    if (problem) return setError(new Error(problem));
    if (invalid) return setError(new Error(invalid.message));
    const bytes = makingFolder ? new Uint8Array(0) : encodeForSave(mode, text);
    if (bytes.length > MAX_VALUE_BYTES) return setError(new Error(`The value is ${formatSize(bytes.length)}; the limit is ${formatSize(MAX_VALUE_BYTES)}.`));
    setBusy(true);
    try {
      const r = await api(kvPath(full), { method: 'PUT', query: { cas: 0, flags: makingFolder ? undefined : Number(flags) || undefined }, body: bytes });
      if (r.body === false) {
        setError(new Error(`"${full}" already exists.`));
      } else {
        navigate(kvHref(full));
      }
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };
  return html`<section aria-labelledby="create-title">
    <${Breadcrumbs} crumbs=${crumbsFor(folder, 'Create')} />
    <h1 id="create-title">Create in ${folder === '' ? 'the root' : html`<span class="keyname">${folder}</span>`}</h1>
    <form onSubmit=${save} class="editor">
      <label for="new-key">Key or folder name</label>
      <div class="prefixed"><span class="prefix keyname" aria-hidden="true">${folder}</span>
        <input id="new-key" value=${name} onInput=${(e) => setName(e.target.value)} aria-describedby="new-key-hint" autocomplete="off" required /></div>
      <p id="new-key-hint" class="hint">End the name with <code>/</code> to create a folder. Any character works: spaces, %, #, ?, unicode.</p>
      ${problem && html`<p class="error" role="alert">${problem}</p>`}
      ${!makingFolder && html`<${ValueEditor} mode=${mode} setMode=${setMode} text=${text} setText=${setText} invalid=${invalid} binary=${false} />
        <${FlagsInput} flags=${flags} setFlags=${setFlags} />`}
      <${ErrorNote} error=${error} />
      <div class="actions">
        <button type="submit" class="primary" disabled=${busy}>${makingFolder ? 'Create folder' : 'Save'}</button>
        <a class="button" href=${kvHref(folder)}>Cancel</a>
      </div>
    </form>
  </section>`;
}

function FlagsInput({ flags, setFlags }) {
  return html`<div class="field-inline"><label for="kv-flags">Flags</label>
    <input id="kv-flags" inputmode="numeric" pattern="[0-9]*" value=${flags} onInput=${(e) => setFlags(e.target.value)} aria-describedby="kv-flags-hint" />
    <span id="kv-flags-hint" class="hint">An unsigned 64-bit number stored with the key, for clients' own use.</span></div>`;
}

const MODES = [['text', 'Text'], ['json', 'JSON'], ['yaml', 'YAML'], ['base64', 'Base64']];

// The value textarea with its mode switch and validation message.
function ValueEditor({ mode, setMode, text, setText, invalid, binary }) {
  return html`<fieldset class="modes"><legend>Edit as</legend>
      ${MODES.map(([m, label]) => html`<label class="mode"><input type="radio" name="mode" value=${m} checked=${mode === m}
        disabled=${binary && m !== 'base64'} onChange=${() => setMode(m)} /> ${label}</label>`)}
    </fieldset>
    ${binary && html`<p class="hint">This value is binary (not UTF-8 text): it is shown and edited as base64.</p>`}
    <label for="kv-value">Value${mode === 'base64' ? ' (base64)' : ''}</label>
    <textarea id="kv-value" class=${'value' + (invalid ? ' invalid' : '')} spellcheck="false" value=${text}
      onInput=${(e) => setText(e.target.value)} aria-invalid=${invalid ? 'true' : 'false'}
      aria-describedby=${invalid ? 'kv-value-error' : undefined}></textarea>
    ${invalid && html`<p id="kv-value-error" class="error" role="alert">${invalid.message}</p>`}`;
}

// --- key ---------------------------------------------------------------------------------------

function entryOf(body) {
  if (!body || !body.length) return null;
  const e = body[0];
  return { ...e, bytes: base64ToBytes(e.Value), flags: e.Flags || 0, modifyIndex: e.ModifyIndex };
}

// The text an editor shows for bytes in a mode.
function textFor(bytes, mode) {
  if (mode === 'base64') return bytesToBase64(bytes);
  const t = bytesToText(bytes);
  return t === null ? bytesToBase64(bytes) : t;
}

function KvKey({ keyName }) {
  const key = keyName;
  const w = useWatch(kvPath(key), {});
  const current = w.loading ? undefined : w.status === 404 ? null : entryOf(w.data);
  // The editor session: what it opened (index, bytes, flags) and what the user typed.
  const [ed, setEd] = useState(null);
  const [notice, setNotice] = useState(null);
  const [conflict, setConflict] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);

  // The ModifyIndex the editor holds and whether it has edits, as refs: a live update's effect
  // may run after a save already reopened the editor, and must compare against that, not
  // against the state its render saw.
  const openedIndex = useRef(null);
  const dirtyNow = useRef(false);
  const open = (entry) => {
    openedIndex.current = entry.modifyIndex;
    const mode = guessMode(entry.bytes);
    setEd({ modifyIndex: entry.modifyIndex, isNew: false, bytes: entry.bytes, flags: entry.flags, mode,
      text: textFor(entry.bytes, mode), flagsText: String(entry.flags), openedText: textFor(entry.bytes, mode) });
    setNotice(null);
  };
  const dirty = ed && (ed.text !== ed.openedText || ed.flagsText !== String(ed.flags));
  dirtyNow.current = !!dirty;

  // Live updates: adopt a remote change when nothing was edited; otherwise warn.
  useEffect(() => {
    if (current === undefined) return;
    if (openedIndex.current === null) {
      if (current) open(current);
      return;
    }
    const what = onRemoteChange({ modifyIndex: openedIndex.current }, dirtyNow.current, current);
    if (what.action === 'reload') {
      open(current);
      setNotice({ text: `Updated by another writer (index ${what.index}).` });
    } else if (what.action === 'warn') {
      setNotice({ warn: true, text: `Another writer changed this key (now at index ${what.index}). Saving will show both versions.` });
    } else if (what.action === 'warn-deleted' || what.action === 'show-deleted') {
      setNotice({ warn: true, text: 'This key was deleted by another writer.' + (dirty ? ' Saving will show a choice.' : '') });
    }
  }, [w.index, w.status, w.data]);

  if (w.loading) return html`<${Loading} what="the key" />`;
  if (!ed && current === null) {
    return html`<section><${Breadcrumbs} crumbs=${crumbsFor(key, baseLabel(key))} />
      <h1 class="keyname">${key}</h1><p class="empty" role="status">This key does not exist (or was deleted).</p>
      <a class="button" href=${kvHref(parentFolder(key))}>Back to the folder</a></section>`;
  }
  if (!ed) return html`<${ErrorNote} error=${w.error} />`;

  // Binary values (not UTF-8 text) are only ever shown and edited as base64.
  const binary = bytesToText(ed.bytes) === null;
  const invalid = validate(ed.mode, ed.text);
  const setText = (text) => setEd({ ...ed, text });
  const setMode = (mode) => {
    // Switching mode re-renders the current content in the new form (base64 <-> text).
    const bytes = encodeForSave(ed.mode, ed.text);
    if (bytes === null) return setError(new Error('Fix the base64 before switching mode.'));
    const text = mode === 'base64' || ed.mode === 'base64' ? textFor(bytes, mode) : ed.text;
    const opened = mode === 'base64' || ed.mode === 'base64' ? textFor(ed.bytes, mode) : ed.openedText;
    setError(null);
    setEd({ ...ed, mode, text, openedText: opened });
  };

  const doSave = async (session, bytes, flags) => {
    setBusy(true);
    setError(null);
    try {
      const r = await api(kvPath(key), { method: 'PUT', query: { cas: casIndexFor(session), flags }, body: bytes });
      if (r.body === true) {
        const now = entryOf((await api(kvPath(key), { allow404: true })).body);
        if (now) open(now);
        setConflict(null);
        setNotice({ text: `Saved at index ${now ? now.modifyIndex : '?'}.` });
      } else {
        const nowRes = await api(kvPath(key), { allow404: true });
        const now = nowRes.status === 404 ? null : entryOf(nowRes.body);
        const refusal = classifyRefusal(session, now, bytes, flags);
        if (refusal.kind === 'same') {
          open(now);
          setNotice({ text: 'Already saved with this value.' });
        } else {
          setConflict({ ...refusal, mine: bytes, mineFlags: flags, theirsFlags: now ? now.flags : 0 });
        }
      }
    } catch (e) {
      setError(e);
    }
    setBusy(false);
  };

  const save = (e) => {
    e.preventDefault();
    if (invalid) return setError(new Error(invalid.message));
    const bytes = encodeForSave(ed.mode, ed.text);
    if (bytes.length > MAX_VALUE_BYTES) return setError(new Error(`The value is ${formatSize(bytes.length)}; the limit is ${formatSize(MAX_VALUE_BYTES)}.`));
    const flags = ed.flagsText.trim() === '' ? 0 : Number(ed.flagsText);
    if (!/^\d*$/.test(ed.flagsText.trim()) || !Number.isSafeInteger(flags)) return setError(new Error('Flags must be a whole number.'));
    doSave(ed, bytes, flags);
  };

  const choose = (choice) => {
    const next = resolveConflict(choice, conflict);
    if (choice === 'theirs') {
      setConflict(null);
      if (current) open(current);
      else setNotice({ warn: true, text: 'The key is deleted; nothing to take.' });
      return;
    }
    const session = { ...ed, isNew: next.isNew, modifyIndex: next.modifyIndex };
    setEd(session);
    doSave(session, conflict.mine, conflict.mineFlags);
  };

  const del = async () => {
    setBusy(true);
    try {
      const r = await api(kvPath(key), { method: 'DELETE', query: { cas: ed.modifyIndex } });
      if (r.body === false) setError(new Error('Not deleted: another writer changed the key since it was opened. Review it and try again.'));
      else navigate(kvHref(parentFolder(key)));
    } catch (e) {
      setError(e);
    }
    setConfirmDelete(false);
    setBusy(false);
  };

  return html`<section aria-labelledby="key-title">
    <${Breadcrumbs} crumbs=${crumbsFor(key, baseLabel(key))} />
    <div class="title-row"><h1 id="key-title" class="keyname">${key}</h1></div>
    <dl class="meta">
      <div><dt>Size</dt><dd>${formatSize(ed.bytes.length)}</dd></div>
      <div><dt>CreateIndex</dt><dd>${current ? current.CreateIndex : '–'}</dd></div>
      <div><dt>ModifyIndex</dt><dd data-testid="modify-index">${ed.modifyIndex}</dd></div>
      <div><dt>LockIndex</dt><dd>${current ? current.LockIndex : '–'}</dd></div>
      <div><dt>Lock</dt><dd data-testid="lock-holder">${current && current.Session
        ? html`held by session <a href=${viewHref('sessions', current.Session)}>${current.Session}</a>`
        : 'not locked'}</dd></div>
    </dl>
    ${notice && html`<p class=${notice.warn ? 'warn' : 'note'} role="status">${notice.text}</p>`}
    ${conflict ? html`<${Conflict} conflict=${conflict} mode=${ed.mode} onChoose=${choose} onCancel=${() => setConflict(null)} busy=${busy} />` : html`
    <form class="editor" onSubmit=${save}>
      <${ValueEditor} mode=${ed.mode} setMode=${setMode} text=${ed.text} setText=${setText} invalid=${invalid}
        binary=${binary} />
      ${binary && html`<details><summary>Hex preview</summary><pre class="hex">${hexPreview(ed.bytes)}</pre></details>`}
      <${FlagsInput} flags=${ed.flagsText} setFlags=${(f) => setEd({ ...ed, flagsText: f })} />
      <${ErrorNote} error=${error} />
      <div class="actions">
        <button type="submit" class="primary" disabled=${busy || !!invalid}>Save</button>
        <button type="button" disabled=${!dirty} onClick=${() => current && open(current)}>Revert</button>
        ${confirmDelete
          ? html`<span class="confirm" role="alertdialog" aria-label="Confirm delete">Delete this key?
              <${AutoFocusButton} type="button" class="danger" onClick=${del}>Delete key</${AutoFocusButton}>
              <button type="button" onClick=${() => setConfirmDelete(false)}>Cancel</button></span>`
          : html`<button type="button" class="danger" onClick=${() => setConfirmDelete(true)}>Delete</button>`}
      </div>
      <p class="hint">Saves use check-and-set on ModifyIndex ${ed.modifyIndex}: a write made elsewhere since then is never overwritten silently.</p>
    </form>`}
  </section>`;
}

function baseLabel(key) {
  const folder = parentFolder(key);
  const name = key.slice(folder.length);
  return name === '' ? '(empty)' : name;
}

// Both versions side by side plus a line diff, and the choice.
function Conflict({ conflict, mode, onChoose, onCancel, busy }) {
  const show = (bytes) => (bytes === null ? null : textFor(bytes, mode === 'base64' ? 'base64' : 'text'));
  const mine = show(conflict.mine);
  const theirs = conflict.kind === 'deleted' ? null : show(conflict.theirs);
  const diff = theirs === null ? [] : lineDiff(mine, theirs);
  return html`<div class="conflict" role="alertdialog" aria-labelledby="conflict-title" aria-describedby="conflict-desc">
    <h2 id="conflict-title">${conflict.kind === 'deleted' ? 'The key was deleted while you edited it' : 'Someone else changed this key'}</h2>
    <p id="conflict-desc">${conflict.kind === 'deleted'
      ? 'Your save was not applied. Recreate it with your version, or drop your edit.'
      : `Your save was not applied: the key is now at index ${conflict.index}. Choose which version to keep.`}</p>
    <div class="versions">
      <div><h3>Your version</h3><pre class="value-view" data-testid="mine">${mine}</pre></div>
      <div><h3>${conflict.kind === 'deleted' ? 'Now' : `Their version (index ${conflict.index})`}</h3>
        <pre class="value-view" data-testid="theirs">${theirs === null ? '(deleted)' : theirs}</pre></div>
    </div>
    ${diff.length > 0 && html`<details open><summary>Line differences</summary><pre class="diff">${diff.map((d) =>
      html`<span class=${d.op === '-' ? 'del' : d.op === '+' ? 'ins' : ''}>${d.op === '-' ? '− ' : d.op === '+' ? '+ ' : '  '}${d.text}\n</span>`)}</pre></details>`}
    <div class="actions">
      <${AutoFocusButton} class="primary" onClick=${() => onChoose('mine')} disabled=${busy}>${conflict.kind === 'deleted' ? 'Recreate with mine' : 'Overwrite with mine'}</${AutoFocusButton}>
      <button onClick=${() => onChoose('theirs')} disabled=${busy}>${conflict.kind === 'deleted' ? 'Drop my edit' : 'Take theirs'}</button>
      <button onClick=${onCancel} disabled=${busy}>Keep editing</button>
    </div>
  </div>`;
}
