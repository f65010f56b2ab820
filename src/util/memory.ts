/**
 * Keeps a process's memory near where it started while files stream through it. Each chunk leaves copies of itself
 * behind (read, framed, sealed), and the collector, left to itself, let them pile up between its full collections:
 * the resident size of an instance serving a 1 GiB file rose by 80–110 MB (tests/files/memory.test.ts). Every
 * CHECK_EVERY_BYTES moved (uploads, transfers and downloads together: one process, one memory) this looks at what
 * the collector could free, the JS heap and the memory of buffers, and past SLACK_BYTES above its lowest asks for a
 * full collection (a few ms).
 */
const CHECK_EVERY_BYTES = 16 * 1024 * 1024;
const SLACK_BYTES = 32 * 1024 * 1024;

const collectable = () => {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
};

export class MemoryValve {
  #lowest = collectable();
  #sinceCheck = 0;

  /** `bytes` of a file went through here. */
  moved(bytes: number): void {
    this.#sinceCheck += bytes;
    if (this.#sinceCheck < CHECK_EVERY_BYTES) return;
    this.#sinceCheck = 0;
    const now = collectable();
    this.#lowest = Math.min(this.#lowest, now);
    if (now - this.#lowest <= SLACK_BYTES) return;
    Bun.gc(true);
    this.#lowest = Math.min(this.#lowest, collectable());
  }
}

/** The thread's one valve: uploads, transfers between instances and downloads all report to it (a worker thread has a heap, and a valve, of its own). */
export const memoryValve = new MemoryValve();
