/**
 * Where chunks from peers are stored. A transfer at full speed brings about a chunk a millisecond, and storing one (the
 * write, and every sixteenth time a checkpoint that fsyncs some 4 MB twice) takes most of that: on the main thread it
 * would hold up every link, page and chat message for as long, 10 ms and more at each checkpoint. So an instance's
 * database gets a worker thread (chunk-worker.ts) with a connection of its own; without one (an in-memory database,
 * tests of storage alone) chunks are stored where the database lives. The hash is checked here, before the copy to
 * the worker, so the two threads share the work.
 */
import { chunkMatches, type ChunkCredit, type FileStore } from "./files.ts";

export type ToWorker = { type: "open"; path: string } | { type: "store"; seq: number; hash: string; data: Uint8Array; credit?: ChunkCredit } | { type: "close" };
export type FromWorker = { type: "stored"; seq: number; error?: string } | { type: "failed"; error: string } | { type: "closed" };

export interface ChunkWriter {
  /**
   * Stores a chunk if its SHA-256 is `hash` (hex): true once it is stored, false (nothing stored) when it does not
   * match. Rejects when it cannot be stored (the disk, the database). Takes `data`: its memory may move to the worker
   * thread, leaving it (and the frame it was cut from) empty, so the caller uses neither afterwards. With `credit`,
   * the rooms it came through are recorded with it, in one transaction (storage/file-rooms.ts).
   */
  put(hash: string, data: Uint8Array, credit?: ChunkCredit): Promise<boolean>;
  /** Stores what was put before, then stops. */
  close(): Promise<void>;
}

/** Bytes besides the chunk that its buffer may hold and still move with it: the frame's header, not another frame. */
const FRAME_SLACK_BYTES = 64 * 1024;

/**
 * The memory to move to the worker with a chunk rather than copy (copies took a tenth of the receiving instance's CPU
 * and, as garbage of 256 KiB a chunk, 20 MB of its peak memory in bench/files.ts): its buffer when that is the frame it
 * came in, never a pool's that other buffers share.
 */
function movable(data: Uint8Array): ArrayBuffer[] {
  const { buffer } = data;
  const own = buffer instanceof ArrayBuffer && data.byteLength > Buffer.poolSize && buffer.byteLength - data.byteLength <= FRAME_SLACK_BYTES;
  return own ? [buffer] : [];
}

/** How long closing waits for the worker to store the chunks it has. */
const CLOSE_TIMEOUT_MS = 3000;

/** The writer for the database at `path`, whose main connection `files` uses, through chunk-worker.ts at `worker`. */
export function chunkWriter(path: string, files: FileStore, worker?: string): ChunkWriter {
  if (!worker || path === "" || path === ":memory:") {
    return {
      put: async (hash, data, credit) => chunkMatches(hash, data) && (files.storeChunk(hash, data, credit), true),
      close: async () => {},
    };
  }
  return new WorkerChunkWriter(path, worker);
}

class WorkerChunkWriter implements ChunkWriter {
  readonly #path: string;
  readonly #script: string;
  /** Started with the first chunk: an instance that never fetches a file never pays for the thread. */
  #worker: Worker | null = null;
  readonly #pending = new Map<number, PromiseWithResolvers<boolean>>();
  readonly #closed = Promise.withResolvers<void>();
  #seq = 0;
  /** Why nothing can be stored, once that is so. */
  #broken: string | null = null;

  constructor(path: string, script: string) {
    this.#path = path;
    this.#script = script;
  }

  async put(hash: string, data: Uint8Array, credit?: ChunkCredit): Promise<boolean> {
    if (this.#broken) throw new Error(this.#broken);
    if (!chunkMatches(hash, data)) return false;
    const seq = ++this.#seq;
    const pending = Promise.withResolvers<boolean>();
    this.#pending.set(seq, pending);
    this.#post({ type: "store", seq, hash, data, ...(credit ? { credit } : {}) }, movable(data));
    return pending.promise;
  }

  async close(): Promise<void> {
    if (this.#worker && !this.#broken) {
      this.#post({ type: "close" });
      const timeout = setTimeout(() => this.#closed.resolve(), CLOSE_TIMEOUT_MS);
      await this.#closed.promise;
      clearTimeout(timeout);
    }
    this.#fail("the database is closed");
    this.#worker?.terminate();
  }

  #post(message: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (!this.#worker) {
      const worker = (this.#worker = new Worker(this.#script));
      // Chunks in its queue are no reason to keep the process running: closing waits for them.
      worker.unref();
      worker.onmessage = (event: MessageEvent<FromWorker>) => this.#answer(event.data);
      worker.onerror = (event) => this.#fail(`the chunk writer failed: ${event.message}`);
      worker.postMessage({ type: "open", path: this.#path } satisfies ToWorker);
    }
    this.#worker.postMessage(message, transfer);
  }

  #answer(message: FromWorker): void {
    switch (message.type) {
      case "stored": {
        const pending = this.#pending.get(message.seq);
        this.#pending.delete(message.seq);
        if (message.error) pending?.reject(new Error(`cannot store a chunk: ${message.error}`));
        else pending?.resolve(true);
        return;
      }
      case "failed":
        return this.#fail(`cannot store chunks: ${message.error}`);
      case "closed":
        return this.#closed.resolve();
    }
  }

  /** Nothing more can be stored: every chunk waiting is refused. */
  #fail(why: string): void {
    this.#broken ??= why;
    for (const pending of this.#pending.values()) pending.reject(new Error(why));
    this.#pending.clear();
    this.#closed.resolve();
  }
}
