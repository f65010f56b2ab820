import type { RtcChannel, RtcPeer } from "./library.ts";
import { DialError, messageOf } from "../errors.ts";

/** Remote candidates one handshake keeps while its remote description has not come. */
const MAX_EARLY_CANDIDATES = 32;

/** One WebRTC handshake in progress, from dial or offer until its RtcChannel opens. */
export class Negotiation {
  pc: RtcPeer | null = null;
  channel: RtcChannel | null = null;
  hasRemote = false;
  /** Our own description exists, and with it our ICE transport (an answerer's comes a moment after the offer). */
  hasLocal = false;
  /** An offer was taken for this handshake (its answer may wait for the library to load). */
  offered = false;
  done = false;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Remote candidates waiting for the remote description (libdatachannel refuses them before it). */
  readonly candidates: [string, string][] = [];
  /** A dial's own candidates, held back until the answer is applied (see `announce`). */
  readonly #held: [string, string][] = [];
  /** Ends the handshake; dials replace it to also reject their promise. */
  fail: (error: unknown) => void = () => {};
  /** Sends one of our candidates to the far end; set by the transport. */
  sendCandidate: (candidate: string, mid: string) => void = () => {};

  constructor(
    readonly peer: string,
    readonly session: string,
    readonly outgoing: boolean,
  ) {}

  /** Applies the far end's description, then the candidates that came before it. */
  setRemote(sdp: string, type: "offer" | "answer"): void {
    try {
      this.pc!.setRemoteDescription(sdp, type);
    } catch (error) {
      return this.fail(new DialError(`bad ${type} from ${this.peer}: ${messageOf(error)}`));
    }
    this.hasRemote = true;
    for (const [candidate, mid] of this.#held.splice(0)) this.sendCandidate(candidate, mid);
    this.#applyCandidates();
  }

  /** Our description was made: candidates that waited for it can be applied. */
  described(): void {
    this.hasLocal = true;
    this.#applyCandidates();
  }

  #applyCandidates(): void {
    for (const [candidate, mid] of this.candidates.splice(0)) this.addCandidate(candidate, mid);
  }

  /**
   * Sends one of our candidates, except that a dial keeps them until its answer is applied. libdatachannel hands a
   * remote description to ICE before it records it for the DTLS fingerprint check, so a peer that already knows our
   * candidates can connect, and run its DTLS handshake against us, inside our setRemoteDescription(answer); the check
   * then finds no remote description and fails the connection ("certificate verify failed", state "failed"). Without
   * our candidates the answerer cannot reach us until we check it, which we do only once the answer is in place.
   */
  announce(candidate: string, mid: string): void {
    if (this.outgoing && !this.hasRemote) this.#held.push([candidate, mid]);
    else this.sendCandidate(candidate, mid);
  }

  /** Applies a remote candidate once both descriptions are in place (libdatachannel throws before), else keeps it. */
  addCandidate(candidate: string, mid: string): void {
    if (!this.pc || !this.hasRemote || !this.hasLocal) {
      if (this.candidates.length < MAX_EARLY_CANDIDATES) this.candidates.push([candidate, mid]);
      return;
    }
    try {
      this.pc.addRemoteCandidate(candidate, mid);
    } catch {
      // A malformed candidate is dropped; the others may still connect.
    }
  }
}
