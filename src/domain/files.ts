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

/** What members' files this instance fetches by itself: every kind, images only, or none (each then on the owner's click). */
export const AutoFetchKinds = Type.Union([Type.Literal("all"), Type.Literal("images"), Type.Literal("none")]);

/** The owner's settings for files: what is fetched by itself, up to what size, and what guests may upload a day. */
export const FileSettings = Type.Object(
  {
    auto_fetch: AutoFetchKinds,
    /** Largest file fetched by itself; larger ones on the owner's click. */
    auto_fetch_bytes: Type.Integer({ minimum: 0, maximum: MAX_FILE_BYTES }),
    /** Bytes one guest (an IPv4 address, an IPv6 /64) may upload in 24 hours. */
    guest_day_bytes: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    /** Bytes all guests together may upload to one room in 24 hours. */
    guest_room_day_bytes: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  },
  { additionalProperties: false },
);
export type FileSettings = Static<typeof FileSettings>;

export const DEFAULT_FILE_SETTINGS: FileSettings = {
  auto_fetch: "all",
  auto_fetch_bytes: 25_000_000,
  guest_day_bytes: 100_000_000,
  guest_room_day_bytes: 500_000_000,
};

/** Whether a file of `size` bytes (an image or not) is fetched without the owner asking. */
export function fetchesByItself(settings: FileSettings, file: { size: number; image: boolean }): boolean {
  if (settings.auto_fetch === "none" || (settings.auto_fetch === "images" && !file.image)) return false;
  return file.size <= settings.auto_fetch_bytes;
}

/** Whether a type names an image (of any kind: what "images" means in the setting above). */
export const isImageType = (type: string) => type.startsWith("image/");

/** A size for people, as the page and refusals say it: 812 B, 4.2 KB, 17 MB, 1.1 GB. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  for (; value >= 1000 && unit < units.length - 1; unit++) value /= 1000;
  return unit === 0 ? `${bytes} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/**
 * Where a file stands for a room's readers: whole here; coming in (with its speed in bytes a second, when known);
 * waiting (to be fetched, or for a member that has it); offered (not fetched by itself, or its fetch cancelled: the
 * owner fetches it on a click).
 */
export type FileFetch = { kind: "whole" } | { kind: "coming"; rate: number | null } | { kind: "waiting" } | { kind: "offered" };
