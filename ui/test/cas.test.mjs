// Unit tests of the check-and-set save logic (node --test).
import test from 'node:test';
import assert from 'node:assert/strict';
import { casIndexFor, classifyRefusal, lineDiff, onRemoteChange, resolveConflict } from '../js/cas.js';

const b = (s) => new TextEncoder().encode(s);
const opened = { isNew: false, modifyIndex: 10 };

test('a save uses the index the editor opened; a new key uses cas=0', () => {
  assert.equal(casIndexFor(opened), 10);
  assert.equal(casIndexFor({ isNew: true, modifyIndex: 0 }), 0);
});

test('a refused save with a different value elsewhere is a conflict with both versions', () => {
  const r = classifyRefusal(opened, { modifyIndex: 12, bytes: b('theirs'), flags: 0 }, b('mine'), 0);
  assert.equal(r.kind, 'conflict');
  assert.equal(r.index, 12);
  assert.deepEqual(r.theirs, b('theirs'));
});

test('a refused save whose value is already there is not a conflict', () => {
  const r = classifyRefusal(opened, { modifyIndex: 12, bytes: b('same'), flags: 3 }, b('same'), 3);
  assert.deepEqual(r, { kind: 'same', index: 12 });
  // Same bytes but different flags is still a conflict.
  assert.equal(classifyRefusal(opened, { modifyIndex: 12, bytes: b('same'), flags: 1 }, b('same'), 3).kind, 'conflict');
});

test('a key deleted elsewhere, and a new key whose name got taken', () => {
  assert.equal(classifyRefusal(opened, null, b('x'), 0).kind, 'deleted');
  const created = classifyRefusal({ isNew: true, modifyIndex: 0 }, { modifyIndex: 5, bytes: b('y'), flags: 0 }, b('x'), 0);
  assert.equal(created.kind, 'exists');
  assert.equal(classifyRefusal({ isNew: true, modifyIndex: 0 }, null, b('x'), 0).kind, 'retry');
});

test('resolving: mine overwrites with CAS on the version shown, theirs reloads', () => {
  const conflict = { kind: 'conflict', index: 12 };
  assert.deepEqual(resolveConflict('mine', conflict), { isNew: false, modifyIndex: 12, saveNow: true });
  assert.equal(resolveConflict('theirs', conflict).reload, true);
  assert.equal(resolveConflict('theirs', conflict).saveNow, false);
  assert.deepEqual(resolveConflict('mine', { kind: 'deleted' }), { isNew: true, modifyIndex: 0, saveNow: true });
  assert.throws(() => resolveConflict('both', conflict));
});

test('live updates: reload a clean editor, warn a dirty one', () => {
  assert.equal(onRemoteChange(opened, false, { modifyIndex: 10 }).action, 'none');
  assert.deepEqual(onRemoteChange(opened, false, { modifyIndex: 11 }), { action: 'reload', index: 11 });
  assert.deepEqual(onRemoteChange(opened, true, { modifyIndex: 11 }), { action: 'warn', index: 11 });
  assert.equal(onRemoteChange(opened, true, null).action, 'warn-deleted');
  assert.equal(onRemoteChange(opened, false, null).action, 'show-deleted');
});

test('lineDiff marks lines only in mine (-) and only in theirs (+)', () => {
  const d = lineDiff('a\nb\nc', 'a\nx\nc');
  assert.deepEqual(d.map((x) => x.op + x.text), [' a', '-b', '+x', ' c']);
  assert.deepEqual(lineDiff('same', 'same').map((x) => x.op), [' ']);
  const huge = lineDiff('a\n'.repeat(3000), 'b\n'.repeat(3000), 1000);
  assert.equal(huge.length, 6002);
});
