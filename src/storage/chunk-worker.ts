/**
 * The thread that stores chunks coming from peers (chunk-writer.ts starts it and checks each chunk's hash first):
 * each is written through a connection of its own to chat.db, so the write and the checkpoints that follow (fsyncs of
 * a few MB) happen beside the main thread, which goes on serving links and pages.
 */
import { Database } from "bun:sqlite";
import { memoryValve } from "../util/memory.ts";
import { FileStore } from "./files.ts";
import type { FromWorker, ToWorker } from "./chunk-writer.ts";

declare const self: Worker;

let db: Database | null = null;
let files: FileStore | null = null;

function answer(message: FromWorker): void {
  self.postMessage(message);
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case "open":
      try {
        db = new Database(message.path, { strict: true });
        db.exec("PRAGMA synchronous = NORMAL");
        db.exec("PRAGMA busy_timeout = 5000");
        files = new FileStore(db);
      } catch (err) {
        answer({ type: "failed", error: `cannot open ${message.path}: ${(err as Error).message}` });
      }
      return;
    case "store":
      try {
        files!.storeChunk(message.hash, message.data, message.credit);
        answer({ type: "stored", seq: message.seq });
        // This thread's heap is its own: the copies of chunks it received pile up here unless it collects too.
        memoryValve.moved(message.data.byteLength);
      } catch (err) {
        answer({ type: "stored", seq: message.seq, error: (err as Error).message });
      }
      return;
    case "close":
      db?.close();
      db = files = null;
      answer({ type: "closed" });
  }
};
