/**
 * `POST /files` and `GET /files/<id>` (the contract's "Files"). Uploads stream a chunk at a time into chat.db through
 * a multipart parser (busboy), never whole in memory, a guest's within its quota and its room's. Downloads stream a
 * chunk at a time, with `Range`, and can never run script in the page's origin: anything but a common raster image is
 * an attachment, always `nosniff`, always a sandboxing CSP. The owner's say: fetch or cancel a file
 * (`POST /rooms/R/files/<id>/fetch|cancel`), and the settings (`GET|POST /files/settings`).
 */
import busboy from "busboy";
import { Elysia, t } from "elysia";
import { Readable } from "node:stream";
import { isInlineImage, MAX_FILES_PER_MESSAGE, type FileRef } from "../domain/files.ts";
import { isRoomName, MAX_TEXT_LENGTH } from "../domain/names.ts";
import { QuotaError, type QuotaCharge } from "../rooms/guest-quota.ts";
import { DiskFullError } from "../rooms/files.ts";
import { FileTooLargeError } from "../storage/files.ts";
import type { RoomAccess } from "./access.ts";
import { ClientBudget, guestKey, type GuestLimit } from "./budgets.ts";
import type { Client } from "./client.ts";
import type { Node } from "../node.ts";
import type { Message } from "../storage/index.ts";
import type { Server } from "bun";
import { fileChoiceRoutes } from "./file-choices.ts";
import type { AppOptions } from "./options.ts";
import { KeyField, RoomField } from "./schemas.ts";
import { sendInput } from "./api.ts";
import { DISPLAY_NAME_RULE, isDisplayName } from "../domain/names.ts";
import { HttpError, jsonError } from "../util/http.ts";

/** What a downloaded file may do in a browser: nothing (no script, no plugin, no form, no requests). */
export const FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

/** A file name as `Content-Disposition` carries it: an ASCII fallback and the exact name in UTF-8 (RFC 6266). */
export function contentDisposition(kind: "inline" | "attachment", name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%;]/g, "_");
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** The one byte range a `Range` header asks of `size` bytes: null for the whole file, "unsatisfiable" when it cannot be. */
export function byteRange(header: string | null, size: number): { start: number; end: number } | null | "unsatisfiable" {
  if (header === null) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return header.includes(",") ? null : "unsatisfiable"; // several ranges: the whole file
  if (m[1] === "") {
    const suffix = Number(m[2]);
    return suffix === 0 ? "unsatisfiable" : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start >= size || end < start ? "unsatisfiable" : { start, end };
}

interface UploadFields {
  room?: string;
  key?: string;
  peer_id?: string;
  text?: string;
}

/**
 * Takes uploads, from `POST /files` and from the page's form: each client within its budget of uploads at once, the
 * files streamed into chat.db, then the message that carries them posted. Nothing of a refused upload is kept.
 */
export class Uploads {
  readonly #budget = new ClientBudget("uploads", 16, { total: 8, perGuest: 2 });

  constructor(
    private readonly node: Node,
    private readonly guests: GuestLimit,
    private readonly access: RoomAccess,
  ) {}

  /**
   * Stores a multipart upload's files and posts their message: to the body's room, or for the page's form to the room
   * of its path, as the name of its query.
   */
  async post(request: Request, server: Server<unknown> | null, page?: { room: string; writeAs?: string }): Promise<Message> {
    const { node } = this;
    this.guests.check(request, server);
    const client = this.access.client(request, server);
    const release = this.#budget.take(client);
    let received: { fields: UploadFields; files: FileRef[]; charge: QuotaCharge | null };
    try {
      received = await this.#receive(request, server, page, client);
    } catch (error) {
      if (error instanceof FileTooLargeError) throw new HttpError(413, `the file is over this instance's --max-file-size of ${node.files.maxFileBytes} bytes`);
      if (error instanceof DiskFullError) throw new HttpError(413, error.message);
      if (error instanceof QuotaError) throw new HttpError(error.status, error.message);
      if (error instanceof RangeError) throw new HttpError(400, "the file is empty");
      throw error;
    } finally {
      release();
    }
    const { fields, files, charge } = received;
    try {
      if (files.length === 0) throw new HttpError(400, "file is required");
      if (fields.peer_id && !isDisplayName(fields.peer_id)) throw new HttpError(400, `peer_id must be ${DISPLAY_NAME_RULE}`);
      const input = sendInput(fields.room!, { text: fields.text ?? "", peer_id: fields.peer_id }, node.name);
      const message = node.post({
        ...input,
        text: input.text.trim() === "" ? "" : input.text,
        files,
        guest: !client.owner,
        guestId: client.owner ? undefined : this.access.guestId(request), // a guest's own messages are told by its browser's id
      });
      charge?.commit();
      return message;
    } catch (error) {
      charge?.release();
      for (const f of files) node.files.discard(f.id, fields.room);
      throw error;
    }
  }

  /** Reads a multipart upload: its fields, and each file stored as it streams in once the room is known and allowed. */
  async #receive(
    request: Request,
    server: Server<unknown> | null,
    page: { room: string; writeAs?: string } | undefined,
    client: Client,
  ): Promise<{ fields: UploadFields; files: FileRef[]; charge: QuotaCharge | null }> {
    const { node, access } = this;
    const contentType = request.headers.get("content-type") ?? "";
    if (!/^multipart\/form-data\s*;/i.test(contentType)) throw new HttpError(415, "Content-Type must be multipart/form-data");
    if (!request.body) throw new HttpError(400, "file is required");
    const fields: UploadFields = page ? { room: page.room, peer_id: page.writeAs } : {};
    const files: FileRef[] = [];
    // A guest's bytes count against its quota and its room's as they come (src/rooms/guest-quota.ts).
    const quota: { charge: QuotaCharge | null } = { charge: null };
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: { "content-type": contentType },
        limits: { files: MAX_FILES_PER_MESSAGE, fields: 8, parts: MAX_FILES_PER_MESSAGE + 8, fieldSize: MAX_TEXT_LENGTH * 4, fieldNameSize: 64 },
      });
    } catch {
      throw new HttpError(400, "the multipart body has no boundary");
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    // Files are stored one after another, each while busboy waits for it to be read.
    let storing: Promise<void> = Promise.resolve();
    let failed: unknown;
    const fail = (error: unknown) => {
      failed ??= error;
      reject(failed);
    };
    parser.on("field", (name, value, info) => {
      if (info.valueTruncated) return fail(new HttpError(413, `field ${name} is too long`));
      // The page's form names its room in the path; a room field there is not another room.
      if (name === "room" && page) return;
      if (name === "room" || name === "key" || name === "peer_id" || name === "text") fields[name] = value;
    });
    parser.on("file", (name, stream, info) => {
      if (failed || name !== "file") return void stream.resume();
      // The room as the body named it before this file: fields after it may already be parsed when it is stored.
      const { room, key } = fields;
      storing = storing.then(async () => {
        if (failed) return void stream.resume();
        try {
          if (room === undefined) throw new HttpError(400, "the room field must come before the file");
          if (!isRoomName(room)) throw new HttpError(400, `room must be 1-64 letters, digits, '-', '_' or '.'`);
          if (room !== fields.room) throw new HttpError(400, "give the room once, before the files");
          access.room(request, server, room, key);
          if (!client.owner) quota.charge ??= node.files.quota.open(guestKey(client.address), room);
          const { charge } = quota;
          files.push(await node.files.upload(charge ? charge.through(stream) : stream, info.filename, info.mimeType, room));
        } catch (error) {
          stream.resume();
          fail(error);
        }
      });
    });
    parser.on("filesLimit", () => fail(new HttpError(413, `a message carries at most ${MAX_FILES_PER_MESSAGE} files`)));
    parser.on("error", (error) => fail(new HttpError(400, `the multipart body is malformed: ${(error as Error).message}`)));
    parser.on("close", () => void storing.then(resolve, fail));
    const body = Readable.fromWeb(request.body as never);
    body.on("error", (error) => fail(new HttpError(400, `the request body could not be read: ${error.message}`)));
    body.pipe(parser);
    try {
      await promise;
    } catch (error) {
      body.unpipe(parser);
      body.destroy();
      await storing.catch(() => {});
      quota.charge?.release();
      for (const f of files) node.files.discard(f.id, fields.room);
      throw error;
    }
    return { fields, files, charge: quota.charge };
  }
}

/** What an upload answers: the message as `/send` answers it, with its files. */
export function uploadAnswer(message: Message) {
  return { id: message.id, timestamp: message.timestamp, files: message.files };
}

export function fileRoutes(opts: AppOptions, uploads: Uploads, access: RoomAccess) {
  const { node } = opts;
  return new Elysia({ name: "files" })
    .use(fileChoiceRoutes(opts, access))
    .post(
      "/files",
      async ({ request, server }) => {
        return uploadAnswer(await uploads.post(request, server));
      },
      { parse: "none" },
    )
    .get(
      "/files/:id",
      ({ params, query, request, server, set }) => {
        const owner = access.client(request, server).owner;
        if (!owner && query.room === undefined) throw new HttpError(403, "give the room the file was sent in (room=R)");
        if (query.room !== undefined) access.room(request, server, query.room, query.key);
        const file = node.files.download(params.id, query.room === undefined ? null : [query.room]);
        if (!file) throw new HttpError(404, "no such file here, or not all of it has arrived yet");
        const { ref } = file;
        const inline = isInlineImage(ref.type);
        Object.assign(set.headers, {
          "content-security-policy": FILE_CSP,
          "x-content-type-options": "nosniff",
          "content-type": inline ? ref.type : "application/octet-stream",
          "content-disposition": contentDisposition(inline ? "inline" : "attachment", ref.name),
          "accept-ranges": "bytes",
          etag: `"${ref.id}"`,
          "cache-control": "private, max-age=31536000, immutable",
        });
        const range = byteRange(request.headers.get("range"), ref.size);
        if (range === "unsatisfiable") {
          return jsonError(416, `the file has ${ref.size} bytes; that range is not in it`, { ...(set.headers as Record<string, string>), "content-type": "application/json", "content-range": `bytes */${ref.size}` });
        }
        const { start, end } = range ?? { start: 0, end: ref.size - 1 };
        set.status = range ? 206 : 200;
        set.headers["content-length"] = String(end - start + 1);
        if (range) set.headers["content-range"] = `bytes ${start}-${end}/${ref.size}`;
        return new Response(file.read(start, end), { status: range ? 206 : 200, headers: set.headers as Record<string, string> });
      },
      {
        params: t.Object({ id: t.String({ pattern: "^[0-9a-f]{64}$", error: "a file id is 64 hex digits" }) }),
        query: t.Object({ room: t.Optional(RoomField), key: KeyField }),
      },
    );
}
