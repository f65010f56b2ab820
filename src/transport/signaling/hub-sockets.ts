import { DialError, DialRefusedError, DialTimeoutError, messageOf } from "../errors.ts";
import { hubRoomOf, parseEnvelope } from "./envelope.ts";
import { isSessionEnvelope, SESSION_ENVELOPE, type SessionEnvelope } from "./hub-link.ts";

const OPEN_TIMEOUT_MS = 5000;

export interface HubSocketsInit {
  /** This instance's node id, its `peer_id` in the rooms it joins. */
  nodeId: string;
  /** A session frame from the peer whose room `socket` is in. */
  onFrame: (socket: WebSocket, payload: SessionEnvelope) => void;
  /** `socket` closed: the sessions over it end. */
  onClose: (socket: WebSocket) => void;
}

/** The WebSockets this instance opens to other instances' `/signal` hubs: one per peer, in that peer's room as this instance. */
export class HubSockets {
  readonly #sockets = new Map<string, WebSocket>();

  constructor(private readonly init: HubSocketsInit) {}

  /** A WebSocket to `ws`'s hub, in `nodeId`'s room; its envelopes from `nodeId` feed our sessions. */
  async open(nodeId: string, ws: string): Promise<WebSocket> {
    const open = this.#sockets.get(nodeId);
    if (open && open.readyState === WebSocket.OPEN) return open;
    const query = new URLSearchParams({ room: hubRoomOf(nodeId), peer_id: this.init.nodeId });
    const socket = new WebSocket(`${ws}/signal?${query}`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new DialTimeoutError(`hub at ${ws} did not answer`)), OPEN_TIMEOUT_MS);
      socket.onopen = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.onerror = () => {
        clearTimeout(timer);
        reject(new DialRefusedError(`cannot reach the hub at ${ws}`));
      };
    }).catch((error: unknown) => {
      socket.close();
      throw error instanceof DialError ? error : new DialError(messageOf(error));
    });
    socket.onmessage = (event) => {
      const envelope = parseEnvelope(String(event.data));
      if (typeof envelope === "string" || envelope.peer_id !== nodeId || envelope.type !== SESSION_ENVELOPE) return;
      if (isSessionEnvelope(envelope.payload)) this.init.onFrame(socket, envelope.payload);
    };
    socket.onclose = () => {
      if (this.#sockets.get(nodeId) === socket) this.#sockets.delete(nodeId);
      this.init.onClose(socket);
    };
    this.#sockets.set(nodeId, socket);
    return socket;
  }

  /** Closes the sockets no session uses any more. */
  sweep(used: (socket: WebSocket) => boolean): void {
    for (const [peer, socket] of this.#sockets) if (!used(socket)) this.#drop(peer);
  }

  close(): void {
    for (const peer of [...this.#sockets.keys()]) this.#drop(peer);
  }

  #drop(peer: string): void {
    this.#sockets.get(peer)?.close();
    this.#sockets.delete(peer);
  }
}
