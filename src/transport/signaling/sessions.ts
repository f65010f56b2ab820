import { randomBytes } from "node:crypto";
import { DialError, messageOf } from "../errors.ts";
import type { Link, NodeAddress } from "../link.ts";
import { secureChannel, type ChannelIdentity } from "../secure/channel.ts";
import type { FirstMessages } from "../secure/replays.ts";
import { hubRoomOf, type HubEnvelope, type LocalHub } from "./envelope.ts";
import { HubLink, isSessionEnvelope, SESSION_ENVELOPE, type SessionEnvelope } from "./hub-link.ts";
import { HubSockets } from "./hub-sockets.ts";
import { SessionGate } from "./session-gate.ts";
import { decodeSignal, type SignalMessage } from "./signal.ts";

const IDLE_CLOSE_MS = 60_000;
/** One secured session with another instance: its frames travel through a hub or a common peer, sealed end to end. */
interface Session {
  peer: string;
  link: HubLink;
  /** The socket to the peer's hub, for a session this side opened there. */
  socket: WebSocket | null;
  /** The linked peer that passes the session's frames on, for a session carried by one. */
  carrier: string | null;
  /** Set once the handshake proved the far end is `peer`. */
  secure: Link | null;
  lastUsed: number;
}

export interface SignalSessionsInit {
  /** This instance's identity: each session's handshake proves it, and proves the far end's. */
  identity: ChannelIdentity;
  hub: LocalHub;
  onMessage: (from: string, message: SignalMessage) => void;
  /** A session's handshake must complete within this. @default 5000 */
  handshakeTimeoutMs?: number;
  /** Linked peers that may pass frames on to `to` (members of a room, linked to us; none when unknown). */
  carriers?: (to: string) => string[];
  /** Asks `carrier` to pass a session frame on to `to`; false when there is no link to it. */
  carry?: (carrier: string, to: string, payload: SessionEnvelope) => boolean;
  /** First handshake messages seen lately (the link manager's): a replayed one opens no session. */
  replays?: FirstMessages;
}

/** Common peers asked at once to carry a session to an instance neither hub nor link reaches. */
const MAX_CARRIERS = 3;

/**
 * Signaling sessions, for peers with no link yet, through `/signal` hubs or carriers: this instance waits in its own
 * hub's room `mesh.<id>`, and reaches another instance by joining that instance's room on its hub. Through the hub, the two run
 * the links' own secure handshake (secure/channel.ts) and then exchange only sealed frames: a hub member, whatever
 * peer_id it claims, can neither read the offers meant for another node nor inject one in another node's name.
 * Where no hub reaches the peer (both behind NATs), a session goes through a linked peer linked to it too: that peer
 * passes the frames on (carrier.ts: the `relay` and `relayed` control messages, one hop at most) and sees only the same
 * handshake and sealed frames.
 */
export class SignalSessions {
  /** Sessions opened through our hub, by peer and session id, and those this side opened, by session id: a frame feeds only a session of its way in. */
  readonly #incoming = new Map<string, Session>();
  readonly #outgoing = new Map<string, Session>();
  /** Per peer, its secured session, which every message to it takes (answers go back the way offers came). */
  readonly #secured = new Map<string, Session>();
  /** Sessions this instance is opening, so concurrent sends to one peer share one. */
  readonly #opening = new Map<string, Promise<Session>>();
  readonly #sockets: HubSockets;
  readonly #timeoutMs: number;
  /** What the sessions others open may cost. */
  readonly #gate = new SessionGate<Session>();
  #local: ReturnType<LocalHub["joinLocal"]> | null = null;
  #sweep: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly init: SignalSessionsInit) {
    this.#timeoutMs = init.handshakeTimeoutMs ?? 5000;
    this.#sockets = new HubSockets({
      nodeId: init.identity.nodeId,
      onFrame: (socket, payload) => {
        const session = this.#outgoing.get(payload.session);
        if (session?.socket === socket) session.link.receive(payload);
      },
      onClose: (socket) => {
        for (const session of [...this.#outgoing.values()]) if (session.socket === socket) session.link.close("hub connection closed");
      },
    });
  }

  start(): void {
    const { nodeId } = this.init.identity;
    this.#local = this.init.hub.joinLocal(hubRoomOf(nodeId), nodeId, (envelope) => this.#arrived(envelope));
    this.#sweep = setInterval(() => {
      for (const session of this.#all()) if (Date.now() - session.lastUsed > IDLE_CLOSE_MS) session.link.close("idle");
      this.#sockets.sweep((socket) => [...this.#outgoing.values()].some((s) => s.socket === socket));
    }, IDLE_CLOSE_MS / 2);
  }

  /** Sends over the session with the peer, opening one on its hub at `to.ws` when there is none. */
  async send(to: NodeAddress, message: SignalMessage): Promise<void> {
    const session = this.#secured.get(to.nodeId) ?? (await this.#open(to));
    session.lastUsed = Date.now();
    session.secure!.send(new TextEncoder().encode(JSON.stringify(message)));
  }

  /**
   * The peer is back (a rendezvous just met it, perhaps a new process): the session with it may be the old process's,
   * whose frames the new one cannot open, so the next message opens a fresh one.
   */
  renew(peer: string): void {
    this.#secured.get(peer)?.link.close("the peer is back: a fresh session");
  }

  close(): void {
    if (this.#sweep) clearInterval(this.#sweep);
    for (const session of this.#all()) session.link.close("shutting down");
    this.#sockets.close();
    this.#local?.leave();
  }

  #all(): Session[] {
    return [...this.#incoming.values(), ...this.#outgoing.values()];
  }

  /** An envelope to us through our own hub: a frame of a session another instance opened, or the start of one. */
  #arrived(envelope: HubEnvelope): void {
    const from = envelope.peer_id;
    if (!from || envelope.type !== SESSION_ENVELOPE || !isSessionEnvelope(envelope.payload)) return;
    const key = `${from} ${envelope.payload.session}`;
    const known = this.#incoming.get(key);
    if (known) return known.link.receive(envelope.payload);
    if (!this.#local) return;
    const session = this.#session(this.#incoming, key, { peer: from, id: envelope.payload.session, socket: null, carrier: null });
    if (!this.#gate.admit(`hub member ${from}`, session)) return;
    session.link.receive(envelope.payload);
    // The claimed peer_id counts for nothing: the handshake must prove it.
    void this.#secure(session, false).catch(() => {});
  }

  #open(to: NodeAddress): Promise<Session> {
    let opening = this.#opening.get(to.nodeId);
    if (!opening) {
      opening = this.#connect(to).finally(() => this.#opening.delete(to.nodeId));
      this.#opening.set(to.nodeId, opening);
    }
    return opening;
  }

  /** A session through the peer's hub, else through common peers. */
  async #connect(to: NodeAddress): Promise<Session> {
    let hubError: unknown = null;
    if (to.ws) {
      try {
        return await this.#connectHub(to.nodeId, to.ws);
      } catch (error) {
        hubError = error;
      }
    }
    const carriers = (this.init.carriers?.(to.nodeId) ?? []).slice(0, MAX_CARRIERS);
    if (carriers.length === 0) {
      if (hubError) throw hubError;
      throw new DialError(`no signaling path to ${to.nodeId}: no link, no hub address and no common peer`);
    }
    const tries = carriers.map((carrier) => this.#connectVia(carrier, to.nodeId));
    try {
      // The first carrier whose session completes its handshake wins; the others close.
      const session = await Promise.any(tries);
      for (const other of tries) void other.then((s) => s !== session && s.link.close("another carrier was faster"), () => {});
      return session;
    } catch {
      const why = hubError ? `${messageOf(hubError)}; ` : "";
      throw new DialError(`no signaling path to ${to.nodeId}: ${why}no common peer passed a session on`);
    }
  }

  async #connectHub(nodeId: string, ws: string): Promise<Session> {
    const socket = await this.#sockets.open(nodeId, ws);
    const id = randomBytes(16).toString("base64url");
    const session = this.#session(this.#outgoing, id, { peer: nodeId, id, socket, carrier: null });
    await this.#secure(session, true);
    return session;
  }

  async #connectVia(carrier: string, nodeId: string): Promise<Session> {
    const id = randomBytes(16).toString("base64url");
    const session = this.#session(this.#outgoing, id, { peer: nodeId, id, socket: null, carrier });
    try {
      await this.#secure(session, true);
    } catch (error) {
      session.link.close("handshake failed");
      throw error;
    }
    return session;
  }

  /** A session frame from `from`, passed on by the linked peer `carrier`: for a session either side opened that way. */
  carried(carrier: string, from: string, payload: SessionEnvelope): void {
    const mine = this.#outgoing.get(payload.session);
    if (mine) {
      if (mine.carrier === carrier && mine.peer === from) mine.link.receive(payload);
      return;
    }
    const key = `${from} ${payload.session}`;
    const known = this.#incoming.get(key);
    if (known) {
      if (known.carrier === carrier) known.link.receive(payload);
      return;
    }
    const session = this.#session(this.#incoming, key, { peer: from, id: payload.session, socket: null, carrier });
    if (!this.#gate.admit(`carrier ${carrier}`, session)) return;
    session.link.receive(payload);
    // The carrier's word for who sent it counts for nothing: the handshake must prove it.
    void this.#secure(session, false).catch(() => {});
  }

  /** Files a new session under `key` in `map`; its frames go out the way it came (the peer's hub, ours, or a carrier). */
  #session(map: Map<string, Session>, key: string, way: Pick<Session, "peer" | "socket" | "carrier"> & { id: string }): Session {
    const { peer, id, socket, carrier } = way;
    const transmit = (payload: SessionEnvelope) => {
      const envelope = { type: SESSION_ENVELOPE, payload, target_peer_id: peer };
      if (carrier) {
        if (!this.init.carry?.(carrier, peer, payload)) session.link.close(`no link to ${carrier} any more`);
      } else if (socket) socket.send(JSON.stringify(envelope));
      else this.#local?.send(envelope);
    };
    const how = carrier ? `through ${carrier}` : socket ? "via its hub" : "via our hub";
    const link = new HubLink(`${peer} ${how}`, id, transmit, () => {
      map.delete(key);
      this.#gate.release(session);
      if (this.#secured.get(peer) === session) this.#secured.delete(peer);
    });
    const session: Session = { peer, link, socket, carrier, secure: null, lastUsed: Date.now() };
    map.set(key, session);
    return session;
  }

  /** Runs the handshake over a session; then its sealed frames are signal messages from the proven peer. */
  async #secure(session: Session, initiator: boolean): Promise<void> {
    const { identity } = this.init;
    const { nodeId, link } = await secureChannel(session.link, {
      identity,
      initiator,
      expected: initiator ? session.peer : undefined,
      timeoutMs: this.#timeoutMs,
      replays: initiator ? undefined : this.init.replays,
    });
    if (nodeId !== session.peer) {
      link.close("the hub member is not the node it claims to be");
      throw new DialError(`a hub member claimed to be ${session.peer} but is ${nodeId}`);
    }
    session.secure = link;
    // A place was held while the far end proved itself: a proven session holds none (else a peer met again and again
    // through one carrier would use up that carrier's share with sessions it finished).
    this.#gate.release(session);
    if (!initiator) this.#gate.bound(this.#incoming.values());
    // Messages go out on the newest session; an older one (both sides may open one at once) still delivers until idle.
    this.#secured.set(session.peer, session);
    link.onFrame((frame) => {
      const message = decodeSignal(frame);
      if (typeof message === "string") return link.close(`a session frame is ${message}`);
      session.lastUsed = Date.now();
      this.init.onMessage(session.peer, message);
    });
    link.onClose(() => session.link.close());
  }
}
