// bench.mjs — `./build.sh bench`: every benchmark of WorkTime Sync in one
// table, and the same as JSON in target/bench.json. Figures, not pass/fail:
// it exits 0 when a goal is missed and non-zero only when a measurement
// could not be taken (or the command line is wrong: 2).
//
// It runs against a private copy of the built extension ($WORKTIME_DIST, or
// dist/), so a rebuild of dist/ meanwhile cannot change what is measured;
// the copy also gets the bench's cold-start page (page/), which the shipped
// extension never has. The server is the release build
// ($WORKTIME_SERVER_BIN, or target/release/worktime-server).
//
// This file only prepares the environment: the support modules read
// WORKTIME_DIST and WORKTIME_SERVER_BIN when first imported, so everything
// else is imported after they are set.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions, UsageError, USAGE } from './options.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target');

let options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(`bench: ${err.message}\n${USAGE}`);
  process.exit(2);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}

const distSource = process.env.WORKTIME_DIST ? path.resolve(process.env.WORKTIME_DIST) : path.join(ROOT, 'dist');
if (!fs.existsSync(path.join(distSource, 'manifest.json'))) {
  console.error(`bench: ${distSource} has no manifest.json: run ./build.sh build first`);
  process.exit(1);
}
fs.mkdirSync(path.join(TARGET, 'bench'), { recursive: true });
const work = fs.mkdtempSync(path.join(TARGET, 'bench', 'run-'));
const dist = path.join(work, 'dist');
fs.cpSync(distSource, dist, { recursive: true });
fs.copyFileSync(path.join(HERE, 'page', 'cold-start.html'), path.join(dist, 'bench-cold-start.html'));
fs.copyFileSync(path.join(HERE, 'page', 'cold-start.js'), path.join(dist, 'bench-cold-start.js'));
process.env.WORKTIME_DIST = dist;
process.env.WORKTIME_SERVER_BIN ||= path.join(TARGET, 'release', 'worktime-server');
if (options.only.some((m) => m !== 'size' && m !== 'server') && !fs.existsSync(process.env.WORKTIME_SERVER_BIN)) {
  console.error(`bench: ${process.env.WORKTIME_SERVER_BIN} is missing: cargo build --release -p worktime-server`);
  process.exit(1);
}

const jsonFile = path.resolve(options.json ?? path.join(TARGET, 'bench.json'));
let code = 1;
try {
  const { run } = await import('./run.js');
  code = await run(options, { distSource: path.relative(ROOT, distSource) || distSource, jsonFile });
} catch (err) {
  console.error(`bench failed: ${err.stack ?? err}`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(code);
