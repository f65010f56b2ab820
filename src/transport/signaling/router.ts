import type { Tier } from "../../domain/tiers.ts";
import { Handlers } from "../../util/handlers.ts";
import { DialError } from "../errors.ts";
import type { NodeAddress } from "../link.ts";
import type { SignalSessions } from "./sessions.ts";
import type { Signaling, SignalMessage } from "./signal.ts";

/** Sends a signal message over a link to the peer; false when there is none. */
export type LinkPath = (nodeId: string, message: SignalMessage) => boolean;

/**
 * Where WebRTC negotiation travels: over a link the two instances already have (the link manager's), else in a
 * signaling session through a `/signal` hub or a carrier (sessions.ts). The webrtc and turn tiers share these paths; `forTier` tags each tier's sessions, so each gets back
 * only its own messages.
 */
export class SignalRouter implements Signaling {
  readonly #onMessage = new Handlers<[string, SignalMessage]>();
  #viaLink: LinkPath = () => false;
  #sessions: SignalSessions | null = null;

  /** The link manager registers itself as the first path. */
  useLinks(path: LinkPath): void {
    this.#viaLink = path;
  }

  /** The signaling sessions, through hubs and carriers, for peers with no link yet. */
  useSessions(sessions: SignalSessions): void {
    this.#sessions = sessions;
  }

  async send(to: NodeAddress, message: SignalMessage): Promise<void> {
    if (this.#viaLink(to.nodeId, message)) return;
    if (this.#sessions) return this.#sessions.send(to, message);
    throw new DialError(`no signaling path to ${to.nodeId}`);
  }

  onMessage(handler: (from: string, message: SignalMessage) => void): () => void {
    return this.#onMessage.add(handler);
  }

  /** A message arrived from `from` over one of the paths. */
  receive(from: string, message: SignalMessage): void {
    this.#onMessage.emit(from, message);
  }

  /** The view one tier's transport gets: its sessions travel as `<tier>:<session>`. */
  forTier(tier: Tier): Signaling {
    const prefix = `${tier}:`;
    return {
      send: (to, message) => this.send(to, { ...message, session: prefix + message.session }),
      onMessage: (handler) =>
        this.onMessage((from, message) => {
          if (message.session.startsWith(prefix)) handler(from, { ...message, session: message.session.slice(prefix.length) });
        }),
    };
  }
}
