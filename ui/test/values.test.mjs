// Unit tests of value decoding and validation (node --test).
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  base64ToBytes, bytesToBase64, bytesToText, encodeForSave, guessMode, hexPreview, parseBase64,
  textToBytes, validate, validateJson, validateYaml,
} from '../js/values.js';

test('base64 round-trips bytes of every value, and big buffers', () => {
  const all = new Uint8Array(256).map((_, i) => i);
  assert.deepEqual(base64ToBytes(bytesToBase64(all)), all);
  const big = new Uint8Array(512 * 1024).map((_, i) => (i * 7) & 255);
  assert.deepEqual(base64ToBytes(bytesToBase64(big)), big);
  assert.deepEqual(base64ToBytes(null), new Uint8Array(0));
});

test('parseBase64 accepts whitespace and rejects garbage', () => {
  assert.deepEqual(parseBase64('aGVs\nbG8='), textToBytes('hello'));
  assert.equal(parseBase64('not base64!'), null);
  assert.equal(parseBase64('abcde'), null);
  assert.deepEqual(parseBase64(''), new Uint8Array(0));
});

test('bytesToText: UTF-8 text yes, binary and control characters no', () => {
  assert.equal(bytesToText(textToBytes('héllo\n\tworld 日本')), 'héllo\n\tworld 日本');
  assert.equal(bytesToText(new Uint8Array([0xff, 0xfe, 0x00])), null);
  assert.equal(bytesToText(new Uint8Array([0x61, 0x00, 0x62])), null);
  assert.equal(bytesToText(new Uint8Array([0x1b, 0x5b])), null);
  assert.equal(bytesToText(new Uint8Array(0)), '');
});

test('guessMode picks json, text or base64', () => {
  assert.equal(guessMode(textToBytes('{"a": 1}')), 'json');
  assert.equal(guessMode(textToBytes('[1,2]')), 'json');
  assert.equal(guessMode(textToBytes('{not json')), 'text');
  assert.equal(guessMode(textToBytes('plain')), 'text');
  assert.equal(guessMode(new Uint8Array([0, 1, 2, 255])), 'base64');
});

test('hexPreview shows offsets and truncates', () => {
  const p = hexPreview(new Uint8Array(40).fill(0xab), 32);
  assert.match(p, /^000000  ab ab/);
  assert.match(p, /8 more bytes/);
});

test('validateJson reports the line of the error', () => {
  assert.equal(validateJson('{"a": [1, 2]}'), null);
  const err = validateJson('{\n  "a": 1,\n  "b": \n}');
  assert.ok(err);
  assert.match(err.message, /Invalid JSON/);
  // V8 names the position in some versions only; when it does, the line is the third or later.
  assert.ok(err.line === 0 || err.line >= 3, `line ${err.line}`);
});

test('validateYaml accepts ordinary documents', () => {
  const ok = [
    'a: 1\nb: two\n',
    'server:\n  port: 8080\n  hosts:\n    - a\n    - b\n',
    'list:\n- x\n- y\n',
    'list:\n- a: 1\n  b: 2\n- a: 3\nnext: 3\nmore:\n  - z\n',
    '# comment\nkey: "quoted: value # not a comment"\nother: \'it\'\'s\'\n',
    'text: |\n  line one\n    indented more\n  line: with colon\nnext: 2\n',
    '- name: a\n  value: 1\n- name: b\n  value: 2\n',
    'url: http://example.test:80/x\nflow: {a: 1, b: [1, 2]}\n',
    '---\na: 1\n---\na: 2\n',
    'just a scalar',
    '',
  ];
  for (const doc of ok) assert.equal(validateYaml(doc), null, doc);
});

test('validateYaml catches the usual mistakes, with the line', () => {
  const bad = [
    ['a: 1\n\tb: 2\n', /Tab/, 2],
    ['a: 1\n  b: 2\n', /Unexpected indentation/, 2],
    ['a:\n    b: 1\n  c: 2\n', /matches no enclosing block/, 3],
    ['a: 1\na: 2\n', /Duplicate key "a"/, 2],
    ['a: 1\nb:2\n', /space must follow/, 2],
    ['a: "open\n', /Unclosed double quote/, 1],
    ['a: [1, 2}\n', /Unmatched/, 1],
    ['- a\nb: 1\n', /mapping key among list items/, 2],
  ];
  for (const [doc, re, line] of bad) {
    const err = validateYaml(doc);
    assert.ok(err, `expected an error for ${JSON.stringify(doc)}`);
    assert.match(err.message, re);
    assert.equal(err.line, line, doc);
  }
});

test('validate and encodeForSave by mode', () => {
  assert.equal(validate('text', '{not json'), null);
  assert.ok(validate('json', '{not json'));
  assert.ok(validate('base64', '***'));
  assert.deepEqual(encodeForSave('base64', 'AAE='), new Uint8Array([0, 1]));
  assert.deepEqual(encodeForSave('text', 'é'), new Uint8Array([0xc3, 0xa9]));
});
