import { DialError, DialRefusedError, DialTimeoutError } from "../errors.ts";
import type { NodeAddress } from "../link.ts";
import { hubRoomOf, parseEnvelope, type HubEnvelope, type LocalHub } from "./envelope.ts";
import { isSignalMessage, type SignalMessage } from "./signal.ts";

const ENVELOPE_TYPE = "webrtc";
const IDLE_CLOSE_MS = 60_000;
const OPEN_TIMEOUT_MS = 5000;

interface Route {
  send(message: SignalMessage): void;
  close(): void;
  lastUsed: number;
}

/**
 * The signaling path through `/signal` hubs, for peers with no link yet: this instance waits in its own hub's room
 * `mesh.<id>`, and reaches another instance by joining that instance's room on its hub. Answers go back the way
 * the offer came.
 */
export class HubPath {
  readonly #routes = new Map<string, Route>();
  /** Hub connections being opened; the offer and the first candidates must share one, not race to open several. */
  readonly #joining = new Map<string, Promise<Route>>();
  #local: ReturnType<LocalHub["joinLocal"]> | null = null;
  #sweep: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly init: {
      localNodeId: string;
      hub: LocalHub;
      onMessage: (from: string, message: SignalMessage) => void;
    },
  ) {}

  start(): void {
    const local = this.init.hub.joinLocal(hubRoomOf(this.init.localNodeId), this.init.localNodeId, (envelope: HubEnvelope) => {
      const from = envelope.peer_id;
      if (!from || envelope.type !== ENVELOPE_TYPE || !isSignalMessage(envelope.payload)) return;
      if (!this.#routes.has(from)) {
        this.#routes.set(from, {
          send: (message) => local.send({ type: ENVELOPE_TYPE, payload: message, target_peer_id: from }),
          close: () => {},
          lastUsed: Date.now(),
        });
      }
      this.#routes.get(from)!.lastUsed = Date.now();
      this.init.onMessage(from, envelope.payload);
    });
    this.#local = local;
    this.#sweep = setInterval(() => {
      for (const [id, route] of this.#routes) {
        if (Date.now() - route.lastUsed > IDLE_CLOSE_MS) {
          route.close();
          this.#routes.delete(id);
        }
      }
    }, IDLE_CLOSE_MS / 2);
  }

  /** Sends through the route a peer last used, or joins the peer's room on its hub at `to.ws`. */
  async send(to: NodeAddress, message: SignalMessage): Promise<void> {
    let route = this.#routes.get(to.nodeId);
    if (!route) {
      if (!to.ws) throw new DialError(`no signaling path to ${to.nodeId}: no link and no hub address`);
      let joining = this.#joining.get(to.nodeId);
      if (!joining) {
        joining = this.#join(to.nodeId, to.ws).finally(() => this.#joining.delete(to.nodeId));
        this.#joining.set(to.nodeId, joining);
      }
      route = await joining;
    }
    route.lastUsed = Date.now();
    route.send(message);
  }

  close(): void {
    if (this.#sweep) clearInterval(this.#sweep);
    for (const route of this.#routes.values()) route.close();
    this.#routes.clear();
    this.#local?.leave();
  }

  async #join(nodeId: string, ws: string): Promise<Route> {
    const query = new URLSearchParams({ room: hubRoomOf(nodeId), peer_id: this.init.localNodeId });
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
    });
    const route: Route = {
      send: (message) => socket.send(JSON.stringify({ type: ENVELOPE_TYPE, payload: message, target_peer_id: nodeId })),
      close: () => socket.close(),
      lastUsed: Date.now(),
    };
    socket.onmessage = (event) => {
      const envelope = parseEnvelope(String(event.data));
      if (typeof envelope === "string") return;
      if (envelope.peer_id === nodeId && envelope.type === ENVELOPE_TYPE && isSignalMessage(envelope.payload)) {
        route.lastUsed = Date.now();
        this.init.onMessage(nodeId, envelope.payload);
      }
    };
    socket.onclose = () => {
      if (this.#routes.get(nodeId) === route) this.#routes.delete(nodeId);
    };
    this.#routes.set(nodeId, route);
    return route;
  }
}
