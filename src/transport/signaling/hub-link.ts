import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { BaseLink } from "../base-link.ts";
import { wholeFrame, type FrameData } from "../link.ts";

/** The hub envelope type of session frames. */
export const SESSION_ENVELOPE = "e-goat-session";

/** What one hub envelope of a session carries: the session (chosen by the side that opened it) and one frame. */
export const SessionEnvelope = Type.Object(
  {
    session: Type.String({ pattern: "^[A-Za-z0-9_-]{22}$" }),
    frame: Type.String({ pattern: "^[A-Za-z0-9_-]*$", maxLength: 60_000 }),
  },
  { additionalProperties: false },
);
export type SessionEnvelope = Static<typeof SessionEnvelope>;

const check = TypeCompiler.Compile(SessionEnvelope);
export const isSessionEnvelope = (value: unknown): value is SessionEnvelope => check.Check(value);

/** Frames one session may hold unread, and the largest it carries: signaling is small. */
const MAX_SESSION_BYTES = 1024 * 1024;

/**
 * The frames of one session between two instances through a `/signal` hub, as a Link: the secure channel runs over
 * it as over any tier's link, so the hub passes on only a Noise handshake and sealed frames.
 */
export class HubLink extends BaseLink {
  readonly tier = "webrtc" as const;

  constructor(
    readonly remote: string,
    readonly session: string,
    private readonly transmit: (envelope: SessionEnvelope) => void,
    private readonly onRelease: () => void,
  ) {
    super(MAX_SESSION_BYTES);
  }

  /** The hub's WebSocket holds what is sent; this link keeps nothing of its own. */
  get bufferedBytes(): number {
    return 0;
  }

  send(frame: FrameData): void {
    this.checkSend(frame);
    this.transmit({ session: this.session, frame: Buffer.from(wholeFrame(frame)).toString("base64url") });
  }

  /** A frame of this session arrived through the hub. */
  receive(envelope: SessionEnvelope): void {
    this.deliver(Buffer.from(envelope.frame, "base64url"));
  }

  close(reason = "closed"): void {
    this.ended(reason);
  }

  protected override release(): void {
    this.onRelease();
  }
}
