// wasm-size.js — the shipped module's size: raw bytes, and `gzip -9` as
// `./build.sh build` reports it (Node's zlib at level 9 when there is no
// gzip binary; it comes out about 1 % larger).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/** Sizes of `<dist>/worktime_wasm_bg.wasm` in bytes, and what compressed it. */
export function measureWasmSize(dist) {
  const file = path.join(dist, 'worktime_wasm_bg.wasm');
  const raw = fs.readFileSync(file);
  let gzip;
  let by = 'gzip -9';
  try {
    gzip = execFileSync('gzip', ['-9', '-c', file], { maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] }).length;
  } catch {
    gzip = zlib.gzipSync(raw, { level: 9 }).length;
    by = 'zlib level 9';
  }
  return { file, raw: raw.length, gzip, by };
}
