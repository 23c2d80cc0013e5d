// The manifest asks for no more than the extension needs, and dist/ is a
// complete unpacked extension: every file the manifest names is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIST, ROOT } from './support/paths.js';

const source = JSON.parse(fs.readFileSync(path.join(ROOT, 'manifest.json'), 'utf8'));

// No `tabs`: it adds the "read your browsing history" install warning, and
// the github.com host permission already shows those tabs' URLs (ids need no
// permission). Each permission is used: alarms (fallback and wake-ups),
// storage (`chrome.storage.session`: which browser run this is), idle.
test('permissions are alarms, storage and idle, each used; the only host is github.com', () => {
  assert.equal(source.manifest_version, 3);
  assert.deepEqual([...source.permissions].sort(), ['alarms', 'idle', 'storage']);
  const glue = fs.readFileSync(path.join(ROOT, 'extension', 'background.js'), 'utf8');
  for (const [permission, api] of [
    ['alarms', 'chrome.alarms.'],
    ['storage', 'chrome.storage.'],
    ['idle', 'chrome.idle.'],
  ]) {
    assert.ok(glue.includes(api), `${permission} is asked for but ${api} is never used`);
  }
  assert.deepEqual(source.host_permissions, ['https://github.com/*']);
  assert.equal(source.optional_permissions, undefined);
  assert.equal(source.optional_host_permissions, undefined);
  assert.equal(source.externally_connectable, undefined, 'no web page or other extension may connect');
  assert.equal(source.web_accessible_resources, undefined, 'no extension file is exposed to web pages');
});

// On every github.com page (GitHub reaches PRs by in-page navigation, which
// injects nothing), and nowhere else; it stays silent off PRs (navigation.test.js).
test('the content script runs on github.com only', () => {
  assert.equal(source.content_scripts.length, 1);
  assert.deepEqual(source.content_scripts[0].matches, ['https://github.com/*']);
  assert.deepEqual(source.content_scripts[0].js, ['content.js']);
});

test("the extension pages' CSP allows WebAssembly and nothing else beyond 'self'", () => {
  assert.deepEqual(source.content_security_policy, {
    extension_pages: "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'",
  });
});

test('the service worker is a module with no dynamic import and no top-level await', () => {
  assert.deepEqual(source.background, { service_worker: 'background.js', type: 'module' });
  const text = fs.readFileSync(path.join(ROOT, 'extension', 'background.js'), 'utf8');
  const code = text.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
  assert.doesNotMatch(code, /\bimport\s*\(/, 'dynamic import() is refused in service workers');
  // A statement at column 0 that awaits is top-level: the worker would never start.
  assert.doesNotMatch(code, /^(?:(?:const|let|var)\s+[^=]+=\s*)?await\b/m, 'no top-level await');
});

test('dist/ holds the manifest and every file it names, plus the bound wasm', () => {
  const dist = JSON.parse(fs.readFileSync(path.join(DIST, 'manifest.json'), 'utf8'));
  assert.deepEqual(dist, source, 'dist/manifest.json is the source manifest');
  const named = [
    dist.background.service_worker,
    ...dist.content_scripts.flatMap((c) => c.js),
    dist.action.default_popup,
    dist.options_ui.page,
    ...Object.values(dist.icons),
    ...Object.values(dist.action.default_icon),
    'worktime_wasm.js',
    'worktime_wasm_bg.wasm',
  ];
  for (const file of named) {
    assert.ok(fs.existsSync(path.join(DIST, file)), `dist/${file} is missing`);
  }
  const wasm = fs.readFileSync(path.join(DIST, 'worktime_wasm_bg.wasm'));
  assert.ok(WebAssembly.validate(wasm), 'the wasm module validates');
});

// test-hooks.json (e.g. a shorter fallback alarm) is for end-to-end tests'
// own copies of dist/ only; the build never ships it (build.sh removes it).
test('dist/ ships no test-hooks.json', () => {
  assert.equal(fs.existsSync(path.join(DIST, 'test-hooks.json')), false, 'dist/test-hooks.json must not exist');
  assert.equal(fs.existsSync(path.join(ROOT, 'extension', 'test-hooks.json')), false, 'extension/test-hooks.json would be copied');
});
