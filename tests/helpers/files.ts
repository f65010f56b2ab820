/** Files for tests: made on disk without holding them in memory, uploaded with POST /files, watched and hashed. */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { expect } from "bun:test";
import { waitFor, type Instance } from "./instance.ts";

export interface FileRow {
  id: string;
  name: string;
  size: number;
  type: string;
  have: number;
}

export interface TestFile {
  path: string;
  size: number;
  sha256: string;
}

/** Writes `size` random bytes to `dir/name` a MiB at a time; answers its path, size and SHA-256. */
export async function randomFile(dir: string, size: number, name = "file.bin"): Promise<TestFile> {
  const path = join(dir, name);
  const hash = createHash("sha256");
  const out = createWriteStream(path);
  for (let left = size; left > 0; ) {
    const piece = randomBytes(Math.min(left, 1 << 20));
    hash.update(piece);
    left -= piece.byteLength;
    if (!out.write(piece)) await new Promise((resolve) => out.once("drain", resolve));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return { path, size, sha256: hash.digest("hex") };
}

/** Posts a file (bytes, or a file on disk) to `room`; answers the response. */
export function postFile(
  instance: Instance | string,
  room: string,
  file: Uint8Array | string,
  opts: { name?: string; type?: string; text?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const form = new FormData();
  form.append("room", room);
  if (opts.text !== undefined) form.append("text", opts.text);
  const blob = typeof file === "string" ? Bun.file(file, { type: opts.type }) : new Blob([file], { type: opts.type ?? "application/octet-stream" });
  form.append("file", blob, opts.name ?? "file.bin");
  const base = typeof instance === "string" ? instance : instance.http;
  return fetch(`${base}/files`, { method: "POST", body: form, headers: opts.headers });
}

/** Uploads and expects 200; answers the file as the message carries it. */
export async function upload(instance: Instance, room: string, file: Uint8Array | string, opts: Parameters<typeof postFile>[3] = {}) {
  const res = await postFile(instance, room, file, opts);
  const body = (await res.json()) as { id: string; files: Omit<FileRow, "have">[]; error?: string };
  expect(res.status, body.error).toBe(200);
  return { message: body.id, file: body.files[0]! };
}

/** The file with this id as `instance`'s history of `room` shows it, if any message there carries it. */
export async function fileRow(instance: Instance, room: string, id: string): Promise<FileRow | undefined> {
  const messages = (await (await fetch(`${instance.http}/history?room=${room}`)).json()) as { files?: FileRow[] }[];
  return messages.flatMap((m) => m.files ?? []).find((f) => f.id === id);
}

/** Waits until `instance` holds all of the file. */
export async function waitForWhole(instance: Instance, room: string, id: string, timeoutMs = 30_000): Promise<FileRow> {
  let last: FileRow | undefined;
  try {
    return await waitFor(async () => ((last = await fileRow(instance, room, id)) && last.have === last.size ? last : undefined), timeoutMs, `file ${id} whole at ${instance.nodeId}`);
  } catch (error) {
    // What was there at the end: no message, or how much of the file.
    throw new Error(`${(error as Error).message} (it has ${last ? `${last.have} of ${last.size} bytes` : "no message carrying it"})`);
  }
}

/** The SHA-256 of the file as `instance` serves it, streamed. */
export async function downloadHash(instance: Instance, id: string, query = ""): Promise<string> {
  const res = await fetch(`${instance.http}/files/${id}${query}`);
  expect(res.status).toBe(200);
  const hash = createHash("sha256");
  for await (const piece of res.body as unknown as AsyncIterable<Uint8Array>) hash.update(piece);
  return hash.digest("hex");
}

/** Chunks `at` stored from `from`, and sent to it, as its /peers row counts them. */
export async function chunkCounts(at: Instance, from: Instance | string): Promise<{ received: number; sent: number }> {
  const id = typeof from === "string" ? from : from.nodeId;
  const rows = (await (await fetch(`${at.http}/peers`)).json()) as { node_id: string; chunks_received: number; chunks_sent: number }[];
  const row = rows.find((r) => r.node_id === id);
  return { received: row?.chunks_received ?? 0, sent: row?.chunks_sent ?? 0 };
}

/**
 * Makes `instance` fetch every file by itself, whatever its size (by default only files up to 25 MB are): for tests
 * and benchmarks that move big files. `api` reaches an instance that is not on this host's loopback.
 */
export async function fetchEverything(instance: Instance | { api(path: string, init?: RequestInit): Promise<Response> }): Promise<void> {
  const init = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ auto_fetch: "all", auto_fetch_bytes: 32768 * 256 * 1024 }) };
  const res = "api" in instance ? await instance.api("/files/settings", init) : await fetch(`${instance.http}/files/settings`, init);
  expect(res.status).toBe(200);
}

