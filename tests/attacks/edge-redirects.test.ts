/**
 * Issue 22, high: redirects reopened SSRF, and answers from outside were read whole. Whoever answers at an address
 * given from outside (a `--peer` URL, an invite, the port a linked stranger asks to be dialled back at, a peer's HTTP
 * tier) could send a 3xx to a URL of its choosing inside this machine's network, which the instance then requested,
 * or an endless body, which it buffered. Here a rogue HTTP server does both, and a second server on loopback stands
 * for the internal service and counts what reaches it.
 */
import { afterEach, describe, expect, it } from "bun:test";
import type { Server } from "bun";
import { PROTOCOL_VERSION } from "../../src/domain/protocol.ts";
import { startInstance, waitFor } from "../helpers/instance.ts";
import { rogueIdentity, startRogue } from "../helpers/rogue.ts";
import { nodeIdOf } from "../../src/storage/identity.ts";

const servers: Server<unknown>[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) void server.stop(true);
});

/** The service inside the network: it counts every request that reaches it. */
function internalService() {
  const hits: string[] = [];
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => (hits.push(`${req.method} ${new URL(req.url).pathname}`), new Response("secret")) });
  servers.push(server);
  return { hits, url: `http://127.0.0.1:${server.port}` };
}

/** A rogue HTTP server; `route` answers each request, and every request it saw is listed. */
function rogueServer(route: (req: Request) => Response) {
  const seen: string[] = [];
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => (seen.push(`${req.method} ${new URL(req.url).pathname}`), route(req)) });
  servers.push(server);
  return { seen, url: `http://127.0.0.1:${server.port}`, port: server.port! };
}

const redirect = (to: string, status = 302) => new Response(null, { status, headers: { location: to } });

describe("no redirect from outside is followed", () => {
  it("a --peer whose /mesh/info redirects to an internal URL: the internal URL is never requested", async () => {
    const internal = internalService();
    const rogue = rogueServer(() => redirect(`${internal.url}/admin?room=pwned`));
    await using a = await startInstance({ args: ["--peer", rogue.url] });
    await waitFor(() => rogue.seen.length >= 2, 15_000, "the instance to ask the rogue twice");
    await waitFor(() => a.output().includes("redirects are not followed"), 5000, "the log line saying why");
    expect(internal.hits).toEqual([]);
  }, 30_000);

  it("a linked stranger asking for a dial-back at a port that redirects: the internal URL is never requested", async () => {
    const internal = internalService();
    const rogue = rogueServer(() => redirect(`${internal.url}/mesh/info`, 307));
    await using a = await startInstance({ args: ["--transports", "websocket"] });
    await using stranger = await startRogue();
    await stranger.link(a);
    const answers = await stranger.links.checkReach({ http: rogue.port, ws: rogue.port });
    expect(rogue.seen).toContain("GET /mesh/info");
    expect(answers.map((x) => x.http)).toEqual([false]);
    expect(internal.hits).toEqual([]);
  }, 30_000);

  it("a peer's HTTP tier that redirects its open to an internal URL: the internal URL is never requested", async () => {
    const internal = internalService();
    const node_id = nodeIdOf(rogueIdentity().publicKey);
    const rogue = rogueServer((req) =>
      new URL(req.url).pathname === "/mesh/info"
        ? Response.json({ node_id, name: "rogue", protocol: PROTOCOL_VERSION, addresses: {} })
        : redirect(`${internal.url}/api/delete-everything`, 307),
    );
    await using a = await startInstance({ args: ["--transports", "http", "--peer", rogue.url] });
    await waitFor(() => rogue.seen.filter((s) => s === "POST /mesh/http/open").length >= 2, 15_000, "two dials of the rogue's HTTP tier");
    expect(internal.hits).toEqual([]);
    await waitFor(async () => JSON.stringify(await (await fetch(`${a.http}/peers?log=1`)).json()).includes("redirects are not followed"), 5000, "the dial's error naming the redirect");
  }, 30_000);
});

describe("answers from outside are read within a cap", () => {
  it("an endless /mesh/info answer is given up after its cap, and the instance keeps serving", async () => {
    let pulled = 0;
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    const rogue = rogueServer(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              if (pulled >= 256 * 1024 * 1024) return controller.close();
              pulled += chunk.byteLength;
              controller.enqueue(chunk);
            },
          }),
          { headers: { "content-type": "application/json" } },
        ),
    );
    await using a = await startInstance({ args: ["--peer", rogue.url] });
    await waitFor(() => a.output().includes("over 16384 bytes"), 15_000, "the instance to give the answer up");
    // What the rogue could push: the cap, and what the sockets' buffers took meanwhile.
    console.log(`bytes of an endless /mesh/info the rogue got the instance to take: ${pulled}`);
    expect(pulled).toBeLessThan(16 * 1024 * 1024);
    expect((await fetch(`${a.http}/healthz`)).status).toBe(200);
  }, 30_000);
});
