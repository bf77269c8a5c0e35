// KV values: decoding what the API returns, deciding how to show it, and validating edits before
// a save. Pure functions (no DOM), unit-tested with `node --test`.

export const MAX_VALUE_BYTES = 512 * 1024;  // the agent's default kv_max_value_size

// Base64 text (as in the API's "Value") to bytes. null stays null (a key without a value).
export function base64ToBytes(b64) {
  if (b64 === null || b64 === undefined) return new Uint8Array(0);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesToBase64(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

// Base64 typed by a user: whitespace ignored; null when it is not valid base64.
export function parseBase64(text) {
  const clean = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) return null;
  try {
    return base64ToBytes(clean);
  } catch {
    return null;
  }
}

// The value as text when it is valid UTF-8 without control characters other than tab, newline
// and carriage return; otherwise null (binary: shown as base64 and a hex preview, never as text).
export function bytesToText(bytes) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? null : text;
}

export function textToBytes(text) {
  return new TextEncoder().encode(text);
}

// The first `limit` bytes as a hex dump, 16 bytes a line.
export function hexPreview(bytes, limit = 256) {
  const lines = [];
  const n = Math.min(bytes.length, limit);
  for (let off = 0; off < n; off += 16) {
    const row = Array.from(bytes.subarray(off, Math.min(off + 16, n)));
    const hex = row.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    lines.push(off.toString(16).padStart(6, '0') + '  ' + hex);
  }
  if (bytes.length > limit) lines.push(`… ${bytes.length - limit} more bytes`);
  return lines.join('\n');
}

// The editing mode a value opens in: 'base64' for binary, 'json' when it parses as a JSON object
// or array, else 'text'.
export function guessMode(bytes) {
  const text = bytesToText(bytes);
  if (text === null) return 'base64';
  const t = text.trim();
  if ((t.startsWith('{') || t.startsWith('[')) && validateJson(text) === null) return 'json';
  return 'text';
}

// --- validation: each returns null when valid, else {message, line} (line is 1-based or 0) ---

export function validateJson(text) {
  try {
    JSON.parse(text);
    return null;
  } catch (e) {
    return { message: 'Invalid JSON: ' + e.message, line: jsonErrorLine(text, e.message) };
  }
}

function jsonErrorLine(text, message) {
  const line = /line (\d+)/.exec(message);
  if (line) return Number(line[1]);
  const pos = /position (\d+)/.exec(message);
  if (!pos) return 0;
  return text.slice(0, Number(pos[1])).split('\n').length;
}

// A small structural YAML check, not a full parser. It finds what breaks YAML files in practice:
// tabs in indentation, unclosed quotes and unmatched flow brackets on a line, a line indented
// deeper than a block can start ("a: 1" followed by a more indented line), an indentation that
// matches no enclosing block, a line in a mapping that is not "key: value" (e.g. "key:value"),
// list items mixed with mapping keys at one level, and duplicate keys in one mapping. Block scalars (| and >) and multi-document files are skipped or
// accepted; anchors, tags and multi-line flow collections are not checked.
export function validateYaml(text) {
  const lines = text.split('\n');
  // Stack of open blocks: {indent, kind: 'map'|'seq'|null, keys:Set}.
  const stack = [{ indent: -1, kind: null, keys: new Set() }];
  let canNest = true;  // the previous line opened a block ("key:" or "-")
  let blockScalarIndent = -1;  // inside "key: |" text: the indent of the line that opened it
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i].replace(/\r$/, '');
    const indentText = /^[ \t]*/.exec(raw)[0];
    const body = raw.slice(indentText.length);
    const indent = indentText.length;
    if (blockScalarIndent >= 0) {
      if (body === '' || indent > blockScalarIndent) continue;
      blockScalarIndent = -1;
    }
    if (body === '' || body.startsWith('#')) continue;
    if (indentText.includes('\t')) return { message: `Tab in indentation (line ${n}); YAML indents with spaces.`, line: n };
    if (indent === 0 && (body === '---' || body === '...' || body.startsWith('--- ') || body.startsWith('%'))) {
      stack.length = 1;
      canNest = true;
      continue;
    }
    const content = stripComment(body);
    const unclosed = unbalanced(content);
    if (unclosed) return { message: `${unclosed} (line ${n}).`, line: n };
    let top = stack[stack.length - 1];
    const item = classify(content);
    // "key:" followed by "- item" at the same indentation is a list under that key.
    if (top.sameIndentSeq && indent === top.indent && item.kind !== 'seq') stack.pop();
    top = stack[stack.length - 1];
    if (indent === top.indent && item.kind === 'seq' && top.kind === 'map' && canNest) {
      stack.push({ indent, kind: 'seq', keys: new Set(), sameIndentSeq: true });
      top = stack[stack.length - 1];
    } else if (indent > top.indent) {
      if (!canNest) return { message: `Unexpected indentation (line ${n}): the line above does not open a block.`, line: n };
      stack.push({ indent, kind: null, keys: new Set() });
    } else {
      while (stack.length > 1 && stack[stack.length - 1].indent > indent) stack.pop();
      if (stack[stack.length - 1].sameIndentSeq && item.kind !== 'seq') stack.pop();
      if (stack[stack.length - 1].indent !== indent) {
        return { message: `Indentation (line ${n}) matches no enclosing block.`, line: n };
      }
    }
    top = stack[stack.length - 1];
    if (top.kind && item.kind && top.kind !== item.kind) {
      return { message: `A ${item.kind === 'seq' ? 'list item' : 'mapping key'} among ${top.kind === 'seq' ? 'list items' : 'mapping keys'} (line ${n}).`, line: n };
    }
    if (item.kind === 'map') {
      if (top.keys.has(item.key)) return { message: `Duplicate key "${item.key}" (line ${n}).`, line: n };
      top.keys.add(item.key);
    } else if (top.kind === 'map' && item.kind === null) {
      const hint = /^[^\s:]+:\S/.test(content) ? ' (a space must follow the ":")' : '';
      return { message: `Expected "key: value" on line ${n}${hint}.`, line: n };
    }
    top.kind = top.kind || item.kind;
    canNest = item.opens;
    if (item.blockScalar) blockScalarIndent = indent;
  }
  return null;
}

// The kind of one line: a mapping entry, a sequence item or a plain scalar; whether the next,
// more indented line may start a nested block.
function classify(content) {
  if (content === '-' || content.startsWith('- ')) {
    const rest = content.slice(1).trim();
    return { kind: 'seq', opens: rest === '' || /:\s*$/.test(rest) || /^[^'"]*?:\s/.test(rest), blockScalar: /^[|>][-+0-9]*$/.test(rest) };
  }
  const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^'"#:][^#]*?|[^'"#:]?)\s*:(?:\s+(.*)|$)/.exec(content);
  if (m && !content.startsWith('{') && !content.startsWith('[')) {
    const value = (m[2] || '').trim();
    return { kind: 'map', key: m[1].trim(), opens: value === '' || /^&\S+$/.test(value) || /^![^\s]*$/.test(value), blockScalar: /^[|>][-+0-9]*$/.test(value) };
  }
  return { kind: null, opens: false, blockScalar: false };
}

// The line without a trailing comment (a "#" after whitespace, outside quotes).
function stripComment(line) {
  let quote = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s:\[{,-]/.test(line[i - 1])) quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) {
      return line.slice(0, i).trimEnd();
    }
  }
  return line;
}

// A description of an unclosed quote or bracket on one line, or null.
function unbalanced(line) {
  const stack = [];
  let quote = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) {
        if (quote === "'" && line[i + 1] === "'") i++;
        else quote = null;
      }
      continue;
    }
    if ((c === '"' || c === "'") && (i === 0 || /[\s:\[{,-]/.test(line[i - 1]))) quote = c;
    else if (c === '[' || c === '{') stack.push(c);
    else if (c === ']' || c === '}') {
      const open = stack.pop();
      if (open !== (c === ']' ? '[' : '{')) return `Unmatched "${c}"`;
    }
  }
  if (quote) return `Unclosed ${quote === '"' ? 'double' : 'single'} quote`;
  // A flow collection may continue on the next line; only a closing excess is certain here.
  return null;
}

export function validate(mode, text) {
  if (mode === 'json') return validateJson(text);
  if (mode === 'yaml') return validateYaml(text);
  if (mode === 'base64') return parseBase64(text) === null ? { message: 'Invalid base64.', line: 0 } : null;
  return null;
}

// The bytes a save sends for `text` in `mode` (base64 is decoded), or null when invalid.
export function encodeForSave(mode, text) {
  if (mode === 'base64') return parseBase64(text);
  return textToBytes(text);
}

export function formatSize(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
