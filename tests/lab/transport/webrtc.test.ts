import { afterEach, describe, expect, it, setDefaultTimeout } from "bun:test";
import { reflexiveAddress } from "../../../src/transport/webrtc/ice.ts";

// A WebRTC dial is a handshake of ICE and DTLS (a lost DTLS flight is resent after 1 s); a test that makes two or three
// on a busy machine can pass bun's 5 s default without anything being wrong.
setDefaultTimeout(20_000);
import nodeDataChannel, { type PeerConnection, type RtcConfig } from "node-datachannel";
import { DialTimeoutError, FrameTooLargeError, LinkClosedError } from "../../../src/transport/errors.ts";
import type { Link, Transport } from "../../../src/transport/link.ts";
import { MAX_FRAME_BYTES } from "../../../src/transport/limits.ts";
import type { Signaling, SignalMessage } from "../../../src/transport/signaling/signal.ts";
import { webrtcTransport, type WebRtcTransportInit } from "../../../src/transport/webrtc/index.ts";
import { Handlers } from "../../../src/util/handlers.ts";
import { transportCompliance } from "../../helpers/compliance.ts";

type Route = { from: string; to: string; message: SignalMessage };

/**
 * Signaling between in-process nodes: delivered on a later turn, as JSON (like a wire), to known nodes only.
 * `delayMs` holds a message back, `drop` loses it.
 */
class FakeSignalingNetwork {
  readonly #handlers = new Map<string, Handlers<[string, SignalMessage]>>();

  constructor(private readonly options: { delayMs?: (r: Route) => number; drop?: (r: Route) => boolean } = {}) {}

  join(nodeId: string): Signaling {
    this.#handlers.set(nodeId, new Handlers());
    return {
      send: async (to, message) => {
        if (!this.#handlers.has(to.nodeId)) throw new Error(`no signaling path to ${to.nodeId}`);
        const route = { from: nodeId, to: to.nodeId, message };
        if (this.options.drop?.(route)) return;
        const copy = JSON.parse(JSON.stringify(message)) as SignalMessage;
        const deliver = () => this.#handlers.get(to.nodeId)?.emit(nodeId, copy);
        const delay = this.options.delayMs?.(route) ?? 0;
        if (delay > 0) setTimeout(deliver, delay);
        else queueMicrotask(deliver);
      },
      onMessage: (handler) => this.#handlers.get(nodeId)!.add(handler),
    };
  }
}

const LOOPBACK = { iceServers: [], bindAddress: "127.0.0.1" };

/** Two webrtc transports "a" and "b" on one fake signaling network, recording every PeerConnection they make. */
function pair(network = new FakeSignalingNetwork(), init: Partial<WebRtcTransportInit> = {}) {
  const made: PeerConnection[] = [];
  const createPeerConnection = (name: string, config: RtcConfig) => {
    const pc = new nodeDataChannel.PeerConnection(name, config);
    made.push(pc);
    return pc;
  };
  const make = (id: string) =>
    webrtcTransport({ tier: "webrtc", localNodeId: id, signaling: network.join(id), ...LOOPBACK, createPeerConnection, ...init });
  return { a: make("a"), b: make("b"), made };
}

/** A well-formed offer from a PeerConnection that is closed at once, so nobody will ever answer it. */
async function realOffer(): Promise<string> {
  const pc = new nodeDataChannel.PeerConnection("mallory", LOOPBACK);
  const sdp = Promise.withResolvers<string>();
  pc.onLocalDescription((description) => sdp.resolve(description));
  const channel = pc.createDataChannel("junk");
  try {
    return await sdp.promise;
  } finally {
    channel.close();
    pc.close();
  }
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await Bun.sleep(5);
  }
}

transportCompliance("webrtc", async (options) => {
  const { a, b } = pair(undefined, options);
  return { a, b, addressOfB: { nodeId: "b" }, nowhere: { nodeId: "ghost" } };
});

describe("webrtc transport", () => {
  let open: Transport[] = [];
  const use = (...transports: Transport[]) => open.push(...transports);
  afterEach(async () => {
    for (const t of open) await t.close();
    open = [];
  });

  /** Dials b from a and returns both ends of the link. */
  async function connect(a: Transport, b: Transport): Promise<{ mine: Link; theirs: Link }> {
    const accepted: Link[] = [];
    await b.listen((link) => accepted.push(link));
    const mine = await a.dial({ nodeId: "b" });
    await until(() => accepted.length === 1);
    return { mine, theirs: accepted[0]! };
  }

  it("a dial whose offer gets no answer fails with DialTimeoutError in time, leaving no PeerConnection open", async () => {
    const network = new FakeSignalingNetwork({ drop: (r) => r.from === "b" });
    const { a, b, made } = pair(network, { dialTimeoutMs: 1000 });
    use(a, b);
    await b.listen(() => {});
    const started = performance.now();
    const error = await a.dial({ nodeId: "b" }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(DialTimeoutError);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(2000);
    // b answered into the void: its pending handshake is given up after the same timeout.
    expect(made).toHaveLength(2);
    await until(() => made.every((pc) => pc.state() === "closed"), 2000);
  });

  for (const late of ["offer", "answer"] as const) {
    it(`candidates that overtake the ${late} wait for it, then connect`, async () => {
      // The description is held back while the candidates run ahead of it; the other side's candidates are lost,
      // so the link can only come up if the side receiving the early candidates queued and used them.
      const describer = late === "offer" ? "a" : "b";
      const network = new FakeSignalingNetwork({
        delayMs: (r) => (r.message.kind === late ? 150 : 0),
        drop: (r) => r.message.kind === "candidate" && r.from !== describer,
      });
      const { a, b } = pair(network);
      use(a, b);
      const { mine, theirs } = await connect(a, b);
      const got = Promise.withResolvers<Uint8Array>();
      theirs.onFrame(got.resolve);
      mine.send(Uint8Array.of(7));
      expect(await got.promise).toEqual(Uint8Array.of(7));
    });
  }

  it("a dial sends its candidates only once the answer is applied", async () => {
    // libdatachannel gives the answer to ICE before the DTLS fingerprint check can see it: a peer that already had our
    // candidates could finish its DTLS handshake in that gap, and the dial failed ("webrtc connection with b failed").
    const sent: { from: string; kind: string; at: number }[] = [];
    const network = new FakeSignalingNetwork({
      delayMs: (r) => {
        sent.push({ from: r.from, kind: r.message.kind, at: performance.now() });
        return r.message.kind === "answer" ? 100 : 0;
      },
    });
    const { a, b } = pair(network);
    use(a, b);
    await connect(a, b);
    const answerArrives = sent.find((s) => s.from === "b" && s.kind === "answer")!.at + 100;
    const candidatesOfA = sent.filter((s) => s.from === "a" && s.kind === "candidate");
    expect(candidatesOfA.length).toBeGreaterThan(0);
    for (const c of candidatesOfA) expect(c.at).toBeGreaterThanOrEqual(answerArrives - 5);
  });

  it("10 parallel links between the same two transports each carry their own frames", async () => {
    const { a, b } = pair();
    use(a, b);
    await b.listen((link) => link.onFrame((frame) => link.send(frame)));
    const links = await Promise.all(Array.from({ length: 10 }, () => a.dial({ nodeId: "b" })));
    const echoes = await Promise.all(
      links.map(async (link, i) => {
        const got: number[][] = [];
        const all = Promise.withResolvers<void>();
        link.onFrame((frame) => {
          got.push([...frame]);
          if (got.length === 5) all.resolve();
        });
        for (let k = 0; k < 5; k++) link.send(Uint8Array.of(i, k));
        await all.promise;
        return got;
      }),
    );
    echoes.forEach((got, i) => expect(got).toEqual([0, 1, 2, 3, 4].map((k) => [i, k])));
  });

  it("5 MiB and 16 MiB frames arrive intact; a bigger one is refused", async () => {
    const { a, b } = pair();
    use(a, b);
    const { mine, theirs } = await connect(a, b);
    const frames: Uint8Array[] = [];
    theirs.onFrame((frame) => frames.push(frame));
    const five = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 7919) % 251);
    const max = new Uint8Array(MAX_FRAME_BYTES).map((_, i) => (i * 31) % 253);
    mine.send(five);
    mine.send(max);
    await until(() => frames.length === 2, 10_000);
    expect(Buffer.from(frames[0]!).equals(Buffer.from(five))).toBe(true);
    expect(Buffer.from(frames[1]!).equals(Buffer.from(max))).toBe(true);
    expect(() => mine.send(new Uint8Array(MAX_FRAME_BYTES + 1))).toThrow(FrameTooLargeError);
    expect(mine.closed).toBe(false);
  });

  it("a sender that runs past the buffer cap gets LinkClosedError and the link closes with a reason", async () => {
    // A cap far below what the loop sends: libdatachannel drains ~60 MB/s meanwhile, which must not catch up with it.
    const cap = 1024 * 1024;
    const { a, b } = pair(undefined, { maxQueuedBytes: cap });
    use(a, b);
    const { mine, theirs } = await connect(a, b);
    const reasons: string[] = [];
    mine.onClose((reason) => reasons.push(reason));
    const frame = new Uint8Array(cap / 4);
    const sendMany = () => {
      for (let i = 0; i < 256; i++) mine.send(frame);
    };
    expect(sendMany).toThrow(LinkClosedError);
    expect(reasons).toEqual([expect.stringContaining("not reading")]);
    await until(() => theirs.closed);
  });

  it("ignores junk signaling: unknown answers, malformed or oversized messages, floods of offers", async () => {
    const network = new FakeSignalingNetwork();
    const { b, made } = pair(network, { dialTimeoutMs: 500 });
    use(b);
    await b.listen(() => {});
    const mallory = network.join("mallory");
    const offer = await realOffer();
    await mallory.send({ nodeId: "b" }, { session: "webrtc-x", kind: "answer", sdp: offer });
    await mallory.send({ nodeId: "b" }, { session: "webrtc-y", kind: "offer", sdp: offer + "x".repeat(100_000) });
    await mallory.send({ nodeId: "b" }, { kind: "offer", sdp: offer } as unknown as SignalMessage);
    await mallory.send({ nodeId: "b" }, { session: "turn-z", kind: "offer", sdp: offer });
    await Bun.sleep(20);
    expect(made).toHaveLength(0);
    for (let i = 0; i < 50; i++) await mallory.send({ nodeId: "b" }, { session: `webrtc-${i}`, kind: "offer", sdp: offer });
    await Bun.sleep(20);
    expect(made).toHaveLength(16);
    // None of them ever opens: each is given up after the timeout.
    await until(() => made.every((pc) => pc.state() === "closed"), 2000);
  });
});

it("reads the address of a server-reflexive candidate, and of no other", () => {
  expect(reflexiveAddress("candidate:2 1 UDP 1694498815 203.0.113.100 40123 typ srflx raddr 10.1.0.2 rport 40123")).toBe("203.0.113.100");
  expect(reflexiveAddress("a=candidate:1 1 UDP 2122317823 10.1.0.2 40123 typ host")).toBeNull();
  expect(reflexiveAddress("candidate:3 1 UDP 1 not-an-ip 1 typ srflx")).toBeNull();
});
