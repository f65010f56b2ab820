import dgram from "node:dgram";
import {
  decodeBeacon,
  decodeDatagram,
  encodeBeacon,
  encodeDatagram,
  headerBytes,
  isWireId,
  MAX_BEACON_BYTES,
  MAX_HEADER_BYTES,
  MAX_REASON_BYTES,
  MAX_UDP_PAYLOAD,
  type BeaconInfo,
  type Datagram,
  type DatagramType,
} from "./lan-wire.ts";
import { BaseLink } from "./base-link.ts";
import { DialError, type Link, type PeerAddress, type Transport } from "./types.ts";

export type { BeaconInfo } from "./lan-wire.ts";

/** Largest datagram on a real LAN: fits any path MTU down to 1280 (VPNs, PPPoE, Wi-Fi bridges) without IP fragmentation. */
export const DEFAULT_LAN_DATAGRAM_BYTES = 1200;
/** Largest datagram when every address is loopback, whose MTU is 64 KiB. */
export const DEFAULT_LOOPBACK_DATAGRAM_BYTES = 60_000;
/** How often each instance announces itself. */
export const DEFAULT_BEACON_INTERVAL_MS = 2000;
/** In flight per link: well under the default 208 KiB socket receive buffer every instance on the port shares. */
export const DEFAULT_WINDOW_BYTES = 128 * 1024;
/** Largest frame, as on the other tiers. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Unsent (or unread) bytes a link may hold before it closes, as on the other tiers. */
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** A dial whose SYNs get no answer fails after this long. */
export const DEFAULT_DIAL_TIMEOUT_MS = 3000;
/** A link that owes or is owed datagrams and makes no progress for this long closes. */
export const DEFAULT_LINK_TIMEOUT_MS = 10_000;
/** Links at once; bounds what SYNs from anyone on the LAN can make us hold. */
export const DEFAULT_MAX_LINKS = 64;
/** Most datagrams in flight on one link, whatever their size (each costs ~2 KiB of a receiver's socket buffer). */
const MAX_IN_FLIGHT = 64;
const RETRANSMIT_MS = 200;
const MAX_RETRANSMIT_MS = 2000;
const SYN_RESEND_MS = 400;
/** Asked of the kernel for the receive buffer; it silently caps this at net.core.rmem_max. */
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** Settings of a LAN transport. */
export interface LanTransportInit {
  /** This instance's node id: every datagram carries it, and others address this instance by it. */
  localNodeId: string;
  /** The UDP port every instance on the LAN binds (several on one host share it). */
  port: number;
  /** Where every datagram goes: broadcast addresses such as 192.168.1.255, or 127.255.255.255 to stay on this host (also used when the list is empty). */
  address: string | readonly string[];
  /** @default "0.0.0.0" (a socket bound to one unicast address does not receive broadcasts) */
  bindAddress?: string;
  /** @default DEFAULT_BEACON_INTERVAL_MS */
  beaconIntervalMs?: number;
  /** What to announce in each beacon; no beacons are sent without it. */
  beacon?: () => BeaconInfo;
  /** Called with each beacon of another instance, and where it came from ("ip:port"). */
  onBeacon?: (info: BeaconInfo & { from: string }) => void;
  /** Largest datagram sent, header included. @default DEFAULT_LOOPBACK_DATAGRAM_BYTES when every address is 127.x, else DEFAULT_LAN_DATAGRAM_BYTES */
  maxDatagramBytes?: number;
  /** Unacknowledged bytes a link may have in flight; keep it under the receivers' socket buffers. @default DEFAULT_WINDOW_BYTES */
  windowBytes?: number;
  /** Largest frame sent or accepted. @default DEFAULT_MAX_FRAME_BYTES */
  maxFrameBytes?: number;
  /** Bytes a link may hold unsent, or received before anyone reads them; past it the link closes. @default DEFAULT_MAX_QUEUED_BYTES */
  maxQueuedBytes?: number;
  /** A dial with no answer fails after this long. @default DEFAULT_DIAL_TIMEOUT_MS */
  dialTimeoutMs?: number;
  /** A link whose peer stops acknowledging, or leaves a gap or a frame half sent, closes after this long. @default DEFAULT_LINK_TIMEOUT_MS */
  linkTimeoutMs?: number;
  /** Most links at once; further SYNs are refused. @default DEFAULT_MAX_LINKS */
  maxLinks?: number;
}

/** Counters for what the socket saw and did. */
export interface LanStats {
  /** Datagrams handed to the socket. */
  sent: number;
  /** Datagrams read from the socket, including other instances' traffic and our own broadcasts. */
  received: number;
  /** Datagrams dropped as malformed (bad header, bad beacon). */
  malformed: number;
  /** Data datagrams sent again for want of an ack. */
  retransmitted: number;
  /** Sends the socket refused, and socket errors. */
  sendErrors: number;
}

/** The LAN tier plus what discovery needs. */
export interface LanTransport extends Transport {
  /** Settles once the socket is bound; rejects with the bind error. */
  readonly ready: Promise<void>;
  /** Sends a beacon now (e.g. after joining a room), besides the periodic ones. */
  beaconNow(): void;
  /** Counters, for logs and tests. */
  readonly stats: Readonly<LanStats>;
}

/** What a link needs from its transport. */
interface LinkContext {
  localNodeId: string;
  transmit(d: Omit<Datagram, "from">): void;
  forget(link: LanLink): void;
  reassembly: { used: number; limit: number };
  stats: LanStats;
  maxDatagramBytes: number;
  windowBytes: number;
  maxFrameBytes: number;
  maxQueuedBytes: number;
}

interface InFlight {
  seq: number;
  bytes: number;
  datagram: Omit<Datagram, "from">;
}

/**
 * One LAN link: a reliable, ordered stream of frames over broadcast datagrams.
 * Lost datagrams are resent (cumulative acks, sliding window), duplicates and reordering are absorbed;
 * a link that cannot deliver within linkTimeoutMs closes instead of losing frames silently.
 */
class LanLink extends BaseLink {
  readonly tier = "lan" as const;
  // Sending: fragments waiting for the window, then datagrams sent and not yet acknowledged.
  #queue: { index: number; count: number; payload: Uint8Array }[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  #inFlight: InFlight[] = [];
  #inFlightBytes = 0;
  #nextSeq = 0;
  #retransmitMs = RETRANSMIT_MS;
  #timer: ReturnType<typeof setTimeout> | undefined;
  lastSendProgress = Date.now();
  // Receiving: out-of-order datagrams held until the gap fills, then the fragments of the current frame.
  #expected = 0;
  #held = new Map<number, Datagram>();
  #heldBytes = 0;
  #parts: Uint8Array[] = [];
  #partBytes = 0;
  #partCount = 0;
  #ackScheduled = false;
  lastReceiveProgress = Date.now();

  constructor(
    private readonly context: LinkContext,
    readonly peer: string,
    readonly session: number,
    readonly remote: string,
    readonly dialer: boolean,
  ) {
    super(context.maxQueuedBytes);
  }

  /** True when something is owed in either direction, so silence means trouble. */
  get waiting(): { sending: boolean; receiving: boolean } {
    return { sending: this.#inFlight.length > 0, receiving: this.#held.size > 0 || this.#parts.length > 0 };
  }

  send(frame: Uint8Array): void {
    this.checkSend(frame);
    const { maxFrameBytes, maxQueuedBytes, maxDatagramBytes, localNodeId } = this.context;
    if (frame.byteLength > maxFrameBytes) return this.close(`frame of ${frame.byteLength} bytes is over the ${maxFrameBytes}-byte limit`);
    if (this.#queuedBytes + frame.byteLength > maxQueuedBytes) return this.close(`over ${maxQueuedBytes} bytes unsent; the far end is not keeping up`);
    const copy = frame.slice();
    const chunk = maxDatagramBytes - headerBytes(localNodeId, this.peer);
    const count = Math.max(1, Math.ceil(copy.byteLength / chunk));
    for (let index = 0; index < count; index++) {
      this.#queue.push({ index, count, payload: copy.subarray(index * chunk, (index + 1) * chunk) });
    }
    this.#queuedBytes += copy.byteLength;
    this.#pump();
  }

  close(reason = "closed"): void {
    if (this.closed) return;
    const fin = { type: "fin", to: this.peer, session: this.session, seq: 0, index: 0, count: 0 } as const;
    const payload = new TextEncoder().encode(reason).subarray(0, MAX_REASON_BYTES);
    // Sent twice: a lost FIN would leave the far end open until its own timeouts notice.
    this.context.transmit({ ...fin, payload });
    this.context.transmit({ ...fin, payload });
    this.ended(reason);
  }

  /** Closes this side only, without telling the peer (it told us, or is gone). */
  end(reason: string): void {
    this.ended(reason);
  }

  protected override release(): void {
    clearTimeout(this.#timer);
    this.context.reassembly.used -= this.#partBytes;
    this.#parts = [];
    this.#held.clear();
    this.#queue = [];
    this.#inFlight = [];
    this.context.forget(this);
  }

  /** Handles a data datagram from the peer: hold it, deliver what is now in order, and acknowledge. */
  receive(d: Datagram): void {
    this.#scheduleAck();
    const ahead = d.seq - this.#expected;
    if (ahead < 0 || this.#held.has(d.seq)) return;
    if (ahead >= 2 * MAX_IN_FLIGHT || this.#heldBytes + d.payload.byteLength > 2 * this.context.windowBytes) return;
    this.#held.set(d.seq, d);
    this.#heldBytes += d.payload.byteLength;
    for (let next = this.#held.get(this.#expected); next && !this.closed; next = this.#held.get(this.#expected)) {
      this.#held.delete(this.#expected);
      this.#heldBytes -= next.payload.byteLength;
      this.#expected++;
      this.lastReceiveProgress = Date.now();
      this.#assemble(next);
    }
  }

  /** Handles the peer's cumulative ack: everything below `next` arrived. */
  acknowledge(next: number): void {
    if (next > this.#nextSeq) return;
    let acked = 0;
    while (acked < this.#inFlight.length && this.#inFlight[acked]!.seq < next) this.#inFlightBytes -= this.#inFlight[acked++]!.bytes;
    if (acked === 0) return;
    this.#inFlight.splice(0, acked);
    this.lastSendProgress = Date.now();
    this.#retransmitMs = RETRANSMIT_MS;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pump();
  }

  #assemble(d: Datagram): void {
    if (this.#parts.length === 0) this.#partCount = d.count;
    if (d.index !== this.#parts.length || d.count !== this.#partCount) return this.close("fragments out of sequence");
    const reassembly = this.context.reassembly;
    if (d.count > 1) {
      if (this.#partBytes + d.payload.byteLength > this.context.maxFrameBytes) return this.close("frame over the size limit");
      if (reassembly.used + d.payload.byteLength > reassembly.limit) return this.close("reassembly budget exhausted");
      reassembly.used += d.payload.byteLength;
      this.#partBytes += d.payload.byteLength;
    }
    this.#parts.push(d.payload);
    if (d.index + 1 < d.count) return;
    const frame = new Uint8Array(this.#parts.reduce((sum, part) => sum + part.byteLength, 0));
    let at = 0;
    for (const part of this.#parts) {
      frame.set(part, at);
      at += part.byteLength;
    }
    reassembly.used -= this.#partBytes;
    this.#parts = [];
    this.#partBytes = 0;
    this.deliver(frame);
  }

  #scheduleAck(): void {
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    // One ack per batch of datagrams read in this turn of the event loop.
    setImmediate(() => {
      this.#ackScheduled = false;
      if (this.closed) return;
      const ack = { type: "ack", to: this.peer, session: this.session, seq: this.#expected, index: 0, count: 0 } as const;
      this.context.transmit({ ...ack, payload: new Uint8Array(0) });
    });
  }

  #pump(): void {
    const { windowBytes } = this.context;
    while (this.#queueHead < this.#queue.length && this.#inFlight.length < MAX_IN_FLIGHT) {
      const next = this.#queue[this.#queueHead]!;
      const bytes = next.payload.byteLength + MAX_HEADER_BYTES;
      if (this.#inFlight.length > 0 && this.#inFlightBytes + bytes > windowBytes) break;
      if (this.#nextSeq === 0xffff_ffff) return this.close("sequence numbers exhausted");
      this.#queueHead++;
      this.#queuedBytes -= next.payload.byteLength;
      const datagram = { type: "data", to: this.peer, session: this.session, seq: this.#nextSeq++, ...next } as const;
      if (this.#inFlight.length === 0) this.lastSendProgress = Date.now();
      this.#inFlight.push({ seq: datagram.seq, bytes, datagram });
      this.#inFlightBytes += bytes;
      this.context.transmit(datagram);
    }
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 1024) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    if (this.#inFlight.length > 0 && !this.#timer) this.#arm();
  }

  #arm(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.closed || this.#inFlight.length === 0) return;
      // Everything unacknowledged goes again; the receiver drops what it already has.
      for (const { datagram } of this.#inFlight) this.context.transmit(datagram);
      this.context.stats.retransmitted += this.#inFlight.length;
      this.#retransmitMs = Math.min(this.#retransmitMs * 2, MAX_RETRANSMIT_MS);
      this.#arm();
    }, this.#retransmitMs);
    this.#timer.unref();
  }
}

interface PendingDial {
  resolve(link: LanLink): void;
  reject(error: unknown): void;
}

const isLoopback = (address: string) => address.startsWith("127.");
const keyOf = (peer: string, session: number) => `${peer}/${session}`;

/**
 * The LAN tier: links and discovery beacons over UDP broadcast on one port that every instance shares.
 * With address reuse a unicast datagram reaches only one of the sockets on a port, so everything is broadcast
 * and each datagram names its receiver; the others drop it.
 */
export function lanTransport(init: LanTransportInit): LanTransport {
  const { localNodeId, port } = init;
  const addresses = typeof init.address === "string" ? [init.address] : [...init.address];
  if (addresses.length === 0) addresses.push("127.255.255.255");
  const maxDatagramBytes =
    init.maxDatagramBytes ?? (addresses.every(isLoopback) ? DEFAULT_LOOPBACK_DATAGRAM_BYTES : DEFAULT_LAN_DATAGRAM_BYTES);
  const maxFrameBytes = init.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const dialTimeoutMs = init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
  const linkTimeoutMs = init.linkTimeoutMs ?? DEFAULT_LINK_TIMEOUT_MS;
  const maxLinks = init.maxLinks ?? DEFAULT_MAX_LINKS;
  if (!isWireId(localNodeId)) throw new RangeError("localNodeId must be 1 to 64 printable ASCII characters");
  if (!(maxDatagramBytes >= 2 * MAX_HEADER_BYTES && maxDatagramBytes <= MAX_UDP_PAYLOAD)) {
    throw new RangeError(`maxDatagramBytes must be from ${2 * MAX_HEADER_BYTES} to ${MAX_UDP_PAYLOAD}`);
  }
  if (maxFrameBytes > 0xffff * (maxDatagramBytes - MAX_HEADER_BYTES)) throw new RangeError("maxFrameBytes needs more than 65535 fragments");

  const links = new Map<string, LanLink>();
  const pending = new Map<string, PendingDial>();
  const stats: LanStats = { sent: 0, received: 0, malformed: 0, retransmitted: 0, sendErrors: 0 };
  let onLink: ((link: Link) => void) | undefined;
  let closed = false;
  let socketOpen = false;

  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  const ready = new Promise<void>((resolve, reject) => {
    socket.once("error", (error) => {
      socket.close();
      reject(error); // e.g. EADDRINUSE when a socket without address reuse holds the port
    });
    socket.bind(port, init.bindAddress ?? "0.0.0.0", () => {
      socket.removeAllListeners("error");
      socket.on("error", () => stats.sendErrors++);
      socketOpen = true;
      socket.setBroadcast(true);
      try {
        socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
      } catch {
        // Best effort: the default buffer works, with more resends under load.
      }
      resolve();
    });
  });
  ready.catch(() => {});

  // Sends still in the socket's queue: close() waits for them, or a FIN would be dropped with the socket.
  let unsent = 0;
  let flushed = () => {};
  const transmit = (d: Omit<Datagram, "from">) => {
    if (!socketOpen) return;
    const bytes = encodeDatagram({ ...d, from: localNodeId });
    for (const address of addresses) {
      try {
        unsent++;
        socket.send(bytes, port, address, (error) => {
          if (error) stats.sendErrors++;
          if (--unsent === 0) flushed();
        });
        stats.sent++;
      } catch {
        unsent--;
        stats.sendErrors++;
      }
    }
  };
  const control = (type: DatagramType, to: string, session: number) =>
    transmit({ type, to, session, seq: 0, index: 0, count: 0, payload: new Uint8Array(0) });

  const context: LinkContext = {
    localNodeId,
    transmit,
    forget: (link) => links.get(keyOf(link.peer, link.session)) === link && links.delete(keyOf(link.peer, link.session)),
    reassembly: { used: 0, limit: 4 * maxFrameBytes },
    stats,
    maxDatagramBytes,
    windowBytes: init.windowBytes ?? DEFAULT_WINDOW_BYTES,
    maxFrameBytes,
    maxQueuedBytes: init.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
  };
  const newLink = (peer: string, session: number, from: string, dialer: boolean) => {
    const link = new LanLink(context, peer, session, `${peer}@${from}`, dialer);
    links.set(keyOf(peer, session), link);
    return link;
  };

  const sendBeacon = () => {
    if (!init.beacon || !socketOpen) return;
    const payload = encodeBeacon(init.beacon(), Math.min(MAX_BEACON_BYTES, maxDatagramBytes - MAX_HEADER_BYTES));
    if (payload) transmit({ type: "beacon", to: "", session: 0, seq: 0, index: 0, count: 0, payload });
  };

  const onDatagram = (bytes: Uint8Array, from: string) => {
    if (closed) return;
    const d = decodeDatagram(bytes);
    if (typeof d === "string") return void stats.malformed++;
    if (d.from === localNodeId) return; // our own broadcast, looped back
    if (d.type === "beacon") {
      const info = decodeBeacon(d.payload, d.from);
      if (!info) return void stats.malformed++;
      return init.onBeacon?.({ ...info, from });
    }
    if (d.to !== localNodeId) return; // for another instance sharing the port
    const key = keyOf(d.from, d.session);
    const link = links.get(key);
    switch (d.type) {
      case "syn":
        if (link) return link.dialer ? undefined : control("synAck", d.from, d.session);
        if (!onLink || links.size >= maxLinks) return control("reset", d.from, d.session);
        control("synAck", d.from, d.session);
        return onLink(newLink(d.from, d.session, from, false));
      case "synAck": {
        const dial = pending.get(key);
        if (dial) return dial.resolve(newLink(d.from, d.session, from, true));
        return link ? undefined : control("reset", d.from, d.session);
      }
      case "data":
        return link ? link.receive(d) : control("reset", d.from, d.session);
      case "ack":
        return link?.acknowledge(d.seq);
      case "fin":
        return link?.end(`closed by peer: ${new TextDecoder().decode(d.payload)}`);
      case "reset":
        pending.get(key)?.reject(new DialError(`${d.from} refused the LAN link`));
        return link?.end("reset by peer");
    }
  };
  socket.on("message", (bytes: Buffer, rinfo: dgram.RemoteInfo) => {
    stats.received++;
    onDatagram(bytes, `${rinfo.address}:${rinfo.port}`);
  });

  const beacons = setInterval(sendBeacon, init.beaconIntervalMs ?? DEFAULT_BEACON_INTERVAL_MS);
  beacons.unref();
  ready.then(sendBeacon, () => {});
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const link of [...links.values()]) {
      const { sending, receiving } = link.waiting;
      if (sending && now - link.lastSendProgress > linkTimeoutMs) link.close("the peer stopped acknowledging");
      else if (receiving && now - link.lastReceiveProgress > linkTimeoutMs) link.close("the peer left a gap unfilled");
    }
  }, Math.min(1000, linkTimeoutMs / 4));
  sweep.unref();

  return {
    tier: "lan",
    ready,
    stats,
    beaconNow: sendBeacon,
    canDial: (to: PeerAddress) => to.nodeId !== undefined && to.lan !== undefined,

    async dial(to: PeerAddress, signal?: AbortSignal): Promise<Link> {
      signal?.throwIfAborted();
      const peer = to.nodeId;
      if (peer === undefined || to.lan === undefined) throw new DialError("a LAN address needs a node id and where its beacons came from");
      if (!isWireId(peer) || peer === localNodeId) throw new DialError(`cannot dial node '${peer}' over the LAN`);
      await ready.catch((error) => {
        throw new DialError(`the LAN socket could not bind: ${error}`);
      });
      signal?.throwIfAborted();
      if (closed) throw new DialError("the LAN transport is closed");
      let session: number;
      do session = crypto.getRandomValues(new Uint32Array(1))[0]!;
      while (links.has(keyOf(peer, session)) || pending.has(keyOf(peer, session)));
      const key = keyOf(peer, session);
      const { promise, resolve, reject } = Promise.withResolvers<LanLink>();
      const resend = setInterval(() => control("syn", peer, session), SYN_RESEND_MS);
      const giveUp = setTimeout(() => fail(new DialError(`no answer from ${peer} on the LAN within ${dialTimeoutMs} ms`)), dialTimeoutMs);
      const onAbort = () => fail(signal!.reason);
      const settle = () => {
        pending.delete(key);
        clearInterval(resend);
        clearTimeout(giveUp);
        signal?.removeEventListener("abort", onAbort);
      };
      const fail = (error: unknown) => {
        settle();
        control("fin", peer, session); // in case our SYN got through and only the answer was lost
        reject(error);
      };
      pending.set(key, {
        resolve: (link) => (settle(), resolve(link)),
        reject: (error) => (settle(), reject(error)),
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      control("syn", peer, session);
      return promise;
    },

    async listen(handler: (link: Link) => void): Promise<void> {
      await ready;
      if (closed) throw new Error("the LAN transport is closed");
      onLink = handler;
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      onLink = undefined;
      clearInterval(beacons);
      clearInterval(sweep);
      for (const dial of [...pending.values()]) dial.reject(new DialError("the LAN transport closed"));
      for (const link of [...links.values()]) link.close("transport closed");
      await ready.catch(() => {});
      if (!socketOpen) return;
      if (unsent > 0) {
        const { promise, resolve } = Promise.withResolvers<void>();
        flushed = resolve;
        setTimeout(resolve, 1000).unref(); // a send whose callback never comes must not hold close() up
        await promise;
      }
      socketOpen = false;
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
