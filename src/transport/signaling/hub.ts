import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { DISPLAY_NAME_RULE, isDisplayName, isRoomName, ROOM_RULE } from "../../domain/names.ts";
import { RateLimiter } from "../../util/rate-limit.ts";
import { jsonError } from "../../util/http.ts";
import type { Routed } from "../websocket/routed-server.ts";
import { SourceSlots, type ReleaseSlot } from "../source-slots.ts";
import { parseEnvelope, type HubEnvelope, type LocalHub } from "./envelope.ts";

export interface SignalHubInit {
  /** Largest envelope passed on, in bytes. @default 65536 */
  maxEnvelopeBytes?: number;
  /** Members one room may hold. @default 256 */
  maxMembersPerRoom?: number;
  /** Connections the hub holds at once. @default 4096 */
  maxConnections?: number;
  /** Connections one source (an IPv4 address, or an IPv6 /64) may hold. @default 32 */
  maxConnectionsPerSource?: number;
  /** Bytes waiting for one member past which it counts as not reading and is cut off. @default 128 KiB */
  maxBufferedPerMember?: number;
  /** Bytes waiting for the members of one room, and for all members, past which envelopes are refused. @default 4 MiB, 32 MiB */
  maxBufferedPerRoom?: number;
  maxBufferedTotal?: number;
  /** Envelopes per second one connection may send (bursts of twice that). @default 100 */
  envelopesPerSecond?: number;
}

export const DEFAULT_MAX_ENVELOPE_BYTES = 64 * 1024;

export interface HubMember extends Routed {
  room: string;
  memberId: string;
  /** Unique per connection, so a replaced member's late close does not remove its successor. */
  serial: number;
  /** Gives the connection's slot back. */
  release: ReleaseSlot;
}

type MemberSocket = ServerWebSocket<HubMember>;

/** The `/signal` hub: WebRTC offers, answers and candidates pass between members of a room. */
export class SignalHub implements LocalHub {
  readonly #rooms = new Map<string, Map<string, Member>>();
  readonly #maxEnvelopeBytes: number;
  readonly #maxMembersPerRoom: number;
  readonly #slots: SourceSlots;
  readonly #rate: RateLimiter;
  readonly #buffers: { member: number; room: number; total: number };
  /** Bytes last seen waiting for each socket member (by serial), and their sum. */
  readonly #held = new Map<number, number>();
  #heldTotal = 0;
  #serial = 0;

  constructor(init: SignalHubInit = {}) {
    this.#maxEnvelopeBytes = init.maxEnvelopeBytes ?? DEFAULT_MAX_ENVELOPE_BYTES;
    this.#maxMembersPerRoom = init.maxMembersPerRoom ?? 256;
    this.#slots = new SourceSlots({ total: init.maxConnections ?? 4096, perSource: init.maxConnectionsPerSource ?? 32 });
    this.#buffers = { member: init.maxBufferedPerMember ?? 128 * 1024, room: init.maxBufferedPerRoom ?? 4 * 1024 * 1024, total: init.maxBufferedTotal ?? 32 * 1024 * 1024 };
    const perSecond = init.envelopesPerSecond ?? 100;
    this.#rate = new RateLimiter({ perSecond, burst: perSecond * 2 });
  }

  /** Checks room and peer_id, then upgrades; any refusal is an HTTP error before the upgrade. */
  upgrade(req: Request, server: Server<Routed>): Response | undefined {
    const url = new URL(req.url);
    const room = url.searchParams.get("room");
    const memberId = url.searchParams.get("peer_id");
    if (!room || !memberId) return jsonError(400, "room and peer_id query parameters are required");
    if (!isRoomName(room)) return jsonError(400, `room must be ${ROOM_RULE}`);
    if (!isDisplayName(memberId)) return jsonError(400, `peer_id must be ${DISPLAY_NAME_RULE}`);
    const members = this.#rooms.get(room);
    if (members?.get(memberId)?.local) return jsonError(409, `peer_id '${memberId}' is this instance's own in room '${room}'`);
    if (members && members.size >= this.#maxMembersPerRoom && !members.has(memberId)) {
      return jsonError(429, `room '${room}' has the most members the hub allows (${this.#maxMembersPerRoom})`);
    }
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return jsonError(426, "this endpoint speaks WebSocket only");
    const release = this.#slots.take(server.requestIP(req)?.address);
    if (typeof release === "string") return jsonError(429, `the signaling hub is full for now (${release}); try again later`);
    const data: HubMember = { handler: this.websocket, room, memberId, serial: ++this.#serial, release };
    if (server.upgrade(req, { data })) return undefined;
    release();
    return jsonError(400, "WebSocket upgrade failed");
  }

  /** The hub's WebSocket events; the `--ws-port` server passes them on (see websocket/routed-server.ts). */
  readonly websocket: WebSocketHandler<HubMember> = {
    open: (ws) => this.#join(ws.data.room, ws.data.memberId, socketMember(ws)),
    message: (ws, data) => {
      const { room, memberId, serial } = ws.data;
      const size = typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
      const member = socketMember(ws);
      if (size > this.#maxEnvelopeBytes) return this.#reject(member, `envelope of ${size} bytes is over the ${this.#maxEnvelopeBytes}-byte limit`);
      if (!this.#rate.take(String(serial))) return this.#reject(member, "too many envelopes; slow down");
      this.#forward(room, memberId, member, typeof data === "string" ? data : data.toString("utf8"));
    },
    drain: (ws) => void this.#refresh(socketMember(ws)),
    close: (ws) => {
      ws.data.release();
      this.#rate.forget(String(ws.data.serial));
      this.#heldTotal -= this.#held.get(ws.data.serial) ?? 0;
      this.#held.delete(ws.data.serial);
      this.#leave(ws.data.room, ws.data.memberId, ws.data.serial);
    },
  };

  /** Joins a room from inside this process (the instance itself waiting for WebRTC offers); not rate limited. */
  joinLocal(room: string, memberId: string, onEnvelope: (envelope: HubEnvelope) => void): { send(envelope: HubEnvelope): void; leave(): void } {
    const member: Member = {
      local: true,
      serial: ++this.#serial,
      // Delivered on a later turn, as a socket would, so a reply never re-enters the hub call that caused it.
      send: (text) => queueMicrotask(() => onEnvelope(JSON.parse(text))),
      close: () => {},
      buffered: () => 0,
    };
    this.#join(room, memberId, member);
    return {
      send: (envelope) => this.#forward(room, memberId, member, JSON.stringify(envelope)),
      leave: () => this.#leave(room, memberId, member.serial),
    };
  }

  /** Members of a room, for tests and status pages. */
  members(room: string): string[] {
    return [...(this.#rooms.get(room)?.keys() ?? [])];
  }

  #join(room: string, memberId: string, member: Member): void {
    let members = this.#rooms.get(room);
    if (!members) this.#rooms.set(room, (members = new Map()));
    const previous = members.get(memberId);
    // The instance's own membership (its room for WebRTC offers) is never taken over from outside.
    if (previous?.local && !member.local) return member.close(4009, `peer_id '${memberId}' is this instance's own`);
    members.set(memberId, member);
    // A reconnect under the same id replaces the old connection; the others hear of it as a fresh join.
    previous?.close(4001, "replaced by a newer connection with the same peer_id");
    this.#deliver(member, JSON.stringify({ type: "peers", payload: [...members.keys()].filter((id) => id !== memberId) }));
    this.#broadcast(room, memberId, JSON.stringify({ type: "peer_joined", peer_id: memberId }));
  }

  #leave(room: string, memberId: string, serial: number): void {
    const members = this.#rooms.get(room);
    if (!members || members.get(memberId)?.serial !== serial) return;
    members.delete(memberId);
    if (members.size === 0) this.#rooms.delete(room);
    else this.#broadcast(room, memberId, JSON.stringify({ type: "peer_left", peer_id: memberId }));
  }

  #forward(room: string, memberId: string, from: Member, text: string): void {
    const envelope = parseEnvelope(text);
    if (typeof envelope === "string") return this.#reject(from, envelope);
    const { type, payload, target_peer_id: target } = envelope;
    // The sender is who the connection joined as, whatever the body claims.
    const out = JSON.stringify({ peer_id: memberId, type, payload, ...(target === undefined ? {} : { target_peer_id: target }) });
    const to = target === undefined ? undefined : this.#rooms.get(room)?.get(target);
    if (target !== undefined && !to) return this.#reject(from, `no member '${target}' in room '${room}'`);
    const busy = this.#busy(room, memberId, to, Buffer.byteLength(out));
    if (busy) return this.#reject(from, busy);
    if (to) this.#deliver(to, out);
    else this.#broadcast(room, memberId, out);
  }

  #broadcast(room: string, except: string, text: string): void {
    for (const [id, member] of this.#rooms.get(room) ?? []) if (id !== except) this.#deliver(member, text);
  }

  /**
   * Sends to one member, unless it is not reading: with bytes still waiting for it and this envelope past its share,
   * it is cut off (its buffer freed at once), as a reader that stopped would otherwise hold the hub's memory.
   */
  #deliver(member: Member, text: string): void {
    if (this.#cutOff(member, Buffer.byteLength(text))) return;
    member.send(text);
    this.#refresh(member);
  }

  /** Cuts a member off when `bytes` more would take what waits for it past its share; true when it did. */
  #cutOff(member: Member, bytes: number): boolean {
    const waiting = this.#refresh(member);
    if (waiting === 0 || waiting + bytes <= this.#buffers.member) return false;
    member.close(4008, `not reading: over ${this.#buffers.member} bytes waiting`, true);
    this.#refresh(member);
    return true;
  }

  /**
   * Why an envelope of `bytes` from `from` may not go to `to` (or all the room's other members) now: those that stopped
   * reading are cut off first, then what waits for the rest of the room, and in the whole hub, must stay within bounds.
   */
  #busy(room: string, from: string, to: Member | undefined, bytes: number): string | undefined {
    let inRoom = 0;
    let recipients = 0;
    for (const [id, member] of this.#rooms.get(room) ?? []) {
      if (id !== from && (!to || member === to) && !this.#cutOff(member, bytes)) recipients++;
      inRoom += this.#refresh(member);
    }
    if (inRoom + bytes * recipients > this.#buffers.room) return "the room's members are not keeping up; envelope dropped, try again later";
    if (this.#heldTotal + bytes * recipients > this.#buffers.total) return "the hub is busy; envelope dropped, try again later";
    return undefined;
  }

  /** Tells a member why its envelope went nowhere. */
  #reject(member: Member, reason: string): void {
    this.#deliver(member, JSON.stringify({ type: "error", payload: reason }));
  }

  /** What waits for a member now, noted in the hub's total. */
  #refresh(member: Member): number {
    if (member.local) return 0;
    const now = member.buffered();
    this.#heldTotal += now - (this.#held.get(member.serial) ?? 0);
    this.#held.set(member.serial, now);
    return now;
  }
}

/** One member of a room: a WebSocket client, or a member inside this process (`local`). */
interface Member {
  local?: true;
  serial: number;
  send(text: string): void;
  /** Closes the member's connection; `now` drops what waits for it at once, where a close would wait behind it. */
  close(code: number, reason: string, now?: boolean): void;
  /** Bytes waiting to be sent to it. */
  buffered(): number;
}

function socketMember(ws: MemberSocket): Member {
  return {
    serial: ws.data.serial,
    send: (text) => void ws.send(text),
    close: (code, reason, now) => (now ? ws.terminate() : ws.close(code, reason)),
    buffered: () => ws.getBufferedAmount(),
  };
}
