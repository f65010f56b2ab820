// Runs inside a test namespace: answers on a UNIX socket by forwarding to an HTTP server in that namespace.
const [socket, target] = process.argv.slice(2) as [string, string];
Bun.serve({
  unix: socket,
  async fetch(req) {
    const url = new URL(req.url);
    return fetch(`${target}${url.pathname}${url.search}`, { method: req.method, headers: req.headers, body: req.body });
  },
});
