// Check-and-set saves. The editor remembers the ModifyIndex of the value it opened; a save is
// PUT ?cas=<that index> (0 for a new key: create only if absent). When the agent answers
// `false`, someone else wrote first: the UI reads the key again and classifies what happened.
// Pure functions (no DOM, no fetch), unit-tested with `node --test`.

// The ?cas= value for a save from an editor session.
export function casIndexFor(session) {
  return session.isNew ? 0 : session.modifyIndex;
}

// What a refused CAS save means, given the key as it is now (`current`: null when the key is
// gone, else {modifyIndex, bytes, flags}) and what the editor tried to save (`mine`: bytes).
//   {kind: 'exists'}        a new key, but the name is taken now
//   {kind: 'deleted'}       the opened key was deleted elsewhere
//   {kind: 'same', index}   the current value already equals mine (e.g. a double save): adopt it
//   {kind: 'conflict', theirs, index}  a different value was written: show both, let the user pick
export function classifyRefusal(session, current, mine, mineFlags) {
  if (current === null) return session.isNew ? { kind: 'retry' } : { kind: 'deleted' };
  if (bytesEqual(current.bytes, mine) && current.flags === mineFlags) {
    return { kind: 'same', index: current.modifyIndex };
  }
  if (session.isNew) return { kind: 'exists', theirs: current.bytes, index: current.modifyIndex };
  return { kind: 'conflict', theirs: current.bytes, index: current.modifyIndex };
}

// The next save after the user chose in a conflict:
//   'mine'   overwrite, CAS on the index of the version they were shown (a third writer in
//            between is caught again)
//   'theirs' drop the edit and reopen the editor on their version
// Returns the new editor session fields.
export function resolveConflict(choice, refusal) {
  if (choice === 'mine') {
    if (refusal.kind === 'deleted') return { isNew: true, modifyIndex: 0, saveNow: true };
    return { isNew: false, modifyIndex: refusal.index, saveNow: true };
  }
  if (choice === 'theirs') {
    if (refusal.kind === 'deleted') return { isNew: true, modifyIndex: 0, discard: true, saveNow: false };
    return { isNew: false, modifyIndex: refusal.index, reload: true, saveNow: false };
  }
  throw new Error('unknown choice ' + choice);
}

// What a live update of the opened key means for the editor: take the new value silently when
// nothing was edited, otherwise keep the user's text and warn that a save will conflict.
export function onRemoteChange(session, dirty, current) {
  if (current === null) return dirty ? { action: 'warn-deleted' } : { action: 'show-deleted' };
  if (current.modifyIndex === session.modifyIndex) return { action: 'none' };
  return dirty ? { action: 'warn', index: current.modifyIndex } : { action: 'reload', index: current.modifyIndex };
}

export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// A line diff for the conflict view: [{op: ' '|'-'|'+', text}], '-' only in mine, '+' only in
// theirs. Longest common subsequence on lines, capped so a huge value cannot stall the page.
export function lineDiff(mine, theirs, maxCells = 4_000_000) {
  const a = mine.split('\n');
  const b = theirs.split('\n');
  if (a.length * b.length > maxCells) {
    return [...a.map((text) => ({ op: '-', text })), ...b.map((text) => ({ op: '+', text }))];
  }
  const w = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * w);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * w + j] = a[i] === b[j] ? lcs[(i + 1) * w + j + 1] + 1
        : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push({ op: ' ', text: a[i] });
      i++;
      j++;
    } else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
      out.push({ op: '-', text: a[i++] });
    } else {
      out.push({ op: '+', text: b[j++] });
    }
  }
  while (i < a.length) out.push({ op: '-', text: a[i++] });
  while (j < b.length) out.push({ op: '+', text: b[j++] });
  return out;
}
