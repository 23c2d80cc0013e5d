// paths.js — where things are in the repository.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The built extension (`./build.sh build`), or $WORKTIME_DIST. */
export const DIST = process.env.WORKTIME_DIST ? path.resolve(process.env.WORKTIME_DIST) : path.join(ROOT, 'dist');
/** The end-to-end tests' own build (`./build.sh build --test-variant`: a 6 s
 * fallback alarm), or $WORKTIME_DIST_TEST. */
export const DIST_TEST = process.env.WORKTIME_DIST_TEST
  ? path.resolve(process.env.WORKTIME_DIST_TEST)
  : path.join(ROOT, 'target', 'dist-test');
/** Debian's Chromium. */
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
