// A file on its way over webrtc between two test hosts (network namespaces): UDP is cut mid-transfer, the link
// fails over to websocket, and the file completes there, byte for byte.
import { afterAll, expect, it } from "bun:test";
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { CHUNK_BYTES } from "../../../src/storage/files.ts";
import { fetchEverything, randomFile, type FileRow } from "../../helpers/files.ts";
import { tempDir, waitFor } from "../../helpers/instance.ts";
import { netnsUnavailable, peerRow, startWebrtcPair, tierOf, type HostedInstance } from "../../helpers/netns.ts";

const unavailable = netnsUnavailable();
if (unavailable) console.log(`file failover test skipped: ${unavailable}`);
const dir = tempDir("e-goat-file-failover-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function held(at: HostedInstance, id: string): Promise<FileRow | undefined> {
  const messages = (await (await at.api("/history?room=ff")).json()) as { files?: FileRow[] }[];
  return messages.flatMap((m) => m.files ?? []).find((f) => f.id === id);
}

it.skipIf(unavailable !== null)(
  "UDP cut mid-transfer: the file carries on over websocket and completes",
  async () => {
    await using pair = await startWebrtcPair("ff");
    const { a, b } = pair;
    await fetchEverything(b);

    const chunks = 256;
    const source = await randomFile(dir, chunks * CHUNK_BYTES);
    const form = new FormData();
    form.append("room", "ff");
    form.append("file", Bun.file(source.path), "big.bin");
    const res = await a.api("/files", { method: "POST", body: form });
    expect(res.status).toBe(200);
    const id = ((await res.json()) as { files: { id: string }[] }).files[0]!.id;

    // Cut once part of the file came over webrtc, well before the end.
    await waitFor(async () => ((await held(b, id))?.have ?? 0) >= 16 * CHUNK_BYTES, 60_000, "part of the file at B over webrtc");
    const before = (await held(b, id))!.have;
    expect(before).toBeLessThan(source.size);
    pair.cutUdp();
    await waitFor(async () => (await tierOf(b, a)) === "websocket", 20_000, "failover to websocket");
    await waitFor(async () => (await held(b, id))?.have === source.size, 90_000, "the whole file at B");

    const download = await b.api(`/files/${id}`);
    const hash = createHash("sha256");
    for await (const piece of download.body as unknown as AsyncIterable<Uint8Array>) hash.update(piece);
    expect(hash.digest("hex")).toBe(source.sha256);
    const received = (await peerRow(b, a))!.chunks_received;
    expect(received).toBe(chunks); // each chunk stored once, whichever link brought it
    console.log(`${(before / CHUNK_BYTES).toFixed(0)} of ${chunks} chunks had come over webrtc at the cut; the rest came over websocket`);
  },
  150_000,
);
