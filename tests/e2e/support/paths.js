// paths.js — where things are in the repository.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The built extension (`./build.sh build`). */
export const DIST = path.join(ROOT, 'dist');
/** Debian's Chromium. */
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
