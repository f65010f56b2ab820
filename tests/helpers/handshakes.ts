/**
 * Handshakes as an attacker makes them: the first message of a link's Noise handshake, captured once (to replay it)
 * or made afresh, and raw links that carry them and report what the far end answered.
 */
import { BaseLink } from "../../src/transport/base-link.ts";
import { wholeFrame, type FrameData, type Link } from "../../src/transport/link.ts";
import { secureChannel } from "../../src/transport/secure/channel.ts";
import { rogueIdentity } from "./rogue.ts";

/** A link that only records what is sent on it. */
class Recorder extends BaseLink {
  readonly tier = "websocket" as const;
  readonly remote = "recorder";
  readonly sent: Uint8Array[] = [];
  get bufferedBytes(): number {
    return 0;
  }
  send(frame: FrameData): void {
    this.sent.push(Uint8Array.from(wholeFrame(frame)));
  }
  close(reason = "closed"): void {
    this.ended(reason);
  }
}

/** The first message a dialler sends (its ephemeral key and the protocol version), as the real handshake makes it. */
export function firstMessage(identity = rogueIdentity()): Uint8Array {
  const recorder = new Recorder();
  secureChannel(recorder, { identity, initiator: true, timeoutMs: 10 }).catch(() => {});
  recorder.close("captured");
  return recorder.sent[0]!;
}

/** What the far end did with one first message on a fresh link: answered it (its second message), or closed. */
export function answerTo(link: Link, message: Uint8Array, waitMs = 3000): Promise<"answered" | "closed" | "silent"> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done("silent"), waitMs);
    const done = (outcome: "answered" | "closed" | "silent") => {
      clearTimeout(timer);
      resolve(outcome);
      link.close("probe done");
    };
    link.onFrame(() => done("answered"));
    link.onClose(() => done("closed"));
    try {
      link.send(message);
    } catch {
      done("closed");
    }
  });
}
