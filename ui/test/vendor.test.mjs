// The vendored Preact + htm module must be exactly the pinned npm file (ui/vendor/README.md).
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const PINNED = '72284e8e9079c87817145df1110f74e8a2aa040b2fc384922e18dfcb46fc1fd7';

test('vendor/preact-htm.js is htm 3.1.1 preact/standalone.module.js', () => {
  const bytes = readFileSync(new URL('../vendor/preact-htm.js', import.meta.url));
  assert.equal(createHash('sha256').update(bytes).digest('hex'), PINNED);
  const readme = readFileSync(new URL('../vendor/README.md', import.meta.url), 'utf8');
  assert.ok(readme.includes(PINNED), 'README.md names the same digest');
});

test('the UI never assigns innerHTML or uses dangerouslySetInnerHTML', () => {
  for (const f of ['app.js', 'kv.js', 'catalog.js', 'sessions.js', 'cluster.js', 'ui.js', 'api.js']) {
    const src = readFileSync(new URL('../js/' + f, import.meta.url), 'utf8');
    assert.ok(!/innerHTML|dangerouslySetInnerHTML|outerHTML|insertAdjacentHTML|document\.write/.test(src), f);
  }
});
