// certs.js — a throwaway self-signed certificate for "github.com", made
// with openssl at test time in a temporary directory; never committed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Writes key.pem and cert.pem for CN/SAN github.com into `dir`; returns their contents. */
export function makeGithubCert(dir) {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
    '-keyout', key, '-out', cert,
    '-subj', '/CN=github.com',
    '-addext', 'subjectAltName=DNS:github.com',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
}
