import { afterEach, describe, expect, it } from "bun:test";
import { resolve } from "node:path";
import { websocketTransport, type WebSocketTransport, type WebSocketTransportInit } from "../../src/transport/websocket.ts";
import { DialError, type Link } from "../../src/transport/types.ts";
import { routedWebSocket, type Routed } from "../../src/transport/ws-server.ts";
import { waitFor } from "../helpers/instance.ts";
import { deadTcpPort } from "../helpers/ports.ts";
import { closeReason, transportCompliance } from "./compliance.ts";

/** The app's `--ws-port` server in miniature: `/link` goes to the transport, through the routed handler. */
function serve(transport: WebSocketTransport) {
  return Bun.serve<Routed>({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req, server) => (new URL(req.url).pathname === "/link" ? transport.upgrade(req, server) : new Response("no", { status: 404 })),
    websocket: routedWebSocket,
  });
}

transportCompliance("websocket", async () => {
  const a = websocketTransport();
  const b = websocketTransport();
  const server = serve(b);
  return {
    a,
    b,
    addressOfB: { ws: `ws://127.0.0.1:${server.port}` },
    nowhere: { ws: `ws://127.0.0.1:${deadTcpPort()}` },
    teardown: async () => void server.stop(true),
  };
});

describe("websocket tier", () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** A listening transport behind its own server, and a dialer; both closed after the test. */
  async function pair(listenerInit?: WebSocketTransportInit, dialerInit?: WebSocketTransportInit) {
    const listener = websocketTransport(listenerInit);
    const dialer = websocketTransport(dialerInit);
    const server = serve(listener);
    cleanup.push(() => server.stop(true), () => listener.close(), () => dialer.close());
    const accepted: Link[] = [];
    await listener.listen((link) => accepted.push(link));
    const address = { ws: `ws://127.0.0.1:${server.port}` };
    const connect = async () => {
      const before = accepted.length;
      const mine = await dialer.dial(address);
      await waitFor(() => accepted.length > before);
      return { mine, theirs: accepted.at(-1)! };
    };
    return { listener, dialer, server, address, accepted, connect };
  }

  it("a frame over the receiver's limit closes the link on both sides, with the reason", async () => {
    const { connect } = await pair({ maxFrameBytes: 1024 });
    const { mine, theirs } = await connect();
    const atListener = closeReason(theirs);
    const atDialer = closeReason(mine);
    mine.send(new Uint8Array(1024)); // at the limit: fine
    mine.send(new Uint8Array(1025));
    expect(await atListener).toBe("frame of 1025 bytes is over the 1024-byte limit");
    expect(await atDialer).toBe("connection lost (code 1009: frame of 1025 bytes is over the 1024-byte limit)");
  });

  it("the dialing side enforces its limit too", async () => {
    const { connect } = await pair({}, { maxFrameBytes: 100 });
    const { mine, theirs } = await connect();
    const atDialer = closeReason(mine);
    const atListener = closeReason(theirs);
    theirs.send(new Uint8Array(101));
    expect(await atDialer).toBe("frame of 101 bytes is over the 100-byte limit");
    expect(await atListener).toContain("code 1009");
  });

  it("carries a 16 MiB frame, and closes on a bigger one", async () => {
    const { connect } = await pair();
    const { mine, theirs } = await connect();
    const got: Uint8Array[] = [];
    theirs.onFrame((f) => got.push(f));
    const max = new Uint8Array(16 * 1024 * 1024).map((_, i) => i % 253);
    mine.send(max);
    await waitFor(() => got.length === 1);
    expect(got[0]!.byteLength).toBe(max.byteLength);
    expect(Buffer.compare(got[0]!, max)).toBe(0);
    const closed = closeReason(theirs);
    mine.send(new Uint8Array(16 * 1024 * 1024 + 1));
    // Bun's server refuses it before the tier sees it (routedWebSocket.maxPayloadLength).
    expect(await closed).toMatch(/^connection lost \(code \d+: Received too big message\)$/);
    await waitFor(() => mine.closed);
  });

  it("a text message is not a frame and closes the link", async () => {
    const { listener, address } = await pair();
    const links: Link[] = [];
    await listener.listen((link) => links.push(link));
    const socket = new WebSocket(`${address.ws}/link`);
    const closed = new Promise<CloseEvent>((resolve) => (socket.onclose = resolve));
    await new Promise((resolve) => (socket.onopen = resolve));
    socket.send("hello");
    expect((await closed).code).toBe(1003);
    expect(links[0]!.closed).toBe(true);
  });

  it("refuses upgrades with 503 JSON before listen", async () => {
    const transport = websocketTransport();
    const server = serve(transport);
    cleanup.push(() => server.stop(true), () => transport.close());
    const res = await fetch(`http://127.0.0.1:${server.port}/link`, { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: expect.any(String) });
    const dialer = websocketTransport();
    cleanup.push(() => dialer.close());
    await expect(dialer.dial({ ws: `ws://127.0.0.1:${server.port}` })).rejects.toBeInstanceOf(DialError);
  });

  it("answers 426 JSON to a plain HTTP request on /link", async () => {
    const { address } = await pair();
    const res = await fetch(`${address.ws.replace("ws:", "http:")}/link`);
    expect(res.status).toBe(426);
    expect(await res.json()).toEqual({ error: "this endpoint speaks WebSocket only" });
  });

  it("answers 429 past maxLinks, and accepts again once a link closes", async () => {
    const { dialer, address, connect } = await pair({ maxLinks: 2 });
    const first = await connect();
    await connect();
    await expect(dialer.dial(address)).rejects.toBeInstanceOf(DialError);
    const res = await fetch(`${address.ws.replace("ws:", "http:")}/link`, { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({ error: expect.any(String) });
    first.mine.close("making room");
    await waitFor(() => first.theirs.closed);
    await connect();
  });

  it("a stopped server closes the dialer's link", async () => {
    const { server, connect } = await pair();
    const { mine, theirs } = await connect();
    const atDialer = closeReason(mine);
    const atListener = closeReason(theirs);
    server.stop(true);
    expect(await atDialer).toMatch(/^(connection lost|closed by peer)/);
    expect(await atListener).toBeString();
  });

  it("a killed listener process closes the dialer's link", async () => {
    const module = resolve(import.meta.dir, "../../src/transport/websocket.ts");
    const routed = resolve(import.meta.dir, "../../src/transport/ws-server.ts");
    const child = Bun.spawn(
      [
        process.execPath,
        "-e",
        `import { websocketTransport } from ${JSON.stringify(module)};
         import { routedWebSocket } from ${JSON.stringify(routed)};
         const t = websocketTransport();
         await t.listen((link) => link.onFrame((f) => link.send(f)));
         const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req, server) => t.upgrade(req, server), websocket: routedWebSocket });
         console.log(s.port);`,
      ],
      { stdout: "pipe", stderr: "inherit" },
    );
    cleanup.push(() => child.kill("SIGKILL"));
    const reader = child.stdout.getReader();
    const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
    const dialer = websocketTransport();
    cleanup.push(() => dialer.close());
    const link = await dialer.dial({ ws: `ws://127.0.0.1:${port}` });
    const echoed = Promise.withResolvers<Uint8Array>();
    link.onFrame(echoed.resolve);
    link.send(Uint8Array.of(7));
    expect(await echoed.promise).toEqual(Uint8Array.of(7));
    const closed = closeReason(link);
    child.kill("SIGKILL");
    expect(await closed).toStartWith("connection lost");
    expect(() => link.send(Uint8Array.of(1))).toThrow();
  });

  it("a burst far past the socket's send buffer arrives whole and in order", async () => {
    const { connect } = await pair();
    const { mine, theirs } = await connect();
    let count = 0;
    let inOrder = true;
    mine.onFrame((f) => {
      if (f[0] !== count % 256 || f.byteLength !== 1024 * 1024) inOrder = false;
      count++;
    });
    const frame = new Uint8Array(1024 * 1024);
    for (let i = 0; i < 48; i++) theirs.send(frame.fill(i % 256));
    await waitFor(() => count === 48, 10_000);
    expect(inOrder).toBe(true);
    expect(theirs.closed).toBe(false);
  });

  it("a dial aborted mid-handshake rejects with the signal's reason", async () => {
    // A server that never answers the upgrade holds the dial open.
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    cleanup.push(() => silent.stop(true));
    const dialer = websocketTransport();
    cleanup.push(() => dialer.close());
    const ac = new AbortController();
    const dial = dialer.dial({ ws: `ws://127.0.0.1:${silent.port}` }, ac.signal);
    setTimeout(() => ac.abort(new Error("took too long")), 50);
    await expect(dial).rejects.toThrow("took too long");
  });

  it("closing the listening transport refuses new links", async () => {
    const { listener, dialer, address, connect } = await pair();
    const { mine } = await connect();
    await listener.close();
    await waitFor(() => mine.closed);
    await expect(dialer.dial(address)).rejects.toBeInstanceOf(DialError);
  });
});
