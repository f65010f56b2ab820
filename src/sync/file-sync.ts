/**
 * Files between instances: what the sync layer builds and calls. It routes file frames to the two halves in files/:
 * fetching (fetch.ts: which files, when, each one a Transfer of its own) and serving (serve.ts: a `want` answered with
 * what came through the room it names, as the link drains). What both need of this instance is in files/ports.ts.
 */
import type { Frame } from "./frames.ts";
import { FileFetcher } from "./files/fetch.ts";
import type { FileSyncInit } from "./files/ports.ts";
import { FileServer } from "./files/serve.ts";

export type { FileLinks, FileReplica, FileSyncInit, WantedFetch } from "./files/ports.ts";

export class FileSync {
  readonly #fetcher: FileFetcher;
  readonly #server: FileServer;

  constructor(init: FileSyncInit) {
    this.#server = new FileServer({ replica: init.replica, links: init.links, members: init.members });
    this.#fetcher = new FileFetcher({
      ...init,
      // A peer that sent something bad is treated as if its link changed: the fetcher asks elsewhere what it had asked
      // of it, and the requests it had queued here are dropped.
      penalize: (nodeId, why) => {
        init.penalize(nodeId, why);
        this.#server.peerChanged(nodeId);
      },
      // Its size is now what its chunks add up to: the manifest the server cached is stale.
      onWhole: (fileId) => this.#server.forget(fileId),
    });
  }

  start(): void {
    this.#fetcher.start();
  }

  stop(): void {
    this.#fetcher.stop();
    this.#server.stop();
  }

  /**
   * New messages (or rooms) may carry new files: look again. With `member`, that peer just proved its rooms: the files
   * waiting for a member of those rooms are tried at once; so are `files`, which new messages carry.
   */
  refresh(member?: string, files: readonly string[] = []): void {
    this.#fetcher.refresh(member, files);
  }

  /** A peer's primary link changed or went: what was asked of it, and what it asked here, may be lost with the old link. */
  peerChanged(nodeId: string): void {
    this.#fetcher.peerChanged(nodeId);
    this.#server.peerChanged(nodeId);
  }

  /** Handles a file frame from a peer; false when the frame is not one of ours. */
  handle(from: string, frame: Frame, binary: Uint8Array): boolean {
    switch (frame.type) {
      case "want":
        return this.#server.want(from, frame), true;
      case "manifest":
      case "chunk":
      case "lack":
      case "have":
        return this.#fetcher.receive(from, frame, binary), true;
      default:
        return false;
    }
  }

  /** Chunks stored from the peer, and sent to it, since start. */
  chunkCounts(nodeId: string): { received: number; sent: number } {
    return { received: this.#fetcher.received(nodeId), sent: this.#server.sent(nodeId) };
  }

  /** Files being fetched now (their chunks, or their manifest), with the bytes held of each. */
  transfers(): { id: string; size: number; held: number; peers: number }[] {
    return this.#fetcher.transfers();
  }
}
