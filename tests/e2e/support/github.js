// github.js — a local HTTPS stand-in for github.com that serves pull-request
// pages (and a few other pages) on 127.0.0.1. Chromium reaches it as
// https://github.com/... through --host-resolver-rules.
import https from 'node:https';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { makeGithubCert } from './certs.js';

function escape(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A page like GitHub's: a title, some content, and links for in-page navigation tests. */
function page(pathname) {
  const pr = /^\/([^/]+)\/([^/]+)\/pull\/(\d+)/.exec(pathname);
  const title = pr ? `Pull request #${pr[3]} · ${pr[1]}/${pr[2]}` : `GitHub ${pathname}`;
  const base = pr ? `/${pr[1]}/${pr[2]}/pull/${pr[3]}` : '';
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><h1>${escape(title)}</h1>
<p>Review content that the extension must never read.</p>
${pr ? `<nav><a id="files" href="${base}/files">Files</a> <a id="commits" href="${base}/commits">Commits</a></nav>` : ''}
</body></html>`;
}

/**
 * Starts the server on 127.0.0.1 with a fresh certificate. Returns
 * `{ port, requests, close }`; `requests` lists the paths served.
 */
export async function startGithub() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-github-'));
  const { key, cert } = makeGithubCert(dir);
  const requests = [];
  const server = https.createServer({ key, cert }, (req, res) => {
    const url = new URL(req.url, 'https://github.com');
    requests.push(url.pathname);
    if (url.pathname === '/favicon.ico') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(page(url.pathname));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    port,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
