import dgram from "node:dgram";
import { encodeDatagram, type Datagram } from "./wire.ts";

/** Asked of the kernel for the receive buffer; it silently caps this at net.core.rmem_max. */
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
/** Longest `close` waits for sends still in the socket's queue: a send whose callback never comes must not hold it up. */
const FLUSH_TIMEOUT_MS = 1000;

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
  /** Datagrams of an authenticated link dropped for a missing or false tag. */
  unauthenticated: number;
}

/** A datagram to send, tagged under `tagKey` when given; the socket fills in the sender. */
export type OutgoingDatagram = Omit<Datagram, "from" | "tag"> & { tagKey?: Uint8Array };

/** Where the socket binds and sends. */
export interface LanSocketInit {
  localNodeId: string;
  port: number;
  bindAddress: string;
  /** Broadcast addresses every datagram goes to. */
  addresses: readonly string[];
  /** Called with every datagram read, and where it came from ("ip:port"). */
  onMessage: (bytes: Uint8Array, from: string) => void;
}

/**
 * The UDP socket every link and beacon of one LAN transport shares. It binds with address reuse, so several instances
 * share the port; then a unicast datagram would reach only one of them, so every datagram is broadcast to each address.
 */
export class LanSocket {
  readonly stats: LanStats = { sent: 0, received: 0, malformed: 0, retransmitted: 0, sendErrors: 0, unauthenticated: 0 };
  /** Settles once the socket is bound; rejects with the bind error. */
  readonly ready: Promise<void>;
  readonly #socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  #open = false;
  /** Sends still in the socket's queue: `close` waits for them, or a FIN would be dropped with the socket. */
  #unsent = 0;
  #flushed = () => {};

  constructor(private readonly init: LanSocketInit) {
    this.ready = this.#bind();
    this.ready.catch(() => {});
    this.#socket.on("message", (bytes: Buffer, remote: dgram.RemoteInfo) => {
      this.stats.received++;
      init.onMessage(bytes, `${remote.address}:${remote.port}`);
    });
  }

  /** True from the bind until `close`. */
  get open(): boolean {
    return this.#open;
  }

  /** Broadcasts one datagram from this instance to every address; dropped while the socket is not open. */
  transmit(datagram: OutgoingDatagram): void {
    if (!this.#open) return;
    const { port, addresses, localNodeId } = this.init;
    const { tagKey, ...fields } = datagram;
    const bytes = encodeDatagram({ ...fields, from: localNodeId }, tagKey);
    for (const address of addresses) {
      try {
        this.#unsent++;
        this.#socket.send(bytes, port, address, (error) => {
          if (error) this.stats.sendErrors++;
          if (--this.#unsent === 0) this.#flushed();
        });
        this.stats.sent++;
      } catch {
        this.#unsent--;
        this.stats.sendErrors++;
      }
    }
  }

  /** Waits (briefly) for the sends still queued, then closes the socket. */
  async close(): Promise<void> {
    await this.ready.catch(() => {});
    if (!this.#open) return;
    if (this.#unsent > 0) {
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#flushed = resolve;
      setTimeout(resolve, FLUSH_TIMEOUT_MS).unref();
      await promise;
    }
    this.#open = false;
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  #bind(): Promise<void> {
    const socket = this.#socket;
    return new Promise<void>((resolve, reject) => {
      socket.once("error", (error) => {
        socket.close();
        reject(error); // e.g. EADDRINUSE when a socket without address reuse holds the port
      });
      socket.bind(this.init.port, this.init.bindAddress, () => {
        socket.removeAllListeners("error");
        socket.on("error", () => this.stats.sendErrors++);
        this.#open = true;
        socket.setBroadcast(true);
        try {
          socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
        } catch {
          // Best effort: the default buffer works, with more resends under load.
        }
        resolve();
      });
    });
  }
}
