// A member's side of mailboxes (src/mailbox/member.ts, pull.ts, push.ts) against a real keeper and store, over two
// sync channels joined in memory: frames encoded and decoded as on the wire, items sealed as on the wire.
import { describe, expect, it } from "bun:test";
import { createHash } from "node:crypto";
import { newRoomKey, roomIdOf } from "../../../src/domain/rooms.ts";
import type { Tier } from "../../../src/domain/tiers.ts";
import { MailboxKeeper } from "../../../src/mailbox/keeper.ts";
import { Mailboxes } from "../../../src/mailbox/member.ts";
import type { MailboxFiles } from "../../../src/mailbox/ports.ts";
import { openDatabase } from "../../../src/storage/db.ts";
import { fileIdOf, type FileManifest } from "../../../src/storage/files.ts";
import { MailboxMarks } from "../../../src/storage/mailbox-marks.ts";
import { MailboxStore } from "../../../src/storage/mailbox.ts";
import { SyncChannel, type SyncLinks } from "../../../src/sync/channel.ts";
import type { WireMessage } from "../../../src/sync/frames.ts";
import { Handlers } from "../../../src/util/handlers.ts";
import { waitFor } from "../../helpers/instance.ts";

const MAILBOX = "f".repeat(32);
const room = { name: "attic", key: newRoomKey() };
const roomId = roomIdOf(room);

/** Two ends of a link in memory: what one sends, the other receives as data from it, a turn later. */
function joined(a: string, b: string) {
  const ends = new Map<string, { data: Handlers<[string, Uint8Array, Tier]>; change: Handlers<[string, Tier | null, Tier | null]> }>();
  const links = (self: string, other: string): SyncLinks => {
    ends.set(self, { data: new Handlers(), change: new Handlers() });
    return {
      send: (to, bytes) => (to === other ? (queueMicrotask(() => ends.get(other)!.data.emit(self, bytes, "websocket")), true) : false),
      buffered: () => 0,
      onData: (h) => ends.get(self)!.data.add(h),
      onChange: (h) => ends.get(self)!.change.add(h),
      closeLink: () => {},
      forget: () => {},
    };
  };
  const up = () => {
    ends.get(a)!.change.emit(b, "websocket", null);
    ends.get(b)!.change.emit(a, "websocket", null);
  };
  return { links, up };
}

const message = (seq: number, files?: WireMessage["files"]): WireMessage => ({
  origin: "a".repeat(32),
  room: roomId,
  seq,
  peer_id: "alice",
  text: files ? "" : `note ${seq}`,
  sent_at: 1_800_000_000_000 + seq,
  ...(files ? { files } : {}),
  sig: "s".repeat(86),
  key: "k".repeat(43),
});

/** A file of two chunks: its manifest and its bytes. */
function fileOf(): { manifest: FileManifest; chunks: Uint8Array[] } {
  const chunks = [new Uint8Array(256 * 1024).fill(1), new Uint8Array(1000).fill(2)];
  const hashes = chunks.map((c) => createHash("sha256").update(c).digest("hex"));
  return { manifest: { id: fileIdOf(hashes), size: 256 * 1024 + 1000, hashes }, chunks };
}

/** A member's files: those it holds whole, and what it stores of others. */
function filesOf(held: { manifest: FileManifest; chunks: Uint8Array[] }[]) {
  const manifests = new Map(held.map((f) => [f.manifest.id, f.manifest]));
  const stored = new Map<string, Map<number, Uint8Array>>(held.map((f) => [f.manifest.id, new Map(f.chunks.map((c, i) => [i, c]))]));
  const files: MailboxFiles = {
    manifest: (id) => manifests.get(id) ?? null,
    register: (m) => void manifests.set(m.id, m),
    open: (id) => void stored.set(id, stored.get(id) ?? new Map()),
    carries: () => true,
    missing: (id) => (manifests.get(id)?.hashes ?? []).map((_, i) => i).filter((i) => !stored.get(id)?.has(i)),
    putChunk: (m, index, data) => {
      const ok = createHash("sha256").update(data).digest("hex") === m.hashes[index];
      if (ok) stored.get(m.id)!.set(index, data);
      return Promise.resolve(ok);
    },
    complete: () => {},
    mayStore: () => true,
    fetches: () => true,
    chunk: (m, index) => stored.get(m.id)?.get(index) ?? null,
  };
  return { files, stored };
}

/** A member named `nodeId` holding `history`, and a mailbox, linked. */
function setup(nodeId: string, history: WireMessage[], held: ReturnType<typeof fileOf>[], store: MailboxStore, places = new MailboxMarks(openDatabase(":memory:"))) {
  const { links, up } = joined(nodeId, MAILBOX);
  const member = new SyncChannel({ links: links(nodeId, MAILBOX) });
  const box = new SyncChannel({ links: links(MAILBOX, nodeId) });
  box.register(new MailboxKeeper({ channel: box, store, waits: () => true }));
  const taken: WireMessage[] = [];
  const { files, stored } = filesOf(held);
  const mailboxes = new Mailboxes({
    channel: member,
    served: (id) => (id === MAILBOX ? [room] : []),
    rendezvousOf: () => [{ url: "http://mailbox.test:8080", nodeId: MAILBOX }],
    use: () => {},
    places,
    history: {
      since: (_, stamp, limit) => history.map((m, i) => ({ message: m, stamp: i + 1 })).filter((r) => r.stamp > stamp).slice(0, limit),
      ownUpTo: () => 0,
    },
    files,
    take: (_box, _room, ms) => (taken.push(...ms), { later: 0 }),
    filesCame: () => {},
    pollMs: 60_000,
  });
  member.register(mailboxes);
  box.start();
  member.start();
  up();
  return { mailboxes, taken, stored, places, stop: () => (member.stop(), box.stop()) };
}

describe("a member of a room kept in a mailbox", () => {
  it("gives it every message it holds and the files within its limit; another member reads them in order, once", async () => {
    const file = fileOf();
    const history = [message(1), message(2, [{ id: file.manifest.id, name: "a.bin", size: file.manifest.size, type: "application/octet-stream" }]), message(3)];
    const store = new MailboxStore(openDatabase(":memory:"), { maxBytes: 16 * 1024 * 1024, days: 30 });
    const alice = setup("a".repeat(32), history, [file], store);
    // Three messages, the file's manifest and its two chunks.
    await waitFor(() => store.stats().items === 6, 5000, "the mailbox holds everything");
    await waitFor(() => alice.places.of(MAILBOX, roomId).pushed === 3, 5000, "alice's place moved past what she pushed");
    alice.stop();

    const bob = setup("b".repeat(32), [], [], store);
    await waitFor(() => bob.taken.length === 3 && bob.stored.get(file.manifest.id)?.size === 2, 5000, "bob has it all");
    expect(bob.taken.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(bob.stored.get(file.manifest.id)!.get(1)).toEqual(file.chunks[1]!);
    expect(bob.mailboxes.answer(MAILBOX)).toMatchObject({ keeps: true });
    // Bob's place is kept: a later round reads nothing again.
    const place = bob.places.of(MAILBOX, roomId).read;
    expect(place).toBeGreaterThan(0);
    bob.mailboxes.changed();
    await Bun.sleep(400);
    expect(bob.taken.length).toBe(3);
    bob.stop();
  });

  it("keeps a file over the mailbox's per-file limit with the members", async () => {
    const file = fileOf();
    const history = [message(1, [{ id: file.manifest.id, name: "big.bin", size: file.manifest.size, type: "application/octet-stream" }])];
    const store = new MailboxStore(openDatabase(":memory:"), { maxBytes: 16 * 1024 * 1024, days: 30, fileBytes: 100_000 });
    const alice = setup("a".repeat(32), history, [file], store);
    await waitFor(() => alice.places.of(MAILBOX, roomId).pushed === 1, 5000, "alice pushed her message");
    expect(store.stats().items).toBe(1);
    alice.stop();
  });
});
