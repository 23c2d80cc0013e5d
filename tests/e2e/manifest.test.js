// The manifest asks for no more than the extension needs, and dist/ is a
// complete unpacked extension: every file the manifest names is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIST, DIST_TEST, ROOT } from './support/paths.js';

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

/** Every file under `dir`, as paths relative to it, sorted. */
function filesUnder(dir) {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

// Nothing for tests ships: dist/ is exactly what `./build.sh build` makes —
// the source manifest, extension/ copied byte for byte, and the bound wasm
// with its JS — and no other file (a test-hooks file, a bench page). Tests
// that need a shorter alarm load their own build, target/dist-test/
// (`./build.sh build --test-variant`).
test('dist/ is exactly what ./build.sh build makes: the sources, the bound wasm, nothing else', () => {
  const copied = ['manifest.json', ...filesUnder(path.join(ROOT, 'extension'))];
  const built = ['worktime_wasm.js', 'worktime_wasm_bg.wasm'];
  assert.deepEqual(filesUnder(DIST), [...copied, ...built].sort(), 'dist/ holds these files and no others');
  for (const file of copied) {
    const from = file === 'manifest.json' ? path.join(ROOT, file) : path.join(ROOT, 'extension', file);
    assert.ok(fs.readFileSync(path.join(DIST, file)).equals(fs.readFileSync(from)), `dist/${file} is the source file as it is`);
  }
  for (const file of filesUnder(DIST)) {
    const text = fs.readFileSync(path.join(DIST, file)).toString('latin1');
    assert.ok(!/test-hooks|test-variant|dist-test/.test(text), `dist/${file} mentions a test build`);
  }
  const variant = path.join(DIST_TEST, 'worktime_wasm_bg.wasm');
  if (fs.existsSync(variant)) {
    assert.ok(
      !fs.readFileSync(path.join(DIST, 'worktime_wasm_bg.wasm')).equals(fs.readFileSync(variant)),
      'dist/ holds the shipped wasm, not the test variant',
    );
  }
});
