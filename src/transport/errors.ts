/**
 * One error class per way a link or a dial fails, each with its `name` set, so callers branch on the class and logs
 * say what happened. Every dial failure is a DialError; a dial over several tiers that all fail rejects with an
 * AggregateError of theirs.
 */

/** A dial failed; the subclasses say how. Also used as is where no subclass fits (no address field, no signaling path). */
export class DialError extends Error {
  override name = "DialError";
}

/** No answer within the dial's time. */
export class DialTimeoutError extends DialError {
  override name = "DialTimeoutError";
}

/** The far end, or the network on the way, said no: nothing listens there, the peer is full, the connection failed. */
export class DialRefusedError extends DialError {
  override name = "DialRefusedError";
}

/** The link came up, but the instance at the far end is not the one dialled (or is this one). */
export class WrongPeerError extends DialError {
  override name = "WrongPeerError";
}

/** The transport was closed, before or during the dial. */
export class TransportClosedError extends DialError {
  override name = "TransportClosedError";
}

/** A send on a link that is closed, or that closed because of this send (the far end stopped reading). */
export class LinkClosedError extends Error {
  override name = "LinkClosedError";
}

/** A frame over MAX_FRAME_BYTES was given to `send`; nothing was sent and the link stays open. */
export class FrameTooLargeError extends RangeError {
  override name = "FrameTooLargeError";
}

/** The dial error for an aborted attempt: the attempt's timeout becomes a DialTimeoutError, any other reason stays as is. */
export function abortReason(signal: AbortSignal, what: string, timeoutMs: number): unknown {
  const reason: unknown = signal.reason;
  if (reason instanceof DOMException && reason.name === "TimeoutError") return new DialTimeoutError(`${what}: no link within ${timeoutMs} ms`);
  return reason;
}

/** An error's message, whatever was thrown. */
export const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** One line for a failed connect: each tier's error when all of them failed, else the error's message. */
export function describeDialFailure(error: unknown): string {
  if (!(error instanceof AggregateError)) return messageOf(error);
  const causes = error.errors.map((e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)));
  return causes.length === 0 ? error.message : `${error.message} (${causes.join("; ")})`;
}
