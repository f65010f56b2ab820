import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { DISPLAY_NAME_RULE, isDisplayName, isRoomName, ROOM_RULE } from "../../domain/names.ts";
import { RateLimiter } from "../../rate-limit.ts";
import { jsonError } from "../../util/http.ts";
import type { Routed } from "../websocket/routed-server.ts";
import { parseEnvelope, type HubEnvelope, type LocalHub } from "./envelope.ts";

export interface SignalHubInit {
  /** Largest envelope relayed, in bytes. @default 65536 */
  maxEnvelopeBytes?: number;
  /** Members one room may hold. @default 256 */
  maxMembersPerRoom?: number;
  /** Connections the hub holds at once. @default 4096 */
  maxConnections?: number;
  /** Envelopes per second one connection may send (bursts of twice that). @default 100 */
  envelopesPerSecond?: number;
}

export const DEFAULT_MAX_ENVELOPE_BYTES = 64 * 1024;

export interface HubMember extends Routed {
  room: string;
  peerId: string;
  /** Unique per connection, so a replaced member's late close does not remove its successor. */
  serial: number;
}

type MemberSocket = ServerWebSocket<HubMember>;

/** The `/signal` relay: WebRTC offers, answers and candidates pass between members of a room. */
export class SignalHub implements LocalHub {
  readonly #rooms = new Map<string, Map<string, Member>>();
  readonly #maxEnvelopeBytes: number;
  readonly #maxMembersPerRoom: number;
  readonly #maxConnections: number;
  readonly #rate: RateLimiter;
  #connections = 0;
  #serial = 0;

  constructor(init: SignalHubInit = {}) {
    this.#maxEnvelopeBytes = init.maxEnvelopeBytes ?? DEFAULT_MAX_ENVELOPE_BYTES;
    this.#maxMembersPerRoom = init.maxMembersPerRoom ?? 256;
    this.#maxConnections = init.maxConnections ?? 4096;
    const perSecond = init.envelopesPerSecond ?? 100;
    this.#rate = new RateLimiter({ perSecond, burst: perSecond * 2 });
  }

  /** Checks room and peer_id, then upgrades; any refusal is an HTTP error before the upgrade. */
  upgrade(req: Request, server: Server<Routed>): Response | undefined {
    const url = new URL(req.url);
    const room = url.searchParams.get("room");
    const peerId = url.searchParams.get("peer_id");
    if (!room || !peerId) return jsonError(400, "room and peer_id query parameters are required");
    if (!isRoomName(room)) return jsonError(400, `room must be ${ROOM_RULE}`);
    if (!isDisplayName(peerId)) return jsonError(400, `peer_id must be ${DISPLAY_NAME_RULE}`);
    if (this.#connections >= this.#maxConnections) return jsonError(429, "the signaling hub is full; try again later");
    const members = this.#rooms.get(room);
    if (members?.get(peerId)?.local) return jsonError(409, `peer_id '${peerId}' is this instance's own in room '${room}'`);
    if (members && members.size >= this.#maxMembersPerRoom && !members.has(peerId)) {
      return jsonError(429, `room '${room}' has the most members the hub allows (${this.#maxMembersPerRoom})`);
    }
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return jsonError(426, "this endpoint speaks WebSocket only");
    const data: HubMember = { handler: this.websocket, room, peerId, serial: ++this.#serial };
    if (server.upgrade(req, { data })) return undefined;
    return jsonError(400, "WebSocket upgrade failed");
  }

  /** The hub's WebSocket events; the `--ws-port` server passes them on (see websocket/routed-server.ts). */
  readonly websocket: WebSocketHandler<HubMember> = {
    open: (ws) => {
      this.#connections++;
      this.#join(ws.data.room, ws.data.peerId, socketMember(ws));
    },
    message: (ws, data) => {
      const { room, peerId, serial } = ws.data;
      const size = typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
      const member = socketMember(ws);
      if (size > this.#maxEnvelopeBytes) return reject(member, `envelope of ${size} bytes is over the ${this.#maxEnvelopeBytes}-byte limit`);
      if (!this.#rate.take(String(serial))) return reject(member, "too many envelopes; slow down");
      this.#relay(room, peerId, member, typeof data === "string" ? data : data.toString("utf8"));
    },
    close: (ws) => {
      this.#connections--;
      this.#rate.forget(String(ws.data.serial));
      this.#leave(ws.data.room, ws.data.peerId, ws.data.serial);
    },
  };

  /** Joins a room from inside this process (the instance itself waiting for WebRTC offers); not rate limited. */
  joinLocal(room: string, peerId: string, onEnvelope: (envelope: HubEnvelope) => void): { send(envelope: HubEnvelope): void; leave(): void } {
    const member: Member = {
      local: true,
      serial: ++this.#serial,
      // Delivered on a later turn, as a socket would, so a reply never re-enters the relay that caused it.
      send: (text) => queueMicrotask(() => onEnvelope(JSON.parse(text))),
      close: () => {},
    };
    this.#join(room, peerId, member);
    return {
      send: (envelope) => this.#relay(room, peerId, member, JSON.stringify(envelope)),
      leave: () => this.#leave(room, peerId, member.serial),
    };
  }

  /** Members of a room, for tests and status pages. */
  members(room: string): string[] {
    return [...(this.#rooms.get(room)?.keys() ?? [])];
  }

  #join(room: string, peerId: string, member: Member): void {
    let members = this.#rooms.get(room);
    if (!members) this.#rooms.set(room, (members = new Map()));
    const previous = members.get(peerId);
    // The instance's own membership (its room for WebRTC offers) is never taken over from outside.
    if (previous?.local && !member.local) return member.close(4009, `peer_id '${peerId}' is this instance's own`);
    members.set(peerId, member);
    // A reconnect under the same id replaces the old connection; the others hear of it as a fresh join.
    previous?.close(4001, "replaced by a newer connection with the same peer_id");
    member.send(JSON.stringify({ type: "peers", payload: [...members.keys()].filter((id) => id !== peerId) }));
    this.#broadcast(room, peerId, JSON.stringify({ type: "peer_joined", peer_id: peerId }));
  }

  #leave(room: string, peerId: string, serial: number): void {
    const members = this.#rooms.get(room);
    if (!members || members.get(peerId)?.serial !== serial) return;
    members.delete(peerId);
    if (members.size === 0) this.#rooms.delete(room);
    else this.#broadcast(room, peerId, JSON.stringify({ type: "peer_left", peer_id: peerId }));
  }

  #relay(room: string, peerId: string, from: Member, text: string): void {
    const envelope = parseEnvelope(text);
    if (typeof envelope === "string") return reject(from, envelope);
    const { type, payload, target_peer_id: target } = envelope;
    // The sender is who the connection joined as, whatever the body claims.
    const out = JSON.stringify({ peer_id: peerId, type, payload, ...(target === undefined ? {} : { target_peer_id: target }) });
    if (target === undefined) return this.#broadcast(room, peerId, out);
    const to = this.#rooms.get(room)?.get(target);
    if (!to) return reject(from, `no member '${target}' in room '${room}'`);
    to.send(out);
  }

  #broadcast(room: string, except: string, text: string): void {
    for (const [id, member] of this.#rooms.get(room) ?? []) if (id !== except) member.send(text);
  }
}

/** One member of a room: a WebSocket client, or a member inside this process (`local`). */
interface Member {
  local?: true;
  serial: number;
  send(text: string): void;
  close(code: number, reason: string): void;
}

function socketMember(ws: MemberSocket): Member {
  return { serial: ws.data.serial, send: (text) => ws.send(text), close: (code, reason) => ws.close(code, reason) };
}

function reject(member: Member, reason: string): void {
  member.send(JSON.stringify({ type: "error", payload: reason }));
}
