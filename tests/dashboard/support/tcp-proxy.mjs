// A TCP proxy in front of the real server that can cut the link: every open
// connection is dropped and new ones are refused until restored. The page
// talks through it, so a test can break the live stream the way a flaky
// network or a restarting proxy does, while the server itself stays up.
import net from 'node:net';

/** Starts a proxy on 127.0.0.1:0 forwarding to `target` (an http:// URL). */
export async function startTcpProxy(target) {
  let { hostname, port } = new URL(target);
  let up = true;
  const sockets = new Set();
  const server = net.createServer((client) => {
    if (!up) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client);
    sockets.add(upstream);
    const done = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', done);
      s.on('close', done);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    /** Drops every connection and refuses new ones. */
    cut() {
      up = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    /** Lets connections through again. */
    restore() {
      up = true;
    },
    /** Sends new connections to another server (a restart on a new port). */
    retarget(url) {
      ({ hostname, port } = new URL(url));
    },
    close() {
      this.cut();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
