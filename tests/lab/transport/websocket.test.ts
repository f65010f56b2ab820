import { afterEach, describe, expect, it } from "bun:test";
import { resolve } from "node:path";
import { DialRefusedError, FrameTooLargeError } from "../../../src/transport/errors.ts";
import type { Link } from "../../../src/transport/link.ts";
import { MAX_FRAME_BYTES, PRE_HANDSHAKE_FRAME_BYTES } from "../../../src/transport/limits.ts";
import { PIECE_BYTES } from "../../../src/transport/websocket/link.ts";
import {
  routedWebSocket,
  websocketTransport,
  type Routed,
  type WebSocketTransport,
  type WebSocketTransportInit,
} from "../../../src/transport/websocket/index.ts";
import { waitFor } from "../../helpers/instance.ts";
import { deadTcpPort } from "../../helpers/ports.ts";
import { closeReason, transportCompliance } from "../../helpers/compliance.ts";

/** The app's `--ws-port` server in miniature: `/link` goes to the transport, through the routed handler. */
function serve(transport: WebSocketTransport) {
  return Bun.serve<Routed>({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req, server) => (new URL(req.url).pathname === "/link" ? transport.upgrade(req, server) : new Response("no", { status: 404 })),
    websocket: routedWebSocket,
  });
}

transportCompliance("websocket", async (options) => {
  const a = websocketTransport(options);
  const b = websocketTransport(options);
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
  // Raw links, with no secure handshake: frames of any size from the start, unless a test says otherwise.
  async function pair(listenerInit?: WebSocketTransportInit) {
    const listener = websocketTransport({ preHandshakeFrameBytes: MAX_FRAME_BYTES, ...listenerInit });
    const dialer = websocketTransport({ preHandshakeFrameBytes: MAX_FRAME_BYTES });
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

  /** A bare client WebSocket, open on a listener's /link, and the link the listener made for it. */
  async function rawClient(listenerInit?: WebSocketTransportInit) {
    const { address, accepted } = await pair(listenerInit);
    const socket = new WebSocket(`${address.ws}/link`);
    const closed = new Promise<CloseEvent>((resolve) => (socket.onclose = resolve));
    await new Promise((resolve) => (socket.onopen = resolve));
    await waitFor(() => accepted.length === 1);
    return { socket, closed, link: accepted[0]! };
  }

  /** A frame's pieces as the wire carries them: a lead byte (0: more follows, 1: the frame ends) and up to PIECE_BYTES. */
  const piece = (bytes: number, last: boolean) => {
    const message = new Uint8Array(1 + bytes);
    message[0] = last ? 1 : 0;
    return message;
  };

  it("a far end that sends one message over a piece loses the link before the server buffers it", async () => {
    const { socket, closed, link } = await rawClient();
    const atListener = closeReason(link);
    socket.send(new Uint8Array(MAX_FRAME_BYTES + 1));
    expect((await closed).code).toBe(1009);
    // Bun's server refuses it before the tier sees it (routedWebSocket.maxPayloadLength); locally it reports code 1006.
    expect(await atListener).toMatch(/^connection lost \(code \d+: Received too big message\)$/);
  });

  it("a far end whose pieces add up to a frame over 16 MiB loses the link (code 1009)", async () => {
    const { socket, closed, link } = await rawClient();
    const atListener = closeReason(link);
    for (let sent = 0; sent <= MAX_FRAME_BYTES; sent += PIECE_BYTES) socket.send(piece(PIECE_BYTES, false));
    expect((await closed).code).toBe(1009);
    expect(await atListener).toBe(`a frame over the ${MAX_FRAME_BYTES}-byte limit arrived`);
  });

  it("before the secure handshake, a frame over the small pre-handshake limit closes the link at its first piece past it", async () => {
    const { socket, closed, link } = await rawClient({ preHandshakeFrameBytes: PRE_HANDSHAKE_FRAME_BYTES });
    const atListener = closeReason(link);
    socket.send(piece(PIECE_BYTES, false));
    socket.send(piece(1, false));
    expect((await closed).code).toBe(1009);
    expect(await atListener).toBe(`a frame over the ${PRE_HANDSHAKE_FRAME_BYTES}-byte limit arrived`);
  });

  it("a frame of the pre-handshake limit is taken; once authenticated, one of 16 MiB", async () => {
    const { connect } = await pair({ preHandshakeFrameBytes: PRE_HANDSHAKE_FRAME_BYTES });
    const { mine, theirs } = await connect();
    const got: Uint8Array[] = [];
    theirs.onFrame((f) => got.push(f));
    mine.send(new Uint8Array(PRE_HANDSHAKE_FRAME_BYTES).fill(3));
    await waitFor(() => got.length === 1);
    theirs.authenticate!({ send: new Uint8Array(32), receive: new Uint8Array(32) });
    mine.send(new Uint8Array(MAX_FRAME_BYTES).fill(4));
    await waitFor(() => got.length === 2);
    expect([got[0]!.byteLength, got[1]!.byteLength]).toEqual([PRE_HANDSHAKE_FRAME_BYTES, MAX_FRAME_BYTES]);
    expect(theirs.closed).toBe(false);
  });

  it("a dialer whose far end sends one message over a piece closes the link (code 1003)", async () => {
    // A bare server standing in for a peer that ignores the wire format.
    const peerSaw = Promise.withResolvers<number>();
    const rogue = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req, server) => (server.upgrade(req) ? undefined : new Response("no", { status: 400 })),
      websocket: { open: (ws) => void ws.sendBinary(piece(PIECE_BYTES + 1, true)), message() {}, close: (_, code) => peerSaw.resolve(code) },
    });
    cleanup.push(() => rogue.stop(true));
    const dialer = websocketTransport();
    cleanup.push(() => dialer.close());
    const link = await dialer.dial({ ws: `ws://127.0.0.1:${rogue.port}` });
    expect(await closeReason(link)).toBe(`a message of ${PIECE_BYTES + 2} bytes led by 1 is no piece of a frame`);
    expect(await peerSaw.promise).toBe(1003);
  });

  it("carries a 16 MiB frame; a bigger one throws FrameTooLargeError, sends nothing and the link stays open", async () => {
    const { connect } = await pair();
    const { mine, theirs } = await connect();
    const got: Uint8Array[] = [];
    theirs.onFrame((f) => got.push(f));
    const max = new Uint8Array(MAX_FRAME_BYTES).map((_, i) => i % 253);
    mine.send(max);
    await waitFor(() => got.length === 1);
    expect(got[0]!.byteLength).toBe(max.byteLength);
    expect(Buffer.compare(got[0]!, max)).toBe(0);
    expect(() => mine.send(new Uint8Array(MAX_FRAME_BYTES + 1))).toThrow(FrameTooLargeError);
    mine.send(Uint8Array.of(9));
    await waitFor(() => got.length === 2);
    expect(got[1]).toEqual(Uint8Array.of(9));
    expect(mine.closed).toBe(false);
    expect(theirs.closed).toBe(false);
  });

  it("a text message is not a frame and closes the link", async () => {
    const { socket, closed, link } = await rawClient();
    socket.send("hello");
    expect((await closed).code).toBe(1003);
    expect(link.closed).toBe(true);
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
    await expect(dialer.dial({ ws: `ws://127.0.0.1:${server.port}` })).rejects.toBeInstanceOf(DialRefusedError);
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
    await expect(dialer.dial(address)).rejects.toBeInstanceOf(DialRefusedError);
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
    const module = resolve(import.meta.dir, "../../../src/transport/websocket/index.ts");
    const child = Bun.spawn(
      [
        process.execPath,
        "-e",
        `import { routedWebSocket, websocketTransport } from ${JSON.stringify(module)};
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
    // 30 MiB: far past Bun's own send buffer (16 MiB), within the link's queue limit (32 MiB).
    for (let i = 0; i < 30; i++) theirs.send(frame.fill(i % 256));
    await waitFor(() => count === 30, 10_000);
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
    await expect(dialer.dial(address)).rejects.toBeInstanceOf(DialRefusedError);
  });
});
