/** The fetching half on its own: a bad chunk, a member lost halfway, a transfer that goes on from what is stored. */
import { afterEach, expect, it } from "bun:test";
import { CHUNK_BYTES } from "../../../../src/storage/files.ts";
import { FileFetcher } from "../../../../src/sync/files/fetch.ts";
import type { Frame } from "../../../../src/sync/frames.ts";
import { MemoryLinks, MemoryReplica, ROOM, testFile } from "./memory.ts";

const A = "1".repeat(32);
const B = "2".repeat(32);
const file = testFile(6);
const { id, size } = file.manifest;
const hashes = Buffer.concat(file.manifest.hashes.map((h) => Buffer.from(h, "hex")));
const garbage = (index: number) => new Uint8Array(file.chunks[index]!.byteLength).fill(0xee);

/** How a member answers: with the manifest and each chunk asked for (`serve`), with chunks failing their hash, or with the manifest only. */
type Member = "serve" | "garbage" | "mute";
type Sent = { peer: string; frame: Frame };

const fetchers: FileFetcher[] = [];
afterEach(() => fetchers.splice(0).forEach((f) => f.stop()));

/** A fetcher for `replica` with A and B linked members of ROOM, and the members' side of the exchange. */
function fetching(replica: MemoryReplica) {
  const links = new MemoryLinks();
  const linked = { members: [A, B] };
  /** Every frame sent, in order. */
  const frames: Sent[] = [];
  const penalties: { peer: string; why: string; after: number }[] = [];
  const fetcher = new FileFetcher({
    replica,
    links,
    members: (room) => (room === ROOM ? linked.members : []),
    peerRooms: (peer) => (linked.members.includes(peer) ? [ROOM] : []),
    penalize: (peer, why) => penalties.push({ peer, why, after: frames.length + links.sent.length }),
  });
  fetchers.push(fetcher);
  /** Answers the wants sent since last time, as each member does. */
  const answer = (members: Record<string, Member>) => {
    const sent = links.take();
    frames.push(...sent);
    for (const { peer, frame } of sent) {
      const as = members[peer];
      if (frame.type !== "want" || !as) continue;
      if (frame.chunks.length === 0) fetcher.receive(peer, { type: "manifest", file: id, size }, hashes);
      else if (as !== "mute") {
        for (const index of frame.chunks) fetcher.receive(peer, { type: "chunk", file: id, index }, as === "serve" ? file.chunks[index]! : garbage(index));
      }
    }
  };
  /** Answers, letting chunks be stored in between, until `done` (by default: the file is whole). */
  const run = async (members: Record<string, Member>, done = () => replica.whole) => {
    for (let turn = 0; turn < 300 && !done(); turn++) {
      answer(members);
      await Bun.sleep(1);
    }
    answer({});
    if (!done()) throw new Error("the transfer did not get there");
  };
  const chunksAsked = (of?: string) => frames.flatMap(({ peer, frame }) => (frame.type === "want" && (!of || peer === of) ? frame.chunks : []));
  return { fetcher, linked, frames, penalties, answer, run, chunksAsked };
}

it("refuses a chunk that fails its hash, counts it against its sender, never asks that member again, and fetches it from another", async () => {
  const replica = new MemoryReplica(file);
  const { fetcher, frames, penalties, run, chunksAsked } = fetching(replica);
  fetcher.start();
  await run({ [A]: "garbage", [B]: "serve" });
  expect(chunksAsked(A).length).toBeGreaterThan(0);
  expect([...replica.stored.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  for (const [index, data] of replica.stored) expect(data).toEqual(file.chunks[index]!);
  expect(penalties.length).toBeGreaterThan(0);
  for (const p of penalties) expect(p).toMatchObject({ peer: A, why: expect.stringMatching(/^chunk \d of file [0-9a-f]+ failed its hash$/) });
  expect(frames.slice(penalties[0]!.after).filter((s) => s.peer === A && s.frame.type === "want")).toEqual([]);
  expect(replica.statuses.at(-1)).toBeNull();
});

it("asks another member at once for what was asked of one that is lost halfway, and takes nothing it sends after", async () => {
  const replica = new MemoryReplica(file);
  const { fetcher, linked, penalties, run, chunksAsked } = fetching(replica);
  fetcher.start();
  // B serves what it is asked; A never answers: what is left is what A was asked for.
  await run({ [A]: "mute", [B]: "serve" }, () => {
    const left = replica.missing();
    const ofA = new Set(chunksAsked(A));
    return replica.known !== null && left.length > 0 && left.every((i) => ofA.has(i));
  });
  const left = replica.missing();
  const askedOfB = chunksAsked(B).length;
  linked.members = [B];
  fetcher.peerChanged(A);
  for (const index of left) fetcher.receive(A, { type: "chunk", file: id, index }, garbage(index));
  // Long before a request goes unanswered for 15 s.
  await run({ [B]: "serve" });
  expect(chunksAsked(B).slice(askedOfB).sort()).toEqual(left);
  expect(penalties).toEqual([]);
});

it("goes on from what is stored: only the chunks missing are asked for, the last one first, and no manifest", async () => {
  const replica = new MemoryReplica(file, { manifest: true, chunks: [0, 1, 2] });
  const { fetcher, frames, run, chunksAsked } = fetching(replica);
  fetcher.start();
  expect(fetcher.transfers()).toMatchObject([{ id, size, held: 3 * CHUNK_BYTES }]);
  await run({ [A]: "serve", [B]: "serve" });
  expect(frames.find((s) => s.frame.type === "want")?.frame).toMatchObject({ chunks: [5, 3, 4] });
  expect(chunksAsked().sort()).toEqual([3, 4, 5]);
});

it("after a stop, a new fetcher asks only for the chunks the first did not store", async () => {
  const replica = new MemoryReplica(file);
  const first = fetching(replica);
  first.fetcher.start();
  // A serves, B never answers: the chunks asked of B stay missing.
  await first.run({ [A]: "serve", [B]: "mute" }, () => replica.stored.size >= 2 && first.chunksAsked(B).length > 0);
  first.fetcher.stop();
  expect(replica.statuses.at(-1)).toBeNull();
  const left = replica.missing();
  expect(left.length).toBeGreaterThan(0);
  const second = fetching(replica);
  second.fetcher.start();
  await second.run({ [A]: "serve", [B]: "serve" });
  expect(second.chunksAsked().sort()).toEqual(left);
  expect(second.frames.filter((s) => s.frame.type === "want" && s.frame.chunks.length === 0)).toEqual([]);
});
