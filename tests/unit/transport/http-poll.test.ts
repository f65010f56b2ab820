import { afterEach, describe, expect, it } from "bun:test";
import { DialError, DialRefusedError, FrameTooLargeError, LinkClosedError, TransportClosedError } from "../../../src/transport/errors.ts";
import { MAX_FRAME_BYTES } from "../../../src/transport/limits.ts";
import { decodeFrames, encodeFrames, httpTransport, type HttpTransport, type HttpTransportInit } from "../../../src/transport/http/index.ts";
import type { Link } from "../../../src/transport/link.ts";
import { waitFor } from "../../helpers/instance.ts";
import { deadTcpPort } from "../../helpers/ports.ts";
import { closeReason, transportCompliance } from "../../helpers/compliance.ts";

/** A bare HTTP server on loopback that hands every request to the transport, as the app's `--http-port` would. */
function serve(transport: HttpTransport) {
  return Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req, server) => transport.handle(req, server) });
}

transportCompliance("http", async (options) => {
  const a = httpTransport(options);
  const b = httpTransport(options);
  const server = serve(b);
  return {
    a,
    b,
    addressOfB: { http: `http://127.0.0.1:${server.port}` },
    nowhere: { http: `http://127.0.0.1:${deadTcpPort()}` },
    teardown: async () => void server.stop(true),
  };
});

describe("http tier", () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** A listening transport behind its own server, and a dialer; all stopped after the test. */
  // Raw links, with no secure handshake: frames of any size from the start, unless a test says otherwise.
  async function pair(listenerInit?: HttpTransportInit, dialerInit?: HttpTransportInit) {
    const listener = httpTransport({ preHandshakeFrameBytes: MAX_FRAME_BYTES, ...listenerInit });
    const dialer = httpTransport({ preHandshakeFrameBytes: MAX_FRAME_BYTES, ...dialerInit });
    const server = serve(listener);
    cleanup.push(() => server.stop(true), () => listener.close(), () => dialer.close());
    const accepted: Link[] = [];
    await listener.listen((link) => accepted.push(link));
    const base = `http://127.0.0.1:${server.port}`;
    const connect = async () => {
      const mine = await dialer.dial({ http: base });
      await waitFor(() => accepted.length > 0);
      return { mine, theirs: accepted.at(-1)! };
    };
    return { listener, dialer, server, base, accepted, connect };
  }

  it("a held poll answers as soon as a frame is queued", async () => {
    const { connect } = await pair();
    const { mine, theirs } = await connect();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      await Bun.sleep(50); // the dialer's poll is held by now
      const arrived = Promise.withResolvers<void>();
      mine.onFrame(() => arrived.resolve());
      const sentAt = performance.now();
      theirs.send(Uint8Array.of(i));
      await arrived.promise;
      delays.push(performance.now() - sentAt);
    }
    expect(Math.max(...delays)).toBeLessThan(100);
  });

  it("carries 2000 small and several 1 MiB frames each way, in order", async () => {
    const { connect } = await pair();
    const { mine, theirs } = await connect();
    const frames = Array.from({ length: 2000 }, (_, i) =>
      i % 400 === 7 ? new Uint8Array(1024 * 1024).fill(i % 256) : new TextEncoder().encode(`frame ${i}`),
    );
    const atListener: Uint8Array[] = [];
    const atDialer: Uint8Array[] = [];
    theirs.onFrame((f) => atListener.push(f));
    mine.onFrame((f) => atDialer.push(f));
    for (const [i, frame] of frames.entries()) {
      mine.send(frame);
      theirs.send(frame);
      if (i % 100 === 0) await Bun.sleep(0); // spread over many ticks, so over many requests
    }
    await waitFor(() => atListener.length === frames.length && atDialer.length === frames.length, 15_000);
    expect(atListener).toEqual(frames);
    expect(atDialer).toEqual(frames);
  });

  it("frames sent in one tick share one send request", async () => {
    const sends: string[] = [];
    const { connect } = await pair({}, {
      fetch: (url, init) => {
        if (url.includes("/send?")) sends.push(url);
        return fetch(url, init);
      },
    });
    const { mine, theirs } = await connect();
    const got: Uint8Array[] = [];
    theirs.onFrame((f) => got.push(f));
    for (let i = 0; i < 100; i++) mine.send(Uint8Array.of(i));
    await waitFor(() => got.length === 100);
    expect(sends).toHaveLength(1);
  });

  it("a lost poll response loses nothing: the next poll carries the frames again", async () => {
    let dropped = 0;
    const { connect } = await pair({}, {
      fetch: async (url, init) => {
        const res = await fetch(url, init);
        // Lose the first two responses that carry frames, after the listener has sent them.
        if (url.includes("/poll?") && dropped < 2 && res.headers.get("x-mesh-seq") !== new URL(url).searchParams.get("ack")) {
          await res.arrayBuffer();
          dropped++;
          throw new TypeError("simulated lost response");
        }
        return res;
      },
    });
    const { mine, theirs } = await connect();
    const got: number[] = [];
    mine.onFrame((f) => got.push(f[0]!));
    for (let i = 0; i < 10; i++) theirs.send(Uint8Array.of(i));
    await waitFor(() => got.length >= 10);
    await Bun.sleep(50);
    expect(dropped).toBe(2);
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(mine.closed).toBe(false);
  });

  it("a lost send response is retried without duplicating frames", async () => {
    let dropped = 0;
    const { connect } = await pair({}, {
      fetch: async (url, init) => {
        const res = await fetch(url, init);
        if (url.includes("/send?") && dropped++ === 0) throw new TypeError("simulated lost response");
        return res;
      },
    });
    const { mine, theirs } = await connect();
    const got: number[] = [];
    theirs.onFrame((f) => got.push(f[0]!));
    for (let i = 0; i < 5; i++) mine.send(Uint8Array.of(i));
    await waitFor(() => got.length >= 5);
    mine.send(Uint8Array.of(5));
    await waitFor(() => got.length >= 6);
    await Bun.sleep(50);
    expect(got).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("the listener resends unacknowledged frames to a repeated poll (protocol)", async () => {
    const { base, accepted } = await pair({ pollHoldMs: 2000 });
    const { session } = (await (await fetch(`${base}/mesh/http/open`, { method: "POST" })).json()) as { session: string };
    const theirs = accepted[0]!;
    for (const text of ["a", "b", "c"]) theirs.send(new TextEncoder().encode(text));
    const poll = async (ack: number) => {
      const res = await fetch(`${base}/mesh/http/${session}/poll?ack=${ack}`);
      const frames = decodeFrames(new Uint8Array(await res.arrayBuffer()), 1 << 24).map((f) => new TextDecoder().decode(f));
      return { seq: res.headers.get("x-mesh-seq"), frames };
    };
    expect(await poll(0)).toEqual({ seq: "3", frames: ["a", "b", "c"] });
    expect(await poll(0)).toEqual({ seq: "3", frames: ["a", "b", "c"] });
    expect(await poll(2)).toEqual({ seq: "3", frames: ["c"] });
    const held = poll(3);
    await Bun.sleep(50);
    theirs.send(new TextEncoder().encode("d"));
    expect(await held).toEqual({ seq: "4", frames: ["d"] });
    const res = await fetch(`${base}/mesh/http/${session}/poll?ack=1`);
    expect(res.status).toBe(400); // already acked past 1
    expect(await res.json()).toEqual({ error: "ack must be from 3 to 4" });
  });

  it("a dialer that stops polling has its session closed, on both sides", async () => {
    let paused = false;
    const { connect } = await pair({ sessionTimeoutMs: 300, pollHoldMs: 100 }, {
      fetch: async (url, init) => {
        if (url.includes("/poll?") && paused) await waitFor(() => !paused, 10_000);
        return fetch(url, init);
      },
    });
    const { mine, theirs } = await connect();
    const atListener = closeReason(theirs);
    const atDialer = closeReason(mine);
    paused = true;
    expect(await atListener).toBe("the dialer has not polled for 300 ms");
    paused = false;
    expect(await atDialer).toStartWith("the peer no longer knows this link");
  });

  it("a listener whose dialer stops polling closes the link once too much is queued", async () => {
    const { base, accepted } = await pair({ maxQueuedBytes: 10_000 });
    await fetch(`${base}/mesh/http/open`, { method: "POST" });
    const theirs = accepted[0]!;
    const closed = closeReason(theirs);
    expect(() => {
      for (let i = 0; i < 20; i++) theirs.send(new Uint8Array(1000));
    }).toThrow(LinkClosedError);
    expect(await closed).toBe("the far end is not reading: over 10000 bytes waiting to be sent");
  });

  it("a dialer whose sends stall closes the link once too much is queued, and tells the listener", async () => {
    const { connect } = await pair({}, {
      maxQueuedBytes: 10_000,
      fetch: (url, init) =>
        url.includes("/send?")
          ? new Promise((_, reject) => init.signal!.addEventListener("abort", () => reject(init.signal!.reason)))
          : fetch(url, init),
    });
    const { mine, theirs } = await connect();
    const atDialer = closeReason(mine);
    const atListener = closeReason(theirs);
    expect(() => {
      for (let i = 0; i < 20; i++) mine.send(new Uint8Array(1000));
    }).toThrow(LinkClosedError);
    expect(await atDialer).toBe("the far end is not reading: over 10000 bytes waiting to be sent");
    expect(await atListener).toBe("closed by peer: the far end is not reading: over 10000 bytes waiting to be sent");
  });

  it("frames sent before the listener closes still arrive, then the close", async () => {
    const { connect } = await pair();
    const { mine, theirs } = await connect();
    const got: number[] = [];
    mine.onFrame((f) => got.push(f[0]!));
    const closed = closeReason(mine);
    theirs.send(Uint8Array.of(1));
    theirs.send(Uint8Array.of(2));
    theirs.close("bye");
    expect(await closed).toBe("closed by peer: bye");
    expect(got).toEqual([1, 2]);
  });

  it("frames sent before the dialer closes still arrive, then the close", async () => {
    const { connect } = await pair();
    const { mine, theirs } = await connect();
    const got: number[] = [];
    theirs.onFrame((f) => got.push(f[0]!));
    const closed = closeReason(theirs);
    mine.send(Uint8Array.of(1));
    mine.send(Uint8Array.of(2));
    mine.close("bye");
    expect(await closed).toBe("closed by peer: bye");
    expect(got).toEqual([1, 2]);
  });

  it("a dialer whose listener went away closes its link", async () => {
    const { server, connect } = await pair();
    const { mine } = await connect();
    const closed = closeReason(mine);
    server.stop(true);
    expect(await closed).toStartWith("poll failed 4 times");
  });

  it("a listener past its queue limit refuses the send, and its dialer learns of the close on its next poll", async () => {
    const { connect } = await pair({ maxQueuedBytes: 1024 * 1024 });
    const { mine, theirs } = await connect();
    const atDialer = closeReason(mine);
    expect(() => {
      for (let i = 0; i < 64; i++) theirs.send(new Uint8Array(64 * 1024));
    }).toThrow(LinkClosedError);
    expect(theirs.closed).toBe(true);
    expect(await atDialer).toBe("closed by peer: the far end is not reading: over 1048576 bytes waiting to be sent");
  });

  it("refuses to send a frame over the limit from the listener's end too; the link stays open", async () => {
    const { connect } = await pair();
    const { mine, theirs } = await connect();
    const first = new Promise<Uint8Array>((resolve) => mine.onFrame(resolve));
    expect(() => theirs.send(new Uint8Array(MAX_FRAME_BYTES + 1))).toThrow(FrameTooLargeError);
    expect(theirs.closed).toBe(false);
    theirs.send(Uint8Array.of(7));
    expect(await first).toEqual(Uint8Array.of(7)); // the refused frame would have come first
    expect(mine.closed).toBe(false);
  });

  it("a send the listener refuses closes the link on both sides", async () => {
    const { connect } = await pair({ maxFrameBytes: 1024 });
    const { mine, theirs } = await connect();
    const atDialer = closeReason(mine);
    const atListener = closeReason(theirs);
    mine.send(new Uint8Array(2000));
    expect(await atDialer).toStartWith("the peer refused a send: 413");
    expect(await atListener).toStartWith("closed by peer: the peer refused a send: 413");
  });

  it("dial failures say why: refused, closed, or a bad address", async () => {
    const { base, listener } = await pair();
    const dialer = httpTransport();
    cleanup.push(() => dialer.close());
    await expect(dialer.dial({ http: `http://127.0.0.1:${deadTcpPort()}` })).rejects.toBeInstanceOf(DialRefusedError);
    const notListening = httpTransport();
    const server = serve(notListening);
    cleanup.push(() => server.stop(true), () => notListening.close());
    const refused = dialer.dial({ http: `http://127.0.0.1:${server.port}` });
    await expect(refused).rejects.toBeInstanceOf(DialRefusedError);
    await expect(refused).rejects.toThrow("refused the link: 503");
    const bad = dialer.dial({ http: "not a url" });
    await expect(bad).rejects.toBeInstanceOf(DialError);
    await expect(bad).rejects.not.toBeInstanceOf(DialRefusedError);
    await listener.close();
    await expect(dialer.dial({ http: base })).rejects.toBeInstanceOf(DialRefusedError); // closed: 503
    await dialer.close();
    await expect(dialer.dial({ http: base })).rejects.toBeInstanceOf(TransportClosedError);
  });

  describe("refuses bad requests with 4xx JSON", () => {
    async function expectError(res: Response | Promise<Response>, status: number) {
      const r = await res;
      expect(r.status).toBe(status);
      expect(r.headers.get("content-type")).toContain("application/json");
      const body = (await r.json()) as { error: unknown };
      expect(Object.keys(body)).toEqual(["error"]);
      expect(body.error).toBeString();
    }

    it("before listen: 503", async () => {
      const transport = httpTransport();
      await expectError(transport.handle(new Request("http://x/mesh/http/open", { method: "POST" })), 503);
    });

    it("an unknown session: 404, on every action", async () => {
      const { base } = await pair();
      await expectError(fetch(`${base}/mesh/http/AAAAAAAAAAAAAAAAAAAAAA/poll?ack=0`), 404);
      await expectError(fetch(`${base}/mesh/http/nope/send?seq=1`, { method: "POST", body: encodeFrames([]) }), 404);
      await expectError(fetch(`${base}/mesh/http/nope`, { method: "DELETE" }), 404);
      await expectError(fetch(`${base}/mesh/http/`), 404);
      await expectError(fetch(`${base}/mesh/http/open/more`), 404);
    });

    it("bad framing, seq and ack: 400; wrong method: 405", async () => {
      const { base } = await pair();
      const { session } = (await (await fetch(`${base}/mesh/http/open`, { method: "POST" })).json()) as { session: string };
      const send = (body: Uint8Array, seq = "1") => fetch(`${base}/mesh/http/${session}/send?seq=${seq}`, { method: "POST", body });
      await expectError(send(Uint8Array.of(0, 0, 0, 9, 1, 2)), 400); // claims 9 bytes, has 2
      await expectError(send(Uint8Array.of(0, 0)), 400); // a cut length
      await expectError(send(encodeFrames([Uint8Array.of(1)]), "0"), 400);
      await expectError(send(encodeFrames([Uint8Array.of(1)]), "x"), 400);
      await expectError(send(encodeFrames([Uint8Array.of(1)]), "5"), 409); // frames 1-4 never came
      await expectError(fetch(`${base}/mesh/http/${session}/poll?ack=-1`), 400);
      await expectError(fetch(`${base}/mesh/http/${session}/poll?ack=7`), 400); // nothing was sent
      await expectError(fetch(`${base}/mesh/http/${session}/poll`, { method: "POST" }), 405);
      await expectError(fetch(`${base}/mesh/http/open`), 405);
      const ok = await send(encodeFrames([Uint8Array.of(1)]));
      expect(await ok.json()).toEqual({ received: 1 });
    });

    it("a send body over the limit: 413", async () => {
      const { base } = await pair({ maxFrameBytes: 1024 });
      const { session } = (await (await fetch(`${base}/mesh/http/open`, { method: "POST" })).json()) as { session: string };
      const url = `${base}/mesh/http/${session}/send?seq=1`;
      await expectError(fetch(url, { method: "POST", body: new Uint8Array(2000) }), 413);
      // Streamed without a Content-Length, the limit holds all the same.
      const stream = new ReadableStream({
        pull(controller) {
          controller.enqueue(new Uint8Array(700));
        },
      });
      await expectError(fetch(url, { method: "POST", body: stream }), 413);
      await expectError(fetch(url, { method: "POST", body: encodeFrames([new Uint8Array(1025)]) }), 413);
      const ok = await fetch(url, { method: "POST", body: encodeFrames([new Uint8Array(1024)]) });
      expect(ok.status).toBe(200);
    });

    it("past maxSessions: 429", async () => {
      const { base } = await pair({ maxSessions: 2 });
      const open = () => fetch(`${base}/mesh/http/open`, { method: "POST" });
      expect((await open()).status).toBe(200);
      expect((await open()).status).toBe(200);
      await expectError(open(), 429);
    });

    it("a request whose body cannot be read: 4xx, never a throw", async () => {
      const transport = httpTransport();
      await transport.listen(() => {});
      const open = await transport.handle(new Request("http://x/mesh/http/open", { method: "POST" }));
      const { session } = (await open.json()) as { session: string };
      const broken = new ReadableStream({
        pull() {
          throw new Error("connection reset");
        },
      });
      const req = new Request(`http://x/mesh/http/${session}/send?seq=1`, { method: "POST", body: broken });
      await expectError(transport.handle(req), 400);
      await transport.close();
    });
  });
});
