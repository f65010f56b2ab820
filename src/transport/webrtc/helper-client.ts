/**
 * node-datachannel in a helper process (helper-process.ts), behind the same PeerConnection and DataChannel calls the
 * WebRTC tiers make of it (library.ts `RtcPeer`, `RtcChannel`; proxies.ts). The bundled libdatachannel can deadlock in
 * a DTLS handshake over TURN, and a thread that calls into it then never returns (README, "Known problem"): with the
 * library in a process of its own, that thread is the helper's. The instance pings the helper; one silent for
 * HELPER_DEAD_MS is killed, every connection it held closes (their links fail over, as for any lost link), and the next
 * connection starts a new helper.
 */
import type { Subprocess } from "bun";
import type { RtcConfig } from "node-datachannel";
import { isReport, type Op, type Report } from "./helper-protocol.ts";
import { reflexiveAddress } from "./ice.ts";
import type { WebRtcLibrary } from "./library.ts";
import { ChannelProxy, PeerProxy, type ProxyHost } from "./proxies.ts";

/** How often the helper is pinged, and how long it may be silent before it is taken for stuck. */
const PING_EVERY_MS = 1000;
export const HELPER_DEAD_MS = 5000;
/** How long after a helper is lost the next one starts (not in a tight loop, should one die at once each time). */
const RESTART_AFTER_MS = 1000;
/** How long a probe of the STUN servers is waited for (the helper gathers for at most 5 s). */
const PROBE_WAIT_MS = 7000;

export interface WebRtcHelperInit {
  /** The command that starts a helper (helper-process.ts `runWebRtcHelper`). */
  command: string[];
  /** Said once per helper lost. */
  log?: (line: string) => void;
  /** @default HELPER_DEAD_MS */
  deadAfterMs?: number;
}

/** One helper process at a time: started on first need, replaced when it stops answering or exits. */
export class WebRtcHelper implements ProxyHost {
  #proc: Subprocess | null = null;
  /** Ops posted before the helper said it is ready. */
  #queue: Op[] | null = null;
  #ready: Promise<void> | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #lastPong = 0;
  #ping = 0;
  #nextId = 1;
  #closed = false;
  readonly #peers = new Map<number, PeerProxy>();
  readonly #channels = new Map<number, ChannelProxy>();
  /** Which PeerConnection each channel belongs to, for the pair its open reports. */
  readonly #channelPeer = new Map<number, PeerProxy>();
  readonly #killOnExit = () => this.#proc?.kill(9);
  /** Probes of the STUN servers under way, by id. */
  readonly #probes = new Map<number, (candidates: string[]) => void>();

  constructor(private readonly init: WebRtcHelperInit) {}

  /** The library the tiers use: its PeerConnections live in the helper. */
  library(): WebRtcLibrary {
    const helper = this;
    return {
      PeerConnection: class {
        constructor(name: string, config: RtcConfig) {
          helper.#ensure();
          const id = helper.#nextId++;
          const peer = new PeerProxy(helper, id, name, config);
          helper.#peers.set(id, peer);
          return peer;
        }
      } as unknown as WebRtcLibrary["PeerConnection"],
    };
  }

  /** Starts a helper and waits until it has loaded node-datachannel; rejects with why it could not. */
  start(): Promise<void> {
    this.#ensure();
    return this.#ready!;
  }

  /** The process id of the helper now, if one runs (for tests). */
  get pid(): number | null {
    return this.#proc?.pid ?? null;
  }

  post(op: Op): void {
    if (this.#queue) this.#queue.push(op);
    else this.#proc?.send(op);
  }

  channel(peer: PeerProxy): ChannelProxy {
    const channel = new ChannelProxy(this, this.#nextId++);
    this.#channels.set(channel.dc, channel);
    this.#channelPeer.set(channel.dc, peer);
    return channel;
  }

  forgetChannel(dc: number): void {
    this.#channels.delete(dc);
    this.#channelPeer.delete(dc);
  }

  forgetPeer(pc: number): void {
    this.#peers.delete(pc);
  }

  /**
   * This machine's public addresses as the STUN servers in `config` see it (server-reflexive candidates), gathered in
   * the helper on a connection made for nothing else; none when there are no STUN servers or no answer.
   */
  async publicAddresses(config: RtcConfig): Promise<string[]> {
    if (!config.iceServers?.length) return [];
    await this.start();
    const id = this.#nextId++;
    const { promise, resolve } = Promise.withResolvers<string[]>();
    this.#probes.set(id, resolve);
    const timer = setTimeout(() => resolve([]), PROBE_WAIT_MS);
    this.post({ op: "probe", id, config });
    try {
      return [...new Set((await promise).flatMap((candidate) => reflexiveAddress(candidate) ?? []))];
    } finally {
      clearTimeout(timer);
      this.#probes.delete(id);
    }
  }

  /** Stops the helper for good. */
  close(): void {
    this.#closed = true;
    this.#lose(null);
  }

  #ensure(): void {
    if (this.#proc || this.#closed) return;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    promise.catch(() => {});
    this.#ready = promise;
    this.#queue = [];
    const proc = Bun.spawn(this.init.command, {
      stdin: "ignore",
      stdout: "inherit",
      stderr: "inherit",
      serialization: "advanced",
      ipc: (message) => {
        if (proc !== this.#proc) return;
        if (!isReport(message)) return this.#lose("the WebRTC helper said something malformed");
        if (message.ev === "ready") {
          const queued = this.#queue ?? [];
          this.#queue = null;
          for (const op of queued) proc.send(op);
          return resolve();
        }
        if (message.ev === "unavailable") {
          reject(new Error(message.reason));
          return this.#lose(null);
        }
        this.#report(message);
      },
    });
    proc.unref();
    this.#proc = proc;
    this.#lastPong = Date.now();
    process.on("exit", this.#killOnExit);
    proc.exited
      .then((code) => {
        if (proc !== this.#proc) return;
        reject(new Error(`the WebRTC helper exited with ${code} before it was ready`));
        this.#lose(`the WebRTC helper exited (${code})`);
      })
      .catch((error: unknown) => this.init.log?.(`the WebRTC helper's exit could not be handled: ${(error as Error).message}`));
    const deadAfter = this.init.deadAfterMs ?? HELPER_DEAD_MS;
    this.#timer = setInterval(() => {
      if (Date.now() - this.#lastPong > deadAfter) {
        return this.#lose(`the WebRTC helper answered nothing for ${deadAfter} ms (the bundled WebRTC library can deadlock in a TURN handshake); replacing it`);
      }
      if (!this.#queue) proc.send({ op: "ping", n: ++this.#ping });
    }, Math.min(PING_EVERY_MS, deadAfter / 2));
    this.#timer.unref?.();
  }

  /** Kills the helper; every connection it held ends. `why`, when given, is logged. */
  #lose(why: string | null): void {
    const proc = this.#proc;
    if (!proc) return;
    this.#proc = null;
    this.#queue = null;
    if (this.#timer) clearInterval(this.#timer);
    process.off("exit", this.#killOnExit);
    proc.kill(9);
    if (why) this.init.log?.(why);
    const peers = [...this.#peers.values()];
    const channels = [...this.#channels.values()];
    this.#peers.clear();
    this.#channels.clear();
    this.#channelPeer.clear();
    for (const channel of channels) channel.ended();
    for (const peer of peers) peer.ended();
    // A helper lost is replaced a moment later, so redials do not wait for one to start.
    if (why && !this.#closed) setTimeout(() => this.#ensure(), RESTART_AFTER_MS).unref?.();
  }

  #report(r: Report): void {
    switch (r.ev) {
      case "pong":
        this.#lastPong = Date.now();
        return;
      case "probed":
        return this.#probes.get(r.id)?.(r.candidates);
      case "description":
        this.#peers.get(r.pc)?.described(r.sdp);
        return this.#peers.get(r.pc)?.onDescription?.(r.sdp, r.type);
      case "candidate":
        return this.#peers.get(r.pc)?.onCandidate?.(r.candidate, r.mid);
      case "gathering":
        this.#peers.get(r.pc)?.described(r.sdp);
        return this.#peers.get(r.pc)?.onGathering?.(r.state);
      case "state":
        return this.#peers.get(r.pc)?.onState?.(r.state);
      case "failed":
        return this.#peers.get(r.pc)?.onState?.("failed");
      case "incoming": {
        const peer = this.#peers.get(r.pc);
        if (!peer) return this.post({ op: "close-channel", dc: r.dc });
        const channel = new ChannelProxy(this, r.dc);
        this.#channels.set(r.dc, channel);
        this.#channelPeer.set(r.dc, peer);
        if (r.open) channel.opened(r.maxMessageSize);
        return peer.onChannel?.(channel);
      }
      case "open": {
        const channel = this.#channels.get(r.dc);
        if (!channel) return;
        this.#channelPeer.get(r.dc)?.paired(r.pair);
        channel.opened(r.maxMessageSize);
        return channel.onOpenHandler?.();
      }
      case "message":
        return this.#channels.get(r.dc)?.onMessageHandler?.(r.data);
      case "buffered":
        return this.#channels.get(r.dc)?.buffered(r.taken, r.amount);
      case "closed":
        return this.#channels.get(r.dc)?.ended();
      case "error":
        return this.#channels.get(r.dc)?.onErrorHandler?.(r.error);
    }
  }
}
