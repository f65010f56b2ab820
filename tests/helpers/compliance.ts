import { afterEach, describe, expect, it } from "bun:test";
import { DialError, FrameTooLargeError, LinkClosedError } from "../../src/transport/errors.ts";
import type { Link, PeerAddress, Transport } from "../../src/transport/link.ts";
import { MAX_FRAME_BYTES } from "../../src/transport/limits.ts";

export interface ComplianceSetup {
  /** Two transports of the tier under test; `b` is listening when dialed. */
  a: Transport;
  b: Transport;
  /** Where `a` reaches `b`. */
  addressOfB: PeerAddress;
  /** An address nothing listens on. */
  nowhere: PeerAddress;
  teardown?: () => Promise<void>;
}

/** What a test may ask of the transports it is given. */
export interface ComplianceOptions {
  /** The queue limit of every link both transports make (see link.ts); small, so a test can pass it quickly. */
  maxQueuedBytes?: number;
  /**
   * The largest frame taken before a secure handshake (see limits.ts). The suite runs raw links without one, so it is
   * MAX_FRAME_BYTES here: the frame rules hold for links of any size limit.
   */
  preHandshakeFrameBytes?: number;
}

function frameQueue(link: Link) {
  const frames: Uint8Array[] = [];
  let wake = () => {};
  link.onFrame((f) => {
    frames.push(f);
    wake();
  });
  return {
    frames,
    async take(n: number, timeoutMs = 5000): Promise<Uint8Array[]> {
      const deadline = Date.now() + timeoutMs;
      while (frames.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${frames.length} of ${n} frames arrived`);
        await Promise.race([new Promise<void>((r) => (wake = r)), Bun.sleep(20)]);
      }
      return frames.splice(0, n);
    },
  };
}

/** Where a tier knowingly differs from the suite, and why: that test is skipped, saying why, and the tier's own file tests what it does instead. */
export interface ComplianceDifferences {
  /** The tier's links have no queue of their own (their bytes wait in another link's). */
  queue?: string;
}

/** The behaviour every tier's transport must show; run by each tier's test file. */
export function transportCompliance(name: string, makeSetup: (options?: ComplianceOptions) => Promise<ComplianceSetup>, differs: ComplianceDifferences = {}) {
  const setup = (options?: ComplianceOptions) => makeSetup({ preHandshakeFrameBytes: MAX_FRAME_BYTES, ...options });
  describe(`${name} transport compliance`, () => {
    let s: ComplianceSetup;
    let accepted: Link[];

    const connect = async (options?: ComplianceOptions) => {
      s = await setup(options);
      accepted = [];
      await s.b.listen((link) => accepted.push(link));
      const link = await s.a.dial(s.addressOfB);
      const deadline = Date.now() + 5000;
      while (accepted.length === 0 && Date.now() < deadline) await Bun.sleep(5);
      expect(accepted).toHaveLength(1);
      return { mine: link, theirs: accepted[0]! };
    };

    afterEach(async () => {
      await s?.a.close();
      await s?.b.close();
      await s?.teardown?.();
    });

    it("dials a listener, and both links are of the tier", async () => {
      const { mine, theirs } = await connect();
      expect(mine.tier).toBe(s.a.tier);
      expect(theirs.tier).toBe(s.b.tier);
      expect(mine.closed).toBe(false);
      expect(theirs.closed).toBe(false);
    });

    it("carries frames both ways, in order, byte for byte", async () => {
      const { mine, theirs } = await connect();
      const atB = frameQueue(theirs);
      const atA = frameQueue(mine);
      const all = new Uint8Array(256).map((_, i) => i);
      const big = new Uint8Array(60 * 1024).map((_, i) => (i * 31) % 251);
      const sent = [all, new TextEncoder().encode("hello"), big, Uint8Array.of(0)];
      for (const f of sent) mine.send(f);
      expect(await atB.take(sent.length)).toEqual(sent);
      for (let i = 0; i < 100; i++) theirs.send(Uint8Array.of(i));
      expect((await atA.take(100)).map((f) => f[0])).toEqual(Array.from({ length: 100 }, (_, i) => i));
    });

    it("a frame given in parts arrives as one frame, whole; parts over the limit together are refused", async () => {
      const { mine, theirs } = await connect();
      const atB = frameQueue(theirs);
      const head = new TextEncoder().encode("head:");
      const body = new Uint8Array(70 * 1024).map((_, i) => (i * 7) % 253);
      mine.send([head, body, Uint8Array.of(9)]);
      mine.send([Uint8Array.of(1)]);
      const [first, second] = await atB.take(2);
      expect(first).toEqual(Uint8Array.from([...head, ...body, 9]));
      expect(second).toEqual(Uint8Array.of(1));
      const half = new Uint8Array(MAX_FRAME_BYTES / 2 + 1);
      expect(() => mine.send([half, half])).toThrow(FrameTooLargeError);
      expect(mine.closed).toBe(false);
    });

    it("frames sent the moment a link exists reach a handler registered later", async () => {
      s = await setup();
      await s.b.listen((link) => link.send(Uint8Array.of(42)));
      const link = await s.a.dial(s.addressOfB);
      await Bun.sleep(100);
      const got = frameQueue(link);
      expect(await got.take(1)).toEqual([Uint8Array.of(42)]);
    });

    it("a sender may reuse its buffer right after send", async () => {
      const { mine, theirs } = await connect();
      const atB = frameQueue(theirs);
      const buffer = Uint8Array.of(1, 2, 3);
      mine.send(buffer);
      buffer.fill(9);
      expect(await atB.take(1)).toEqual([Uint8Array.of(1, 2, 3)]);
    });

    it("closing one end closes the other, once, with a reason", async () => {
      const { mine, theirs } = await connect();
      const reasons: string[] = [];
      theirs.onClose((r) => reasons.push(r));
      mine.close("done");
      mine.close("twice");
      const deadline = Date.now() + 5000;
      while (!theirs.closed && Date.now() < deadline) await Bun.sleep(5);
      await Bun.sleep(20);
      expect(mine.closed).toBe(true);
      expect(theirs.closed).toBe(true);
      expect(reasons).toHaveLength(1);
      expect(() => mine.send(Uint8Array.of(1))).toThrow(LinkClosedError);
      expect(() => theirs.send(Uint8Array.of(1))).toThrow(LinkClosedError);
    });

    it("closing the transport closes its links", async () => {
      const { mine, theirs } = await connect();
      await s.a.close();
      const deadline = Date.now() + 5000;
      while (!theirs.closed && Date.now() < deadline) await Bun.sleep(5);
      expect(mine.closed).toBe(true);
      expect(theirs.closed).toBe(true);
    });

    it("dialing where nothing listens fails with DialError", async () => {
      s = await setup();
      expect(s.a.canDial(s.nowhere)).toBe(true);
      await expect(s.a.dial(s.nowhere)).rejects.toBeInstanceOf(DialError);
    });

    it("an aborted dial fails with the signal's reason", async () => {
      s = await setup();
      await s.b.listen(() => {});
      const ac = new AbortController();
      ac.abort(new Error("gave up"));
      await expect(s.a.dial(s.addressOfB, ac.signal)).rejects.toThrow("gave up");
    });

    it("refuses to send a frame over the limit, sends nothing, and the link stays open", async () => {
      const { mine, theirs } = await connect();
      const atB = frameQueue(theirs);
      expect(() => mine.send(new Uint8Array(MAX_FRAME_BYTES + 1))).toThrow(FrameTooLargeError);
      expect(mine.closed).toBe(false);
      mine.send(Uint8Array.of(5));
      expect(await atB.take(1)).toEqual([Uint8Array.of(5)]);
      await Bun.sleep(50);
      expect(atB.frames).toEqual([]);
      expect(theirs.closed).toBe(false);
    });

    it("a frame handler that throws closes its link with the error as reason; the other links carry on", async () => {
      const { mine, theirs } = await connect();
      const other = await s.a.dial(s.addressOfB);
      const deadline = Date.now() + 5000;
      while (accepted.length < 2 && Date.now() < deadline) await Bun.sleep(5);
      const otherTheirs = accepted[1]!;
      const reasons = [closeReason(theirs), closeReason(mine)];
      theirs.onFrame(() => {
        throw new Error("handler bug");
      });
      mine.send(Uint8Array.of(1));
      expect(await reasons[0]).toContain("handler bug");
      await reasons[1];
      const atOther = frameQueue(otherTheirs);
      other.send(Uint8Array.of(2));
      expect(await atOther.take(1)).toEqual([Uint8Array.of(2)]);
    });

    const queueTest = differs.queue ? it.skip : it;
    queueTest(`a sender past the queue limit gets LinkClosedError, and both ends close saying the far end is not reading${differs.queue ? ` (${name}: ${differs.queue})` : ""}`, async () => {
      const { mine, theirs } = await connect({ maxQueuedBytes: 1024 * 1024 });
      const theirReason = closeReason(theirs);
      const frame = new Uint8Array(256 * 1024);
      const flood = () => {
        // Far past the limit, in one turn of the event loop: nothing can drain meanwhile.
        for (let i = 0; i < 256; i++) mine.send(frame);
      };
      expect(flood).toThrow(LinkClosedError);
      expect(mine.closed).toBe(true);
      expect(await closeReason(mine)).toContain("not reading");
      expect(await theirReason).toBeString();
      expect(() => mine.send(Uint8Array.of(1))).toThrow(LinkClosedError);
    });

    it("a removed frame handler gets no more frames; a close handler added after the close still runs once", async () => {
      const { mine, theirs } = await connect();
      const seen: number[] = [];
      const remove = theirs.onFrame((f) => seen.push(f[0]!));
      const atB = frameQueue(theirs);
      mine.send(Uint8Array.of(1));
      await atB.take(1);
      remove();
      mine.send(Uint8Array.of(2));
      await atB.take(1);
      expect(seen).toEqual([1]);
      mine.close("bye");
      const late: string[] = [];
      mine.onClose((r) => late.push(r));
      await Bun.sleep(10);
      expect(late).toEqual(["bye"]);
    });

    it("declines addresses without the fields it needs", async () => {
      s = await setup();
      expect(s.a.canDial({})).toBe(false);
    });
  });
}

/** Resolves with the reason a link closes for. */
export function closeReason(link: Link): Promise<string> {
  return new Promise((resolve) => link.onClose(resolve));
}
