#!/usr/bin/env node
// with-server.mjs — runs one command beside a real worktime-server, for the
// wasm shell's browser tests (crates/worktime-wasm/tests):
//
//   node tests/e2e/support/with-server.mjs cargo test --target wasm32-unknown-unknown -p worktime-wasm
//
// It starts `worktime-server serve` on a loopback port with a temporary
// SQLite file, creates a user with two device tokens through the server's
// CLI, and runs the command with:
//   WORKTIME_TEST_SERVER        the server's base URL
//   WORKTIME_TEST_TOKEN         a token of user "wasm-tester", device "headless-chromium"
//   WORKTIME_TEST_TOKEN_LIMITED a second token of that user, for rate-limit tests
//   WASM_BINDGEN_TEST_ADDRESS   where wasm-bindgen-test-runner serves the tests
// The runner's page is a web origin, not chrome-extension://, so the server
// is told to allow that one origin through CORS (--allow-origin); the port
// is picked by the OS just before. The server is stopped by its pid when the
// command ends, whatever the outcome, and the command's exit code is ours.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { startServer } from './server.js';

/** A loopback port the OS says is free now. */
async function freePort() {
  const probe = net.createServer();
  await new Promise((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node tests/e2e/support/with-server.mjs <command> [args...]');
  process.exit(2);
}

const runnerPort = await freePort();
const runnerOrigin = `http://127.0.0.1:${runnerPort}`;
const server = await startServer({ args: ['--allow-origin', runnerOrigin] });
let code = 1;
try {
  const token = server.addUserWithToken('wasm-tester', 'headless-chromium');
  const limited = server.addToken('wasm-tester', 'rate-limited');
  const child = spawn(command, args, {
    stdio: 'inherit',
    env: {
      ...process.env,
      WORKTIME_TEST_SERVER: server.url,
      WORKTIME_TEST_TOKEN: token,
      WORKTIME_TEST_TOKEN_LIMITED: limited,
      WASM_BINDGEN_TEST_ADDRESS: `127.0.0.1:${runnerPort}`,
    },
  });
  const stop = (signal) => child.kill(signal);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  code = await new Promise((resolve) => {
    child.once('error', (err) => {
      console.error(`with-server: could not run ${command}: ${err.message}`);
      resolve(127);
    });
    child.once('exit', (status, signal) => resolve(status ?? (signal ? 128 : 1)));
  });
  if (code !== 0) console.error(`with-server: the server's log:\n${server.log()}`);
} finally {
  await server.close();
}
process.exit(code);
