// wasm-size.js — the shipped module's size: raw bytes, and gzip -9 as a
// server or store would compress it.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/** Sizes of `<dist>/worktime_wasm_bg.wasm` in bytes. */
export function measureWasmSize(dist) {
  const file = path.join(dist, 'worktime_wasm_bg.wasm');
  const raw = fs.readFileSync(file);
  const gzip = zlib.gzipSync(raw, { level: 9 });
  return { file, raw: raw.length, gzip: gzip.length };
}
