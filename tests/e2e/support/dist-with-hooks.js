// dist-with-hooks.js — a copy of the built extension with a test-hooks.json beside
// background.js (e.g. a shorter fallback alarm). The shipped dist/ never holds
// that file (manifest.test.js), so only such a copy ever reads one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIST } from './paths.js';

/**
 * Copies dist/ into a fresh temporary directory and writes `hooks` there as
 * test-hooks.json (a string is written as it is, e.g. to test a broken
 * file). Returns `{ dir, remove() }`; load `dir` with
 * `startStack({ dist: dir })`.
 */
export function distWithTestHooks(hooks) {
  if (!fs.existsSync(path.join(DIST, 'manifest.json'))) {
    throw new Error(`${DIST} has no manifest.json: run ./build.sh build first`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-dist-hooks-'));
  fs.cpSync(DIST, dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'test-hooks.json'), typeof hooks === 'string' ? hooks : JSON.stringify(hooks));
  return {
    dir,
    remove() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
