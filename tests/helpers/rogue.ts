/**
 * A rogue instance for attack tests: it speaks the real link handshake with a key of its own (or claims another
 * node's id over its own key), then sends whatever frames it likes and records what comes back.
 */
import { generateKeyPairSync } from "node:crypto";
import { membershipTag, roomIdOf } from "../../src/domain/rooms.ts";
import { nodeIdOf } from "../../src/storage/identity.ts";
import { decodeFrame, encodeFrame } from "../../src/sync/codec.ts";
import type { Frame } from "../../src/sync/frames.ts";
import { decodeFrame as decodeControl, encodeControl, encodeData } from "../../src/transport/links/control.ts";
import { linkManager, type Links } from "../../src/network.ts";
import { secureChannel, type ChannelIdentity } from "../../src/transport/secure/channel.ts";
import { websocketTransport } from "../../src/transport/websocket/index.ts";
import { waitFor, type Instance } from "./instance.ts";
import { websocketFrom } from "./ws-from.ts";

/** A fresh identity, as a new instance would make; `claim` puts another node's id beside a key that is not its. */
export function rogueIdentity(claim?: string): ChannelIdentity {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return { nodeId: claim ?? nodeIdOf(publicKey), publicKey, privateKey };
}

export interface Rogue extends AsyncDisposable {
  /** The node id its key proves (what the instance sees, whatever it claims). */
  readonly id: string;
  readonly links: Links;
  /** Every frame the instance sent it, in order, with its size in bytes. */
  readonly received: { frame: Frame; bytes: number }[];
  /** Links to the instance over its websocket tier; resolves once the link carries data. */
  link(to: Instance): Promise<unknown>;
  send(to: Instance, frame: Frame): boolean;
}

/** `from`: the loopback address it dials from (127.0.0.2, ...), to be a source of its own. @default the system's choice */
export async function startRogue(identity = rogueIdentity(), { from }: { from?: string } = {}): Promise<Rogue> {
  const links = linkManager({ identity, transports: [from ? websocketFrom(from) : websocketTransport()], retryMinMs: 200, retryMaxMs: 1000 });
  await links.start();
  const received: Rogue["received"] = [];
  links.onData((_from, data) => received.push({ frame: decodeFrame(data).frame, bytes: data.byteLength }));
  return {
    id: nodeIdOf(identity.publicKey),
    links,
    received,
    link: async (to) => {
      await links.connect({ nodeId: to.nodeId, ws: to.ws });
      await waitFor(() => links.status().some((s) => s.nodeId === to.nodeId && s.state === "connected"), 5000, "the rogue's link");
    },
    send: (to, frame) => {
      if (!links.send(to.nodeId, encodeFrame(frame))) throw new Error("the rogue has no link to send on");
      return true;
    },
    [Symbol.asyncDispose]: () => links.close(),
  };
}

/** What a member of an open room proves to `to` in its hello (it takes only the room's name), and the room's id. */
export const openRoom = (name: string, from: string, to: string) => ({
  proof: membershipTag({ name, key: null }, from, to),
  id: roomIdOf({ name, key: null }),
});

export interface RawRogue extends Disposable {
  readonly id: string;
  /** Frames the instance sent, as the link manager's wire has them (kind byte first), after the handshake. */
  readonly received: Uint8Array[];
  /** Whether the instance closed the link, and why. */
  readonly closed: () => string | null;
  /** Sends one frame as it is, sealed by the link: a kind byte and what follows, or anything at all. */
  sendRaw(frame: Uint8Array | Uint8Array[]): void;
  /** Sends a sync frame as data. */
  send(frame: Frame): void;
  /** Sends a control message. */
  control(message: Parameters<typeof encodeControl>[0]): void;
  /** From now on answers the instance's pings (or stops): the instance elects the link once one is answered. */
  answerPings(yes: boolean): void;
}

/**
 * A rogue below the link manager: it dials the instance's websocket tier and runs the real handshake, then sends what
 * it likes and never answers a ping unless told to (so the instance never elects this link primary on its own).
 */
export async function rawRogue(to: Instance, { identity = rogueIdentity(), pong = false, from }: { identity?: ChannelIdentity; pong?: boolean; from?: string } = {}): Promise<RawRogue> {
  const address = { nodeId: to.nodeId, ws: to.ws };
  const raw = await (from ? websocketFrom(from) : websocketTransport()).dial(address, AbortSignal.timeout(5000));
  const { link } = await secureChannel(raw, { identity, initiator: true, expected: to.nodeId, timeoutMs: 5000 });
  const received: Uint8Array[] = [];
  let closed: string | null = null;
  let answering = pong;
  link.onClose((reason) => void (closed = reason));
  link.onFrame((frame) => {
    received.push(frame);
    const decoded = decodeControl(frame);
    if (answering && decoded.kind === "control" && decoded.message.t === "ping") link.send(encodeControl({ t: "pong", n: decoded.message.n }));
  });
  return {
    id: nodeIdOf(identity.publicKey),
    received,
    closed: () => closed,
    sendRaw: (frame) => link.send(frame),
    send: (frame) => link.send(encodeData(encodeFrame(frame))),
    control: (message) => link.send(encodeControl(message)),
    answerPings: (yes) => void (answering = yes),
    [Symbol.dispose]: () => link.close("rogue done"),
  };
}
