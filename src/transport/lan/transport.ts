import { DialError, DialRefusedError, DialTimeoutError, TransportClosedError } from "../errors.ts";
import type { Link, PeerAddress, Transport } from "../link.ts";
import { MAX_FRAME_BYTES } from "../limits.ts";
import { decodeBeacon, encodeBeacon } from "./beacon.ts";
import { LanLink, type LinkContext } from "./link.ts";
import { lanSettings, type LanSettings, type LanTransportInit } from "./settings.ts";
import { LanSocket, type LanStats } from "./socket.ts";
import { decodeDatagram, isWireId, MAX_BEACON_BYTES, MAX_HEADER_BYTES, type DatagramType } from "./wire.ts";

/** How often a dial sends its SYN again while no answer comes. */
const SYN_RESEND_MS = 400;
/** Half-assembled frames all links may hold together, in units of the largest frame. */
const REASSEMBLY_FRAMES = 4;

interface PendingDial {
  resolve(link: LanLink): void;
  reject(error: unknown): void;
}

const keyOf = (peer: string, session: number) => `${peer}/${session}`;

/**
 * The LAN tier: links and discovery beacons over UDP broadcast on one port that every instance shares.
 * Each datagram names its receiver, and the other instances on the port drop it.
 */
export class LanTransport implements Transport {
  readonly tier = "lan" as const;
  /** Settles once the socket is bound; rejects with the bind error. */
  readonly ready: Promise<void>;
  readonly #settings: LanSettings;
  readonly #socket: LanSocket;
  readonly #context: LinkContext;
  readonly #links = new Map<string, LanLink>();
  readonly #pending = new Map<string, PendingDial>();
  readonly #timers: ReturnType<typeof setInterval>[];
  #onLink: ((link: Link) => void) | undefined;
  #closed = false;

  constructor(init: LanTransportInit) {
    const settings = (this.#settings = lanSettings(init));
    this.#socket = new LanSocket({ ...settings, onMessage: (bytes, from) => this.#onDatagram(bytes, from) });
    this.ready = this.#socket.ready;
    this.#context = {
      ...settings,
      transmit: (datagram) => this.#socket.transmit(datagram),
      forget: (link) => this.#links.get(keyOf(link.peer, link.session)) === link && this.#links.delete(keyOf(link.peer, link.session)),
      reassembly: { used: 0, limit: REASSEMBLY_FRAMES * MAX_FRAME_BYTES },
      stats: this.#socket.stats,
    };
    this.#timers = [
      setInterval(() => this.beaconNow(), settings.beaconIntervalMs),
      setInterval(() => this.#sweep(), Math.min(1000, settings.linkTimeoutMs / 4)),
    ];
    for (const timer of this.#timers) timer.unref();
    this.ready.then(() => this.beaconNow(), () => {});
  }

  /** Counters, for logs and tests. */
  get stats(): Readonly<LanStats> {
    return this.#socket.stats;
  }

  canDial(to: PeerAddress): boolean {
    return to.nodeId !== undefined && to.lan !== undefined;
  }

  /** Sends a beacon now (e.g. after joining a room), besides the periodic ones. */
  beaconNow(): void {
    const { beacon, maxDatagramBytes } = this.#settings;
    if (!beacon || !this.#socket.open) return;
    const payload = encodeBeacon(beacon(), Math.min(MAX_BEACON_BYTES, maxDatagramBytes - MAX_HEADER_BYTES));
    if (payload) this.#socket.transmit({ type: "beacon", to: "", session: 0, seq: 0, index: 0, count: 0, payload });
  }

  async dial(to: PeerAddress, signal?: AbortSignal): Promise<Link> {
    signal?.throwIfAborted();
    const peer = to.nodeId;
    if (peer === undefined || to.lan === undefined) throw new DialError("a LAN address needs a node id and where its beacons came from");
    if (!isWireId(peer) || peer === this.#settings.localNodeId) throw new DialError(`cannot dial node '${peer}' over the LAN`);
    await this.ready.catch((error) => {
      throw new DialError(`the LAN socket could not bind: ${error}`);
    });
    signal?.throwIfAborted();
    if (this.#closed) throw new TransportClosedError("the LAN transport is closed");
    let session: number;
    do session = crypto.getRandomValues(new Uint32Array(1))[0]!;
    while (this.#links.has(keyOf(peer, session)) || this.#pending.has(keyOf(peer, session)));
    return this.#handshake(peer, session, signal);
  }

  async listen(onLink: (link: Link) => void): Promise<void> {
    await this.ready;
    if (this.#closed) throw new TransportClosedError("the LAN transport is closed");
    this.#onLink = onLink;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onLink = undefined;
    for (const timer of this.#timers) clearInterval(timer);
    for (const dial of [...this.#pending.values()]) dial.reject(new TransportClosedError("the LAN transport closed"));
    for (const link of [...this.#links.values()]) link.close("transport closed");
    await this.#socket.close();
  }

  /** Sends SYNs until the peer answers (a link), refuses (DialRefusedError), or the dial times out or is aborted. */
  #handshake(peer: string, session: number, signal: AbortSignal | undefined): Promise<LanLink> {
    const key = keyOf(peer, session);
    const { dialTimeoutMs } = this.#settings;
    const { promise, resolve, reject } = Promise.withResolvers<LanLink>();
    const resend = setInterval(() => this.#control("syn", peer, session), SYN_RESEND_MS);
    const giveUp = setTimeout(() => fail(new DialTimeoutError(`no answer from ${peer} on the LAN within ${dialTimeoutMs} ms`)), dialTimeoutMs);
    const onAbort = () => fail(signal!.reason);
    const settle = () => {
      this.#pending.delete(key);
      clearInterval(resend);
      clearTimeout(giveUp);
      signal?.removeEventListener("abort", onAbort);
    };
    const fail = (error: unknown) => {
      settle();
      this.#control("fin", peer, session); // in case our SYN got through and only the answer was lost
      reject(error);
    };
    this.#pending.set(key, {
      resolve: (link) => (settle(), resolve(link)),
      reject: (error) => (settle(), reject(error)),
    });
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#control("syn", peer, session);
    return promise;
  }

  #onDatagram(bytes: Uint8Array, from: string): void {
    if (this.#closed) return;
    const d = decodeDatagram(bytes);
    if (typeof d === "string") return void this.#socket.stats.malformed++;
    const { localNodeId, onBeacon, maxLinks } = this.#settings;
    if (d.from === localNodeId) return; // our own broadcast, looped back
    if (d.type === "beacon") {
      const info = decodeBeacon(d.payload, d.from);
      if (!info) return void this.#socket.stats.malformed++;
      return onBeacon?.({ ...info, from });
    }
    if (d.to !== localNodeId) return; // for another instance sharing the port
    const key = keyOf(d.from, d.session);
    const link = this.#links.get(key);
    switch (d.type) {
      case "syn":
        if (link) return link.dialer ? undefined : this.#control("synAck", d.from, d.session);
        if (!this.#onLink || this.#links.size >= maxLinks) return this.#control("reset", d.from, d.session);
        this.#control("synAck", d.from, d.session);
        return this.#onLink(this.#newLink(d.from, d.session, from, false));
      case "synAck": {
        const dial = this.#pending.get(key);
        if (dial) return dial.resolve(this.#newLink(d.from, d.session, from, true));
        return link ? undefined : this.#control("reset", d.from, d.session);
      }
      case "data":
        return link ? link.incoming(d) : this.#control("reset", d.from, d.session);
      case "reset":
        this.#pending.get(key)?.reject(new DialRefusedError(`${d.from} refused the LAN link`));
        return link?.incoming(d);
      case "ack":
      case "fin":
        return link?.incoming(d);
    }
  }

  #newLink(peer: string, session: number, from: string, dialer: boolean): LanLink {
    const link = new LanLink(this.#context, peer, session, `${peer}@${from}`, dialer);
    this.#links.set(keyOf(peer, session), link);
    return link;
  }

  /** Sends a datagram that carries nothing but its type. */
  #control(type: DatagramType, to: string, session: number): void {
    this.#socket.transmit({ type, to, session, seq: 0, index: 0, count: 0, payload: new Uint8Array(0) });
  }

  /** Closes the links that owe or are owed datagrams and made no progress within linkTimeoutMs. */
  #sweep(): void {
    const now = Date.now();
    const { linkTimeoutMs } = this.#settings;
    for (const link of [...this.#links.values()]) {
      const { sending, receiving } = link.waiting;
      if (sending && now - link.lastSendProgress > linkTimeoutMs) link.close("the peer stopped acknowledging");
      else if (receiving && now - link.lastReceiveProgress > linkTimeoutMs) link.close("the peer left a gap unfilled");
    }
  }
}
