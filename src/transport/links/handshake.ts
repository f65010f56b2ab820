import { PROTOCOL_VERSION } from "../../domain/protocol.ts";
import { DialError, DialTimeoutError, WrongPeerError } from "../errors.ts";
import type { Link } from "../link.ts";
import { decodeFrame, encodeControl } from "./control.ts";

export interface HandshakeInit {
  localNodeId: string;
  /** The node id the dialler meant to reach; a link to anyone else fails with WrongPeerError. Absent for accepted links. */
  expected?: string;
  timeoutMs: number;
}

/**
 * The first exchange on every fresh link, dialled or accepted: each side sends its node id and protocol version
 * first, then waits for the other's. Resolves with the far end's node id; otherwise closes the link and rejects
 * (WrongPeerError, DialTimeoutError, or DialError with the reason). Frames after the handshake wait in the link for
 * the next frame handler.
 */
export function handshake(link: Link, init: HandshakeInit): Promise<string> {
  const { promise, resolve, reject } = Promise.withResolvers<string>();
  const fail = (error: DialError) => {
    settle();
    link.close(error.message);
    reject(error);
  };
  const timer = setTimeout(() => fail(new DialTimeoutError(`no handshake within ${init.timeoutMs} ms`)), init.timeoutMs);
  const stopFrames = link.onFrame((frame) => {
    const decoded = decodeFrame(frame);
    if (decoded.kind !== "control" || decoded.message.t !== "id") {
      return fail(new DialError(decoded.kind === "invalid" ? decoded.reason : `${decoded.kind === "data" ? "data" : decoded.message.t} before the handshake`));
    }
    const { node, protocol } = decoded.message;
    if (protocol !== PROTOCOL_VERSION) return fail(new DialError(`protocol ${protocol} is not ${PROTOCOL_VERSION}`));
    if (node === init.localNodeId) return fail(new WrongPeerError("link to self"));
    if (init.expected !== undefined && node !== init.expected) return fail(new WrongPeerError(`reached ${node}, not ${init.expected}`));
    settle();
    resolve(node);
  });
  const stopClose = link.onClose((reason) => {
    settle();
    reject(new DialError(`link closed before the handshake: ${reason}`));
  });
  function settle() {
    clearTimeout(timer);
    stopFrames();
    stopClose();
  }
  try {
    link.send(encodeControl({ t: "id", node: init.localNodeId, protocol: PROTOCOL_VERSION }));
  } catch (error) {
    fail(new DialError(`link closed before the handshake: ${(error as Error).message}`));
  }
  return promise;
}
