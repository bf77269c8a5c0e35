// Unit tests of the UI's key and route handling (node --test).
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  baseName, breadcrumbs, decodeKey, encodeKey, folderEntries, isFolder, keyProblem, kvHref,
  parentFolder, parseRoute,
} from '../js/paths.js';

const HOSTILE = [
  'a b/c d', '100%', '100%25', 'tag#1', 'what?', 'q?a=1&b=2', 'ünï/cødé/日本語', '/leading',
  'trailing/', '//double//', '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>',
  'emoji/🙂', 'plus+sign', 'semi;colon', "quote'", 'back\\slash',
];

test('encodeKey/decodeKey round-trip every hostile key', () => {
  for (const key of HOSTILE) {
    const enc = encodeKey(key);
    assert.ok(!/[ #?%]/.test(enc.replace(/%[0-9A-F]{2}/g, '')), `raw reserved char in ${enc}`);
    assert.equal(decodeKey(enc), key);
  }
});

test('encodeKey keeps slashes and encodes the rest', () => {
  assert.equal(encodeKey('a b/c#d/e?f'), 'a%20b/c%23d/e%3Ff');
  assert.equal(encodeKey('/x/'), '/x/');
  assert.equal(encodeKey('100%'), '100%25');
});

test('decodeKey rejects malformed escapes', () => {
  assert.equal(decodeKey('%E0%A4%A'), null);
  assert.equal(decodeKey('%zz'), null);
});

test('keyProblem explains unusable keys', () => {
  assert.equal(keyProblem('ok/key'), null);
  assert.equal(keyProblem('100% ok?#'), null);
  assert.match(keyProblem(''), /empty/);
  assert.match(keyProblem(' lead'), /space/);
  assert.match(keyProblem('a/../b'), /"\.\."/);
  assert.match(keyProblem('a/./b'), /"\."/);
  assert.match(keyProblem('a\nb'), /control/);
  assert.equal(keyProblem('a/.hidden/b..c'), null);
});

test('folders, parents and base names', () => {
  assert.ok(isFolder(''));
  assert.ok(isFolder('a/'));
  assert.ok(!isFolder('a'));
  assert.equal(parentFolder('a/b/c'), 'a/b/');
  assert.equal(parentFolder('a/b/'), 'a/');
  assert.equal(parentFolder('a'), '');
  assert.equal(parentFolder('/x'), '/');
  assert.equal(parentFolder('/'), '');
  assert.equal(baseName('a/b/c', 'a/b/'), 'c');
  assert.equal(baseName('a/b/', 'a/'), 'b/');
});

test('breadcrumbs for folders and keys, including empty segments', () => {
  assert.deepEqual(breadcrumbs(''), [{ label: 'Key / Value', prefix: '' }]);
  assert.deepEqual(breadcrumbs('a/b/c').map((c) => c.prefix), ['', 'a/', 'a/b/']);
  assert.deepEqual(breadcrumbs('a/b/').map((c) => c.label), ['Key / Value', 'a', 'b']);
  assert.deepEqual(breadcrumbs('/x').map((c) => [c.label, c.prefix]), [['Key / Value', ''], ['(empty)', '/']]);
  assert.deepEqual(breadcrumbs('a//b').map((c) => c.prefix), ['', 'a/', 'a//']);
});

test('folderEntries sorts folders first and drops the folder key itself', () => {
  const keys = ['app/', 'app/z', 'app/a/', 'app/b', 'app/ c'];
  const got = folderEntries(keys, 'app/');
  assert.deepEqual(got.map((e) => [e.name, e.folder]), [['a/', true], [' c', false], ['b', false], ['z', false]]);
});

test('folderEntries handles 10,000 keys quickly', () => {
  const keys = Array.from({ length: 10000 }, (_, i) => `big/k${String(i).padStart(5, '0')}`);
  const start = performance.now();
  const got = folderEntries(keys, 'big/');
  assert.equal(got.length, 10000);
  assert.ok(performance.now() - start < 1000);
});

test('parseRoute: KV folders, keys, create and edit', () => {
  assert.deepEqual(parseRoute('/ui/', ''), { view: 'kv', key: '', folder: true });
  assert.deepEqual(parseRoute('/ui/kv/', ''), { view: 'kv', key: '', folder: true });
  assert.deepEqual(parseRoute('/ui/kv/a%20b/c%23/', ''), { view: 'kv', key: 'a b/c#/', folder: true });
  assert.deepEqual(parseRoute('/ui/kv/a/k%3F', ''), { view: 'kv', key: 'a/k?', folder: false });
  assert.deepEqual(parseRoute('/ui/kv/a/', '?edit'), { view: 'kv', key: 'a/', folder: false });
  assert.deepEqual(parseRoute('/ui/kv/a/', '?new'), { view: 'kv', key: 'a/', folder: true, create: true });
  assert.deepEqual(parseRoute('/ui/kv//lead', ''), { view: 'kv', key: '/lead', folder: false });
  assert.equal(parseRoute('/ui/kv/%zz', '').view, 'notfound');
});

test('parseRoute: other views', () => {
  assert.deepEqual(parseRoute('/ui/services', ''), { view: 'services', name: '' });
  assert.deepEqual(parseRoute('/ui/services/web%20api', ''), { view: 'services', name: 'web api' });
  assert.deepEqual(parseRoute('/ui/nodes/n1', ''), { view: 'nodes', name: 'n1' });
  assert.deepEqual(parseRoute('/ui/sessions/abc', ''), { view: 'sessions', name: 'abc' });
  assert.deepEqual(parseRoute('/ui/cluster', ''), { view: 'cluster' });
  assert.equal(parseRoute('/ui/nope', '').view, 'notfound');
});

test('kvHref and parseRoute agree for every hostile key', () => {
  for (const key of HOSTILE) {
    const url = new URL(kvHref(key), 'http://127.0.0.1');
    const r = parseRoute(url.pathname, url.search);
    assert.equal(r.key, key);
    assert.equal(r.folder, isFolder(key));
    const edit = new URL(kvHref(key, { edit: true }), 'http://127.0.0.1');
    assert.equal(parseRoute(edit.pathname, edit.search).folder, false);
  }
});
