/**
 * A NAT-PMP client (RFC 6886): asks the default gateway for its public address and to forward a TCP port here.
 *
 * Written here rather than taken from @achingbrain/nat-port-mapper (whose UPnP side upnp.ts uses): its NAT-PMP client
 * sends a lifetime given in milliseconds as seconds, never retransmits (one lost datagram stalls its queue for good),
 * cannot unmap once stopping (it binds its socket again and throws), and reads answers of any length from anyone,
 * which throws in a socket handler. Here the socket is connected to the gateway (the kernel drops datagrams from any
 * other address), every answer is checked for its length, version, opcode and port before it counts, and requests
 * are retransmitted as the RFC says: after 250 ms, then twice as long each time.
 */
import type { Router } from "./router.ts";

export const NAT_PMP_PORT = 5351;
const OP_ADDRESS = 0;
const OP_MAP_TCP = 2;
const ANSWER = 128;
/** Result codes of RFC 6886 §3.5, for messages. */
const RESULTS: Record<number, string> = {
  1: "unsupported version",
  2: "refused (NAT-PMP may be off on the router)",
  3: "network failure (the router has no public address yet)",
  4: "out of resources",
  5: "unsupported opcode",
};

export class NatPmpError extends Error {
  override name = "NatPmpError";
}

export interface NatPmpMapping {
  externalPort: number;
  /** Seconds the router keeps the mapping. */
  lifetime: number;
}

export interface NatPmpInit {
  gateway: string;
  /** First wait for an answer; doubled at each retransmission. @default 250 */
  firstWaitMs?: number;
  /** Requests sent in all before giving up (RFC 6886 says 9, 64 s; a start-up check wants an answer sooner). @default 5 */
  tries?: number;
  /** @default 5351 */
  port?: number;
}

interface Pending {
  op: number;
  internalPort?: number;
  resolve: (answer: Uint8Array) => void;
  reject: (error: Error) => void;
}

export class NatPmpClient {
  readonly gateway: string;
  #socket: Promise<Bun.udp.ConnectedSocket<"uint8array">> | null = null;
  #pending: Pending | null = null;
  /** One request at a time: the protocol has no request id, an answer is matched by its opcode and port. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(private readonly init: NatPmpInit) {
    this.gateway = init.gateway;
  }

  /** The router's public IPv4 address. */
  async externalAddress(): Promise<string> {
    const answer = await this.#request(Uint8Array.of(0, OP_ADDRESS), OP_ADDRESS);
    if (answer.length < 12) throw new NatPmpError("the router's answer is too short");
    return Array.from(answer.subarray(8, 12)).join(".");
  }

  /** Asks the router to forward TCP `externalPort` (a wish: it may give another) to `internalPort` here. */
  async mapTcp(internalPort: number, externalPort: number, lifetimeSeconds: number): Promise<NatPmpMapping> {
    const request = new Uint8Array(12);
    const view = new DataView(request.buffer);
    view.setUint8(1, OP_MAP_TCP);
    view.setUint16(4, internalPort);
    view.setUint16(6, externalPort);
    view.setUint32(8, lifetimeSeconds);
    const answer = await this.#request(request, OP_MAP_TCP, internalPort);
    if (answer.length < 16) throw new NatPmpError("the router's answer is too short");
    const read = new DataView(answer.buffer, answer.byteOffset, answer.byteLength);
    return { externalPort: read.getUint16(10), lifetime: read.getUint32(12) };
  }

  /** Removes the mapping of `internalPort` (a request with lifetime 0). */
  async unmapTcp(internalPort: number): Promise<void> {
    await this.mapTcp(internalPort, 0, 0);
  }

  close(): void {
    this.#closed = true;
    this.#socket?.then((s) => s.close()).catch(() => {});
  }

  #request(message: Uint8Array, op: number, internalPort?: number): Promise<Uint8Array> {
    const run = this.#queue.then(() => this.#send(message, op, internalPort));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #send(message: Uint8Array, op: number, internalPort?: number): Promise<Uint8Array> {
    if (this.#closed) throw new NatPmpError("closed");
    const socket = await this.#open();
    const { promise, resolve, reject } = Promise.withResolvers<Uint8Array>();
    this.#pending = { op, internalPort, resolve, reject };
    let wait = this.init.firstWaitMs ?? 250;
    try {
      for (let sent = 0; sent < (this.init.tries ?? 5); sent++, wait *= 2) {
        socket.send(message);
        const answer = await Promise.race([promise, Bun.sleep(wait).then(() => null)]);
        if (!answer) continue;
        const result = new DataView(answer.buffer, answer.byteOffset, answer.byteLength).getUint16(2);
        if (result !== 0) throw new NatPmpError(`the router refused: ${RESULTS[result] ?? `result code ${result}`}`);
        return answer;
      }
      throw new NatPmpError(`no NAT-PMP answer from ${this.gateway}`);
    } finally {
      this.#pending = null;
    }
  }

  #open(): Promise<Bun.udp.ConnectedSocket<"uint8array">> {
    this.#socket ??= Bun.udpSocket({
      binaryType: "uint8array",
      connect: { hostname: this.gateway, port: this.init.port ?? NAT_PMP_PORT },
      socket: {
        data: (_socket, data) => this.#heard(data),
        // The router said no one listens there (an ICMP port unreachable, reported on the next receive).
        error: () => this.#pending?.reject(new NatPmpError(`nothing answers NAT-PMP at ${this.gateway}`)),
      },
    });
    return this.#socket;
  }

  /** An answer counts only when it is one to the request in flight: version 0, its opcode + 128, the same port. */
  #heard(data: Uint8Array): void {
    const pending = this.#pending;
    if (!pending || data.length < 8 || data[0] !== 0 || data[1] !== ANSWER + pending.op) return;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const refused = view.getUint16(2) !== 0;
    // A mapping's answer names the internal port; a refusal may come without it.
    if (pending.internalPort !== undefined && !refused && (data.length < 16 || view.getUint16(8) !== pending.internalPort)) return;
    pending.resolve(data);
  }
}

/** How long a NAT-PMP mapping is asked for (the RFC's recommendation); it is renewed halfway. */
const PMP_LIFETIME_S = 7200;

/** The router at `gateway` as a port mapper, once it answered NAT-PMP; null when it did not. */
export async function findNatPmpRouter(gateway: string, localAddress: string, init: Partial<NatPmpInit> = {}): Promise<Router | null> {
  const client = new NatPmpClient({ ...init, gateway });
  try {
    await client.externalAddress();
  } catch {
    client.close();
    return null;
  }
  const renewals = new Map<number, ReturnType<typeof setTimeout>>();
  return {
    protocol: "NAT-PMP",
    gateway,
    localAddress,
    externalIp: () => client.externalAddress(),
    async mapTcp(port, onChange) {
      const map = async () => {
        const mapping = await client.mapTcp(port, port, PMP_LIFETIME_S);
        const renew = () =>
          void map().then(
            (external) => external !== mapping.externalPort && onChange(external),
            () => renewals.set(port, setTimeout(renew, 60_000)),
          );
        renewals.set(port, setTimeout(renew, (mapping.lifetime * 1000) / 2));
        return mapping.externalPort;
      };
      return map();
    },
    async close() {
      for (const timer of renewals.values()) clearTimeout(timer);
      await Promise.allSettled([...renewals.keys()].map((port) => client.unmapTcp(port)));
      client.close();
    },
  };
}
