/**
 * The secure channel every link starts with, whatever its tier: a Noise XX handshake (noise-handshake, Holepunch's
 * implementation, as Hyperswarm uses it) in which each side proves its node id, then every frame sealed (secure-link.ts).
 *
 * Noise's static keys are X25519 keys made per link; each side's handshake payload binds its static key to its
 * lasting Ed25519 identity: the raw public key and an Ed25519 signature over the static key (as libp2p-noise does).
 * The node id is the hash of that Ed25519 key, so a peer proves its node id by holding the key. A dialler learns who
 * answered at message 2 and, if it is not the node it meant to reach, stops before revealing itself.
 */
import Noise from "noise-handshake";
import { createPublicKey, hkdfSync, sign, verify, type KeyObject } from "node:crypto";
import { nodeIdOfKey } from "../../domain/names.ts";
import { PROTOCOL_VERSION } from "../../domain/protocol.ts";
import { DialError, DialTimeoutError, messageOf, WrongPeerError } from "../errors.ts";
import type { Link, LinkKeys } from "../link.ts";
import { x25519 } from "./curve.ts";
import { FrameCipher } from "./frame-cipher.ts";
import type { FirstMessages } from "./replays.ts";
import { SecureLink } from "./secure-link.ts";

/** This instance's lasting identity, as storage keeps it. */
export interface ChannelIdentity {
  nodeId: string;
  publicKey: KeyObject;
  privateKey: KeyObject;
}

export interface ChannelInit {
  identity: ChannelIdentity;
  /** True on the dialled side: it speaks first. */
  initiator: boolean;
  /** The node id the dialler meant to reach; anyone else fails with WrongPeerError. Absent for accepted links. */
  expected?: string;
  timeoutMs: number;
  /** On the accepting side: first messages seen lately, so a replayed one is refused before any key work. */
  replays?: FirstMessages;
  /** On the accepting side: the first message must come within this. @default timeoutMs */
  firstMessageMs?: number;
}

/** Both sides' handshakes hash this first: another protocol version, or another use of Noise, cannot complete. */
const PROLOGUE = Buffer.from(`e-goat link ${PROTOCOL_VERSION}`);
/** What an identity key signs: this context and the link's static key, nothing that could mean something else. */
const SIGNED_CONTEXT = Buffer.from("e-goat noise static key:");
const IDENTITY_PAYLOAD_BYTES = 32 + 64;
/** The first message: the dialler's ephemeral key, then the protocol version in the clear. */
const EPHEMERAL_BYTES = 32;
const VERSION = Buffer.from(String(PROTOCOL_VERSION));

/** Keys for a tier to tag its own packets (Link.authenticate), one per direction, bound to this handshake. */
function packetKeys(handshakeHash: Uint8Array, initiator: boolean): LinkKeys {
  const key = (direction: string) => new Uint8Array(hkdfSync("sha256", handshakeHash, "", `e-goat link packets ${direction}`, 32));
  const [mine, theirs] = initiator ? ["initiator", "responder"] : ["responder", "initiator"];
  return { send: key(mine), receive: key(theirs) };
}

const rawPublicKey = (key: KeyObject) => Buffer.from(key.export({ format: "jwk" }).x!, "base64url");

function identityPayload(identity: ChannelIdentity, staticKey: Uint8Array): Buffer {
  return Buffer.concat([rawPublicKey(identity.publicKey), sign(null, Buffer.concat([SIGNED_CONTEXT, staticKey]), identity.privateKey)]);
}

/**
 * The Noise static key each identity's handshakes use, and its payload (the identity key and its signature over the
 * static key), made once per identity: a key pair and a signature per handshake would be work a stranger's first
 * message buys. Forward secrecy comes from the ephemeral keys; the identity payload names the node anyway.
 */
const statics = new WeakMap<ChannelIdentity, { keyPair: { publicKey: Uint8Array; secretKey: Uint8Array }; payload: Buffer }>();
function staticOf(identity: ChannelIdentity) {
  let found = statics.get(identity);
  if (!found) {
    const keyPair = x25519.generateKeyPair();
    found = { keyPair, payload: identityPayload(identity, keyPair.publicKey) };
    statics.set(identity, found);
  }
  return found;
}

/** Why a first message is refused before any key work (the wrong size or version, or a replay), or null. */
function firstMessageProblem(message: Uint8Array, replays: FirstMessages | undefined): DialError | null {
  const version = message.subarray(EPHEMERAL_BYTES);
  if (message.byteLength < EPHEMERAL_BYTES || !VERSION.equals(version)) {
    return new DialError(`protocol ${Buffer.from(version).toString().slice(0, 16) || "unknown"} is not ${PROTOCOL_VERSION}`);
  }
  if (replays && !replays.fresh(message.subarray(0, EPHEMERAL_BYTES))) return new DialError("a handshake's first message sent again");
  return null;
}

/** The node id a handshake payload proves for `staticKey`, or a DialError. */
function provenNodeId(payload: Uint8Array, staticKey: Uint8Array | null): string {
  if (payload.byteLength !== IDENTITY_PAYLOAD_BYTES || !staticKey) throw new DialError("the far end sent no identity");
  const raw = payload.subarray(0, 32);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") }, format: "jwk" });
  } catch {
    throw new DialError("the far end's identity key is not an Ed25519 key");
  }
  if (!verify(null, Buffer.concat([SIGNED_CONTEXT, staticKey]), key, payload.subarray(32))) {
    throw new DialError("the far end's identity does not sign its handshake key");
  }
  return nodeIdOfKey(raw);
}

/**
 * Runs the handshake on a fresh link. Resolves with the proven node id of the far end and the secure link that
 * carries every later frame; otherwise closes the link and rejects (WrongPeerError, DialTimeoutError, or DialError).
 */
export function secureChannel(raw: Link, init: ChannelInit): Promise<{ nodeId: string; link: Link }> {
  const { promise, resolve, reject } = Promise.withResolvers<{ nodeId: string; link: Link }>();
  const own = staticOf(init.identity);
  const noise = new Noise("XX", init.initiator, own.keyPair, { curve: x25519 });
  noise.initialise(PROLOGUE);
  let step = 0;
  let remote: string | undefined;

  const fail = (error: DialError) => {
    settle();
    raw.close(error.message);
    reject(error);
  };
  const check = (nodeId: string) => {
    if (nodeId === init.identity.nodeId) throw new WrongPeerError("link to self");
    if (init.expected !== undefined && nodeId !== init.expected) throw new WrongPeerError(`reached ${nodeId}, not ${init.expected}`);
    return nodeId;
  };
  const done = () => {
    settle();
    raw.authenticate?.(packetKeys(noise.hash!, init.initiator));
    resolve({ nodeId: remote!, link: new SecureLink(raw, new FrameCipher(noise.tx!), new FrameCipher(noise.rx!)) });
  };
  const timer = setTimeout(() => fail(new DialTimeoutError(`no handshake within ${init.timeoutMs} ms`)), init.timeoutMs);
  // An accepted link that says nothing holds its place only briefly.
  const firstTimer =
    !init.initiator && init.firstMessageMs !== undefined
      ? setTimeout(() => fail(new DialTimeoutError(`no first handshake message within ${init.firstMessageMs} ms`)), init.firstMessageMs)
      : undefined;
  const stopFrames = raw.onFrame((message) => {
    try {
      step++;
      clearTimeout(firstTimer);
      if (init.initiator) {
        // <- e, ee, s, es (the responder's identity)
        remote = check(provenNodeId(noise.recv(message), noise.rs));
        raw.send(noise.send(own.payload));
        return done();
      }
      if (step === 1) {
        // -> e, with the protocol version in the clear: checked (and a replay refused) before any key work.
        const problem = firstMessageProblem(message, init.replays);
        if (problem) throw problem;
        noise.recv(message);
        return void raw.send(noise.send(own.payload));
      }
      // -> s, se (the initiator's identity)
      remote = check(provenNodeId(noise.recv(message), noise.rs));
      done();
    } catch (error) {
      fail(error instanceof DialError ? error : new DialError(`handshake failed: ${messageOf(error)}`));
    }
  });
  const stopClose = raw.onClose((reason) => {
    settle();
    reject(new DialError(`link closed before the handshake: ${reason}`));
  });
  function settle() {
    clearTimeout(timer);
    clearTimeout(firstTimer);
    stopFrames();
    stopClose();
  }
  if (init.initiator) {
    try {
      raw.send(noise.send(Buffer.from(String(PROTOCOL_VERSION)))); // -> e
    } catch (error) {
      fail(new DialError(`link closed before the handshake: ${messageOf(error)}`));
    }
  }
  return promise;
}
