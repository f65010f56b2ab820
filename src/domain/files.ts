/**
 * The rules of files every layer shares: what a message says of a file it carries (id, name, size, type), how an
 * uploaded name and type are made safe, and which types a browser may show inline.
 */
import { Type, type Static } from "@sinclair/typebox";
import { basename } from "node:path";

/** A file's id: the hex SHA-256 over its chunks' hashes (src/storage/files.ts `fileIdOf`). */
export const FileId = Type.String({ pattern: "^[0-9a-f]{64}$" });
export const isFileId = (value: unknown): value is string => typeof value === "string" && /^[0-9a-f]{64}$/.test(value);

/** Longest file name, in characters. */
export const FILE_NAME_MAX = 255;
/** Largest file any instance takes from another, whatever its `--max-file-size`: a manifest of 1 MiB of hashes. */
export const MAX_FILE_BYTES = 32768 * 256 * 1024;
/** Files one message may carry. */
export const MAX_FILES_PER_MESSAGE = 10;

/** A file as a message carries it, signed with the message. */
export const FileRef = Type.Object(
  {
    id: FileId,
    name: Type.String({ minLength: 1, maxLength: FILE_NAME_MAX, pattern: "^[^\\u0000-\\u001f\\u007f/\\\\]*$" }),
    size: Type.Integer({ minimum: 1, maximum: MAX_FILE_BYTES }),
    type: Type.String({ maxLength: 127, pattern: "^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$" }),
  },
  { additionalProperties: false },
);
export type FileRef = Static<typeof FileRef>;

/** The files of a message. */
export const FileRefs = Type.Array(FileRef, { minItems: 1, maxItems: MAX_FILES_PER_MESSAGE });

/** A file as this instance shows it: with the bytes of it held here so far. */
export type HeldFile = FileRef & { have: number };

/** An uploaded file's name made safe to store, show and offer for download: its last path part, without control characters. */
export function safeFileName(name: string | undefined): string {
  const cleaned = basename((name ?? "").replaceAll("\\", "/"))
    .replace(/[\u0000-\u001f\u007f]/g, "")
    .trim();
  const short = [...cleaned].slice(0, FILE_NAME_MAX).join("");
  return short === "" || short === "." || short === ".." ? "file" : short;
}

/** An uploaded file's declared type, lowercased without parameters, or `application/octet-stream` when it is not one. */
export function safeFileType(type: string | undefined): string {
  const bare = (type ?? "").split(";")[0]!.trim().toLowerCase();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(bare) && bare.length <= 127 ? bare : "application/octet-stream";
}

/** Raster image types a browser shows inline and that cannot carry script; every other file is served as an attachment. */
const INLINE_IMAGES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"]);
export const isInlineImage = (type: string) => INLINE_IMAGES.has(type);
