import type { ControlMessage } from "./control.ts";
import type { ControlKind, Inbound, LinkProtocol } from "./protocol.ts";

/** The protocols registered on a link manager, in order: each control kind goes to its own, every event to each. */
export class ProtocolRegistry {
  readonly #all: LinkProtocol[] = [];
  readonly #byKind = new Map<ControlKind, LinkProtocol>();
  /** The one that takes relayed links' frames. */
  #circuits: LinkProtocol | null = null;

  add(protocol: LinkProtocol): void {
    for (const kind of protocol.kinds) this.#byKind.set(kind, protocol);
    this.#all.push(protocol);
    if (protocol.circuitFrame) this.#circuits = protocol;
  }

  receive(message: ControlMessage, from: Inbound): void {
    this.#byKind.get(message.t)?.receive(message, from);
  }

  circuitFrame(from: string, circuit: string, data: Uint8Array): void {
    this.#circuits?.circuitFrame?.(from, circuit, data);
  }

  /** Whether some protocol gives the peer that rank in a full table. */
  standing(nodeId: string, rank: "named" | "waiting"): boolean {
    return this.#all.some((p) => p.standing?.(nodeId) === rank);
  }

  start(): void {
    for (const protocol of this.#all) protocol.start?.();
  }

  peerUp(nodeId: string): void {
    for (const protocol of this.#all) protocol.peerUp?.(nodeId);
  }

  peerGone(nodeId: string): void {
    for (const protocol of this.#all) protocol.peerGone?.(nodeId);
  }

  tick(): void {
    for (const protocol of this.#all) protocol.tick?.();
  }

  close(): void {
    for (const protocol of this.#all) protocol.close?.();
  }
}
