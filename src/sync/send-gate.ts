/**
 * How much replication may queue toward peers. A peer that does not read makes its link hold what was sent to it; a
 * catch-up of a long history, sent all at once, held all of it (16 members that never read, each asking for 40 MB,
 * took an instance to 1.8 GiB). So history goes out a frame at a time while the peer's link holds little, pushes
 * and vectors are left for the next catch-up while it holds much, all peers' links together hold a bounded amount,
 * and a peer whose link drains nothing for long is unlinked.
 */
export const SEND_LIMITS = {
  /** A catch-up frame goes only while the peer's link holds less than this. */
  catchUpBytes: 1024 * 1024,
  /** Pushes and vectors are left for the next catch-up while the peer's link holds more than this. */
  pushBytes: 2 * 1024 * 1024,
  /** What all peers' links may hold together before catch-ups wait. */
  totalBytes: 32 * 1024 * 1024,
  /** And before pushes are left: above what files may hold (512 KiB a peer), so chat is not held up by them. */
  pushTotalBytes: 64 * 1024 * 1024,
  /** A link that holds bytes and drains none of them for this long has a reader that stopped: it is closed. */
  stuckMs: 30_000,
  /** How often a waiting catch-up looks again, and how often links are watched for a stopped reader. */
  pollMs: 20,
  watchMs: 1000,
} as const;

export interface GatedLinks {
  /** Bytes waiting to leave on the peer's primary link; null when it has none. */
  buffered(nodeId: string): number | null;
}

export class SendGate {
  /** Per peer whose link holds bytes: what it held at the last look, and when it last held less than before. */
  readonly #watched = new Map<string, { bytes: number; drained: number }>();

  constructor(
    private readonly links: GatedLinks,
    /** The peers linked now. */
    private readonly peers: () => Iterable<string>,
    private readonly limits: typeof SEND_LIMITS = SEND_LIMITS,
  ) {}

  /** Bytes waiting on every linked peer's link. */
  total(): number {
    let sum = 0;
    for (const nodeId of this.peers()) sum += this.links.buffered(nodeId) ?? 0;
    return sum;
  }

  /** Whether a push (or a vector) may go to the peer now; when not, the next catch-up sends what it would have. */
  mayPush(nodeId: string): boolean {
    const held = this.links.buffered(nodeId);
    return held !== null && held <= this.limits.pushBytes && this.total() <= this.limits.pushTotalBytes;
  }

  /** Waits until the next catch-up frame may go to the peer; false once it has no link. */
  async room(nodeId: string): Promise<boolean> {
    for (;;) {
      const held = this.links.buffered(nodeId);
      if (held === null) return false;
      if (held < this.limits.catchUpBytes && this.total() < this.limits.totalBytes) return true;
      await Bun.sleep(this.limits.pollMs);
    }
  }

  /** Looks at every linked peer's link; answers those that held bytes and drained none for `stuckMs`. */
  stuck(now = Date.now()): string[] {
    const stuck: string[] = [];
    const seen = new Set<string>();
    for (const nodeId of this.peers()) {
      seen.add(nodeId);
      const bytes = this.links.buffered(nodeId) ?? 0;
      const last = this.#watched.get(nodeId);
      if (bytes === 0) {
        this.#watched.delete(nodeId);
      } else if (!last || bytes < last.bytes) {
        this.#watched.set(nodeId, { bytes, drained: now });
      } else {
        last.bytes = bytes;
        if (now - last.drained >= this.limits.stuckMs) {
          stuck.push(nodeId);
          this.#watched.delete(nodeId);
        }
      }
    }
    for (const nodeId of this.#watched.keys()) if (!seen.has(nodeId)) this.#watched.delete(nodeId);
    return stuck;
  }
}
