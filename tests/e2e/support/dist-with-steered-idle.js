// dist-with-steered-idle.js — a copy of the built extension whose
// chrome.idle.queryState the test steers. The shipped dist/ holds no such
// module (manifest.test.js); only this copy, made by a test, does.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIST } from './paths.js';

/** The chrome.storage.local key whose value ('active', 'idle' or 'locked')
 * chrome.idle.queryState answers in a `distWithSteeredIdle` copy. */
export const STEERED_IDLE_KEY = 'test-idle-state';

/**
 * Copies dist/ into a fresh temporary directory where
 * `chrome.idle.queryState` answers what chrome.storage.local holds under
 * `STEERED_IDLE_KEY` (Chrome's own answer while that is unset). Headless
 * Chromium always says `active` (shared TOOLCHAIN.md), so this is the one
 * way to start a worker while "the machine is locked". The substitute is a
 * module that background.js imports first; everything else is the shipped
 * build. Returns `{ dir, remove() }`; load `dir` with `startStack({ dist: dir })`.
 */
export function distWithSteeredIdle() {
  if (!fs.existsSync(path.join(DIST, 'manifest.json'))) {
    throw new Error(`${DIST} has no manifest.json: run ./build.sh build first`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-dist-idle-'));
  fs.cpSync(DIST, dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'steered-idle.js'),
    `// Test only (tests/e2e/support/dist-with-steered-idle.js): chrome.idle.queryState
// answers chrome.storage.local[${JSON.stringify(STEERED_IDLE_KEY)}] when set.
const chromeQueryState = chrome.idle.queryState.bind(chrome.idle);
chrome.idle.queryState = async (seconds) => {
  const steered = (await chrome.storage.local.get(${JSON.stringify(STEERED_IDLE_KEY)}))[${JSON.stringify(STEERED_IDLE_KEY)}];
  return steered ?? chromeQueryState(seconds);
};
`,
  );
  const background = path.join(dir, 'background.js');
  // Imports run in order, before the importing module's body: first this.
  fs.writeFileSync(background, `import './steered-idle.js';\n${fs.readFileSync(background, 'utf8')}`);
  return {
    dir,
    remove() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
