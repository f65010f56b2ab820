/** FileSync on its own: what it asks for when a link will not take a request. */
import { afterEach, expect, it } from "bun:test";
import { createHash } from "node:crypto";
import { ChunkWindow } from "../../../src/sync/files/chunk-window.ts";
import { decodeFrame } from "../../../src/sync/codec.ts";
import { FileSync, type FileReplica } from "../../../src/sync/file-sync.ts";
import { fileIdOf, type FileManifest } from "../../../src/storage/files.ts";

const ROOM = "a".repeat(22);
const PEER = "b".repeat(32);
const hashes = Array.from({ length: 20 }, (_, i) => createHash("sha256").update(`chunk ${i}`).digest("hex"));
const manifest: FileManifest = { id: fileIdOf(hashes), size: 20 * 256 * 1024, hashes };

/** A replica that knows the manifest of one file, came through its room, and holds none of its chunks. */
const replica: FileReplica = {
  wanted: () => ({ files: [{ id: manifest.id, size: manifest.size, rooms: [ROOM] }], next: null }),
  carries: () => true,
  manifest: () => manifest,
  register: () => {},
  hold: () => "partial",
  open: () => {},
  missing: () => hashes.map((_, i) => i),
  putChunk: async () => false,
  servable: () => false,
  chunk: () => null,
  complete: () => {},
  have: () => 0,
  mayStore: () => true,
  fetches: () => true,
};

let sync: FileSync | undefined;
afterEach(() => sync?.stop());

it("a link that will not take a request (it is closing) leaves the chunks to do, and they are asked for once it takes them", () => {
  let open = false;
  const sent: Uint8Array[] = [];
  sync = new FileSync({
    replica,
    // The peer still counts as a member while its link closes: send fails and nothing may loop on it.
    links: { send: (_peer, data) => open && sent.push(data instanceof Uint8Array ? data : Buffer.concat(data)) > 0, buffered: () => 0 },
    members: () => [PEER],
    peerRooms: () => [ROOM],
    penalize: () => {},
  });
  expect(() => sync!.start()).not.toThrow();
  expect(sync.transfers()).toEqual([{ id: manifest.id, size: manifest.size, held: 0, peers: 0 }]);
  open = true;
  sync.refresh();
  const asked = sent.map((d) => decodeFrame(d).frame);
  // As many as a new member's window holds.
  const window = new ChunkWindow().size;
  // The last chunk first: it proves the manifest's size.
  expect(asked).toEqual([{ type: "want", file: manifest.id, room: ROOM, chunks: [19, ...Array(window - 1).keys()] }]);
});
