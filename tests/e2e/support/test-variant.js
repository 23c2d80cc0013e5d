// test-variant.js — the end-to-end tests' own build of the extension
// (`./build.sh build --test-variant` -> target/dist-test/): the shipped files
// with the wasm built with the cargo feature `test-variant`, whose fallback
// alarm fires every 6 s instead of every minute. dist/ holds nothing of it.
import fs from 'node:fs';
import path from 'node:path';
import { DIST_TEST } from './paths.js';

/** The test variant's directory, for `startStack({ dist })`; throws, saying
 * how to build it, when it is missing. */
export function testVariant() {
  if (!fs.existsSync(path.join(DIST_TEST, 'manifest.json'))) {
    throw new Error(`${DIST_TEST} has no manifest.json: run ./build.sh build --test-variant first`);
  }
  return DIST_TEST;
}
