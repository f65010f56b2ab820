/** The serving half on its own: what a member may have of this instance, never ahead of chat, and how fast. */
import { afterEach, expect, it, setSystemTime } from "bun:test";
import { FileServer } from "../../../../src/sync/files/serve.ts";
import type { Frame } from "../../../../src/sync/frames.ts";
import { MemoryLinks, MemoryReplica, OTHER_ROOM, ROOM, testFile, until } from "./memory.ts";

const PEER = "b".repeat(32);
const STRANGER = "d".repeat(32);
const file = testFile(6);
const { id } = file.manifest;
const LAST = 5;
const ALL = [0, 1, 2, 3, 4, 5];

let server: FileServer | undefined;
afterEach(() => {
  server?.stop();
  setSystemTime();
});

/** A server holding `chunks` of the file (and its manifest, when any), with PEER a member of `rooms`. */
function serving(chunks: number[] = ALL, rooms = [ROOM]) {
  const links = new MemoryLinks();
  const replica = new MemoryReplica(file, { manifest: chunks.length > 0, chunks });
  server = new FileServer({ replica, links, members: (room) => (rooms.includes(room) ? [PEER] : []) });
  const want = (chunks: number[], from = PEER, room = ROOM) => server!.want(from, { type: "want", file: id, room, chunks });
  return { links, want };
}

const chunksIn = (sent: { frame: Frame }[]) => sent.flatMap(({ frame }) => (frame.type === "chunk" ? [frame.index] : []));
const lacksIn = (sent: { frame: Frame }[]) => sent.flatMap(({ frame }) => (frame.type === "lack" ? [frame.chunks] : []));

it("answers a member's want with the manifest, then with the chunks asked for, each with its bytes", async () => {
  const { links, want } = serving();
  want([]);
  const [manifest] = links.take();
  expect(manifest!.frame).toEqual({ type: "manifest", file: id, size: file.manifest.size });
  expect(Buffer.from(manifest!.binary).toString("hex")).toBe(file.manifest.hashes.join(""));
  want([LAST, 0]);
  await until(() => links.sent.length === 2);
  expect(links.sent.map((s) => s.frame)).toEqual([
    { type: "chunk", file: id, index: LAST },
    { type: "chunk", file: id, index: 0 },
  ]);
  expect(links.sent.map((s) => s.binary)).toEqual([file.chunks[LAST]!, file.chunks[0]!]);
});

it("sends no chunk while the peer's link holds 512 KiB or more, and sends them once it drains", async () => {
  const { links, want } = serving();
  links.waiting = 512 * 1024;
  want([0, 1, 2]);
  await Bun.sleep(30);
  expect(links.sent).toEqual([]);
  links.waiting = 512 * 1024 - 1;
  await until(() => links.sent.length === 3);
  expect(chunksIn(links.sent)).toEqual([0, 1, 2]);
});

it("sends two chunks a turn, so that the event loop gets its turn in between", async () => {
  const { links, want } = serving();
  want(ALL);
  expect(chunksIn(links.sent)).toEqual([0, 1]);
  await until(() => links.sent.length === ALL.length);
  expect(chunksIn(links.sent)).toEqual(ALL);
});

it("keeps at most 256 requests waiting for a full link, and answers those past it with lack", async () => {
  const { links, want } = serving();
  links.waiting = 1024 * 1024;
  for (let i = 0; i < 5; i++) want(Array(64).fill(LAST));
  expect(lacksIn(links.take())).toEqual([Array(64).fill(LAST)]);
  links.waiting = 0;
  await until(() => links.sent.length === 256);
  expect(chunksIn(links.sent)).toEqual(Array(256).fill(LAST));
});

it("serves a peer at most 4 000 chunks at once and 2 000 a second after, answering lack past that", async () => {
  const { links, want } = serving();
  setSystemTime(new Date("2026-06-01T00:00:00Z"));
  /** Asks `n` times for 64 chunks, each once the last is answered; answers how many were sent and how many lacked. */
  const ask = async (n: number) => {
    const answered = () => chunksIn(links.sent).length + lacksIn(links.sent).flat().length;
    for (let i = 1; i <= n; i++) {
      want(Array(64).fill(LAST));
      await until(() => answered() === 64 * i);
    }
    const sent = links.take();
    return { served: chunksIn(sent).length, lacked: lacksIn(sent).flat().length };
  };
  expect(await ask(63)).toEqual({ served: 4000, lacked: 63 * 64 - 4000 });
  // Its queue is empty: only the rate refuses.
  expect(await ask(1)).toEqual({ served: 0, lacked: 64 });
  setSystemTime(new Date("2026-06-01T00:00:01Z"));
  expect(await ask(32)).toEqual({ served: 2000, lacked: 32 * 64 - 2000 });
});

it("answers lack for a file it does not know, and to one not a member of the room asked in", () => {
  const unknown = serving([]);
  unknown.want([]);
  unknown.want([0, LAST]);
  expect(unknown.links.take().map((s) => s.frame)).toEqual([
    { type: "lack", file: id, chunks: [] },
    { type: "lack", file: id, chunks: [0, LAST] },
  ]);
  const known = serving(ALL, [ROOM, OTHER_ROOM]);
  known.want([], STRANGER);
  known.want([0], STRANGER);
  // A member of a room that does not carry the file has nothing of it here either.
  known.want([], PEER, OTHER_ROOM);
  known.want([0], PEER, OTHER_ROOM);
  expect(known.links.take().map((s) => s.frame)).toEqual([
    { type: "lack", file: id, chunks: [] },
    { type: "lack", file: id, chunks: [0] },
    { type: "lack", file: id, chunks: [] },
    { type: "lack", file: id, chunks: [0] },
  ]);
});

it("answers lack for the chunks it does not hold, or that the file does not have, and sends the others", async () => {
  const { links, want } = serving([0, 1]);
  want([0, 2, 9, 1]);
  await until(() => links.sent.length === 4);
  expect(links.sent.map((s) => s.frame)).toEqual([
    { type: "lack", file: id, chunks: [9] },
    { type: "chunk", file: id, index: 0 },
    { type: "lack", file: id, chunks: [2] },
    { type: "chunk", file: id, index: 1 },
  ]);
});
