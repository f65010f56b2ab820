import { randomBytes } from "node:crypto";
import { RateLimiter } from "../../util/rate-limit.ts";
import { DialError, DialRefusedError, DialTimeoutError, messageOf } from "../errors.ts";
import { FairShares } from "../fair-shares.ts";
import type { Link, NodeAddress } from "../link.ts";
import { secureChannel, type ChannelIdentity } from "../secure/channel.ts";
import type { FirstMessages } from "../secure/replays.ts";
import { hubRoomOf, parseEnvelope, type HubEnvelope, type LocalHub } from "./envelope.ts";
import { HubLink, isSessionEnvelope, type SessionEnvelope } from "./hub-link.ts";
import { isSignalMessage, type SignalMessage } from "./signal.ts";

const ENVELOPE_TYPE = "e-goat-session";
const IDLE_CLOSE_MS = 60_000;
const OPEN_TIMEOUT_MS = 5000;
/**
 * Sessions others may have under way with us at once (until their handshake proves the far end): in all, and per
 * source (a hub member, or the linked peer that passes a session on), fairly (../fair-shares.ts). Sessions a source may
 * open a second.
 */
const INCOMING = { total: 64, share: 8 };
/** Proven sessions others opened with us, kept at most (each also closes when idle): past it, the one unused longest closes. */
const MAX_PROVEN_INCOMING = 256;
const OPENED_PER_SECOND = 5;

/** One secured session with another instance: its frames travel through a hub or a common peer, sealed end to end. */
interface Session {
  peer: string;
  link: HubLink;
  /** The socket to the peer's hub, for a session this side opened there. */
  socket: WebSocket | null;
  /** The linked peer that passes the session's frames on, for a session relayed by one. */
  carrier: string | null;
  /** Set once the handshake proved the far end is `peer`. */
  secure: Link | null;
  lastUsed: number;
}

export interface HubPathInit {
  /** This instance's identity: each session's handshake proves it, and proves the far end's. */
  identity: ChannelIdentity;
  hub: LocalHub;
  onMessage: (from: string, message: SignalMessage) => void;
  /** A session's handshake must complete within this. @default 5000 */
  handshakeTimeoutMs?: number;
  /** Linked peers that may pass frames on to `to` (members of a room, linked to us; none when unknown). */
  carriers?: (to: string) => string[];
  /** Asks `carrier` to pass a session frame on to `to`; false when there is no link to it. */
  relay?: (carrier: string, to: string, payload: SessionEnvelope) => boolean;
  /** First handshake messages seen lately (the link manager's): a replayed one opens no session. */
  replays?: FirstMessages;
}

/** Common peers asked at once to carry a session to an instance neither hub nor link reaches. */
const MAX_CARRIERS = 3;

/**
 * The signaling path through `/signal` hubs, for peers with no link yet: this instance waits in its own hub's room
 * `mesh.<id>`, and reaches another instance by joining that instance's room on its hub. Through the hub, the two run
 * the links' own secure handshake (secure/channel.ts) and then exchange only sealed frames: a hub member, whatever
 * peer_id it claims, can neither read the offers meant for another node nor inject one in another node's name.
 * Where no hub reaches the peer (both behind NATs), a session goes through a linked peer linked to it too: that peer
 * passes the frames on (`relay`, `relayed` control messages, one hop at most) and sees only the same handshake and
 * sealed frames.
 */
export class HubPath {
  /** Sessions opened through our hub, by peer and session id, and those this side opened, by session id: a frame feeds only a session of its way in. */
  readonly #incoming = new Map<string, Session>();
  readonly #outgoing = new Map<string, Session>();
  /** Per peer, its secured session, which every message to it takes (answers go back the way offers came). */
  readonly #secured = new Map<string, Session>();
  /** Sessions this instance is opening, so concurrent sends to one peer share one. */
  readonly #opening = new Map<string, Promise<Session>>();
  readonly #sockets = new Map<string, WebSocket>();
  readonly #timeoutMs: number;
  /** Places of the sessions others opened, per source; and how fast each source opens them. */
  readonly #places = new FairShares<Session>(INCOMING, (session) => session.link.close("making room for another source's session"));
  readonly #opened = new RateLimiter({ perSecond: OPENED_PER_SECOND, burst: 4 * OPENED_PER_SECOND });
  #local: ReturnType<LocalHub["joinLocal"]> | null = null;
  #sweep: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly init: HubPathInit) {
    this.#timeoutMs = init.handshakeTimeoutMs ?? 5000;
  }

  start(): void {
    const { nodeId } = this.init.identity;
    this.#local = this.init.hub.joinLocal(hubRoomOf(nodeId), nodeId, (envelope) => this.#arrived(envelope));
    this.#sweep = setInterval(() => {
      for (const session of this.#all()) if (Date.now() - session.lastUsed > IDLE_CLOSE_MS) session.link.close("idle");
      for (const [peer, socket] of this.#sockets) if (![...this.#outgoing.values()].some((s) => s.socket === socket)) this.#dropSocket(peer);
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
    for (const peer of [...this.#sockets.keys()]) this.#dropSocket(peer);
    this.#local?.leave();
  }

  #all(): Session[] {
    return [...this.#incoming.values(), ...this.#outgoing.values()];
  }

  #dropSocket(peer: string): void {
    this.#sockets.get(peer)?.close();
    this.#sockets.delete(peer);
  }

  /** An envelope to us through our own hub: a frame of a session another instance opened, or the start of one. */
  #arrived(envelope: HubEnvelope): void {
    const from = envelope.peer_id;
    if (!from || envelope.type !== ENVELOPE_TYPE || !isSessionEnvelope(envelope.payload)) return;
    const key = `${from} ${envelope.payload.session}`;
    const known = this.#incoming.get(key);
    if (known) return known.link.receive(envelope.payload);
    if (!this.#local) return;
    const local = this.#local;
    const session = this.#session(this.#incoming, key, from, envelope.payload.session, null, null, (payload) =>
      local.send({ type: ENVELOPE_TYPE, payload, target_peer_id: from }),
    );
    if (!this.#admit(`hub member ${from}`, session)) return;
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
    const socket = await this.#socket(nodeId, ws);
    const id = randomBytes(16).toString("base64url");
    const session = this.#session(this.#outgoing, id, nodeId, id, socket, null, (payload) =>
      socket.send(JSON.stringify({ type: ENVELOPE_TYPE, payload, target_peer_id: nodeId })),
    );
    await this.#secure(session, true);
    return session;
  }

  async #connectVia(carrier: string, nodeId: string): Promise<Session> {
    const id = randomBytes(16).toString("base64url");
    const session = this.#relayedSession(this.#outgoing, id, nodeId, id, carrier);
    try {
      await this.#secure(session, true);
    } catch (error) {
      session.link.close("handshake failed");
      throw error;
    }
    return session;
  }

  /** A session frame from `from`, passed on by the linked peer `carrier`: for a session either side opened that way. */
  relayed(carrier: string, from: string, payload: SessionEnvelope): void {
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
    const session = this.#relayedSession(this.#incoming, key, from, payload.session, carrier);
    if (!this.#admit(`carrier ${carrier}`, session)) return;
    session.link.receive(payload);
    // The carrier's word for who sent it counts for nothing: the handshake must prove it.
    void this.#secure(session, false).catch(() => {});
  }

  /**
   * Keeps the proven sessions others opened to a bounded number, closing the one unused longest. (Not only a peer's
   * newest: the two sides may not agree which is newest, and the far end sends on the one it finished last.)
   */
  #bound(): void {
    const proven = [...this.#incoming.values()].filter((s) => s.secure);
    if (proven.length <= MAX_PROVEN_INCOMING) return;
    proven.reduce((a, b) => (b.lastUsed < a.lastUsed ? b : a)).link.close("unused longest of too many sessions");
  }

  /** Gives a session another instance opened a place, within its source's rate and share; else closes it. */
  #admit(source: string, session: Session): boolean {
    if (this.#opened.take(source) && this.#places.take(source, session)) return true;
    session.link.close(`${source} opens too many sessions`);
    return false;
  }

  /** A session whose frames the linked peer `carrier` passes on, either way. */
  #relayedSession(map: Map<string, Session>, key: string, peer: string, id: string, carrier: string): Session {
    const session = this.#session(map, key, peer, id, null, carrier, (payload) => {
      if (!this.init.relay?.(carrier, peer, payload)) session.link.close(`no link to ${carrier} any more`);
    });
    return session;
  }

  #session(
    map: Map<string, Session>,
    key: string,
    peer: string,
    id: string,
    socket: WebSocket | null,
    carrier: string | null,
    transmit: (payload: SessionEnvelope) => void,
  ): Session {
    const way = carrier ? `through ${carrier}` : socket ? "via its hub" : "via our hub";
    const link = new HubLink(`${peer} ${way}`, id, transmit, () => {
      map.delete(key);
      this.#places.release(session);
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
    this.#places.release(session);
    if (!initiator) this.#bound();
    // Messages go out on the newest session; an older one (both sides may open one at once) still delivers until idle.
    this.#secured.set(session.peer, session);
    link.onFrame((frame) => {
      let message: unknown;
      try {
        message = JSON.parse(new TextDecoder().decode(frame));
      } catch {
        return link.close("a session frame is not JSON");
      }
      if (!isSignalMessage(message)) return link.close("a session frame is not a signal message");
      session.lastUsed = Date.now();
      this.init.onMessage(session.peer, message);
    });
    link.onClose(() => session.link.close());
  }

  /** A WebSocket to `ws`'s hub, in `nodeId`'s room as this instance; its envelopes from `nodeId` feed our sessions. */
  async #socket(nodeId: string, ws: string): Promise<WebSocket> {
    const open = this.#sockets.get(nodeId);
    if (open && open.readyState === WebSocket.OPEN) return open;
    const query = new URLSearchParams({ room: hubRoomOf(nodeId), peer_id: this.init.identity.nodeId });
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
      if (typeof envelope === "string" || envelope.peer_id !== nodeId || envelope.type !== ENVELOPE_TYPE) return;
      if (!isSessionEnvelope(envelope.payload)) return;
      const session = this.#outgoing.get(envelope.payload.session);
      if (session?.socket === socket) session.link.receive(envelope.payload);
    };
    socket.onclose = () => {
      if (this.#sockets.get(nodeId) === socket) this.#sockets.delete(nodeId);
      for (const session of [...this.#outgoing.values()]) if (session.socket === socket) session.link.close("hub connection closed");
    };
    this.#sockets.set(nodeId, socket);
    return socket;
  }
}
