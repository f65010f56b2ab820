/**
 * The owner's say over files: fetch a file that is not fetched by itself, cancel a fetch (`POST
 * /rooms/R/files/<id>/fetch|cancel`), and the settings: what is fetched by itself, what guests may upload a day
 * (`GET|POST /files/settings`). Each works from a plain form (answered with a redirect back to the room) and from the
 * page's script or a script of the owner's (JSON).
 */
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Elysia, t } from "elysia";
import { FileId, FileSettings, formatBytes } from "../domain/files.ts";
import { isDisplayName, isRoomName } from "../domain/names.ts";
import { roomHref } from "../views/links.ts";
import type { RoomAccess } from "./access.ts";
import { HttpError, jsonObject, readText } from "../util/http.ts";
import type { AppOptions } from "./options.ts";
import { PageName, PageRoom } from "./schemas.ts";

const checkSettings = TypeCompiler.Compile(FileSettings);
/** The settings form's body, or their JSON: a few short fields. */
const MAX_SETTINGS_BODY = 4096;
const MB = 1_000_000;

/** A request from a script that wants JSON back rather than a page. */
const wantsJson = (request: Request) => (request.headers.get("accept") ?? "").startsWith("application/json");
const seeOther = (location: string) => new Response(null, { status: 303, headers: { location } });

/** A form's size field in MB (decimals allowed) as bytes; 400 with the field's name when it is not one. */
function megabytes(form: URLSearchParams, name: string, what: string): number | undefined {
  const value = form.get(name);
  if (value === null || value.trim() === "") return undefined;
  const mb = Number(value);
  if (!Number.isFinite(mb) || mb < 0 || mb > 1e9) throw new HttpError(400, `${what} must be a number of MB, 0 or more`);
  return Math.round(mb * MB);
}

/** The settings a posted body asks for, over the current ones: JSON in bytes, or the page's form in MB. */
function askedSettings(text: string, json: boolean, current: FileSettings): FileSettings {
  let asked: Record<string, unknown>;
  if (json) {
    asked = jsonObject(text) as Record<string, unknown>;
  } else {
    const form = new URLSearchParams(text);
    asked = {
      auto_fetch: form.get("auto_fetch") ?? undefined,
      auto_fetch_bytes: megabytes(form, "auto_fetch_mb", "the largest file fetched by itself"),
      guest_day_bytes: megabytes(form, "guest_day_mb", "what a guest may upload a day"),
      guest_room_day_bytes: megabytes(form, "guest_room_day_mb", "what a room's guests may upload a day"),
    };
  }
  const settings = { ...current, ...Object.fromEntries(Object.entries(asked).filter(([, v]) => v !== undefined)) };
  if (!checkSettings.Check(settings)) {
    const error = checkSettings.Errors(settings).First();
    const field = error?.path.slice(1) || "the settings";
    throw new HttpError(400, `${field} is not valid: auto_fetch is "all", "images" or "none"; sizes are whole numbers of bytes, 0 or more, a fetched file at most ${formatBytes(32768 * 256 * 1024)}`);
  }
  return settings;
}

export function fileChoiceRoutes(opts: AppOptions, access: RoomAccess) {
  const { node } = opts;
  /** Fetch or cancel: the owner's, for a file a message of a room joined here carries. */
  const choice = (action: "fetch" | "cancel") =>
    ({ params, query, request, server }: { params: { room: string; id: string }; query: { peer_id?: string }; request: Request; server: Parameters<RoomAccess["client"]>[1] }) => {
      access.ownerOnly(request, server, action === "fetch" ? "fetching a file" : "cancelling a file's fetch");
      if (!node.room(params.room) || !node.files.inRoom(params.id, params.room)) throw new HttpError(404, `no message of room '${params.room}' here carries that file`);
      if (action === "fetch") node.files.fetch(params.id);
      else node.files.cancel(params.id);
      if (wantsJson(request)) return { file: params.id, state: node.files.fetchState(node.files.refIn(params.id, params.room)!, params.room).kind };
      return seeOther(`${roomHref(params.room, query.peer_id ?? "")}#messages`);
    };
  const options = {
    params: t.Object({ room: PageRoom, id: t.String({ ...FileId, error: "a file id is 64 hex digits" }) }),
    query: t.Object({ peer_id: PageName }),
    parse: "none" as const,
  };
  return new Elysia({ name: "file-choices" })
    .post("/rooms/:room/files/:id/fetch", choice("fetch"), options)
    .post("/rooms/:room/files/:id/cancel", choice("cancel"), options)
    .get("/files/settings", ({ request, server }) => {
      access.ownerOnly(request, server, "the file settings");
      return node.files.settings();
    })
    .post(
      "/files/settings",
      async ({ request, server }) => {
        access.ownerOnly(request, server, "the file settings");
        const type = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
        if (type !== "application/json" && type !== "application/x-www-form-urlencoded") {
          throw new HttpError(415, "send the settings as JSON or as a form");
        }
        const text = await readText(request, MAX_SETTINGS_BODY);
        const settings = askedSettings(text, type === "application/json", node.files.settings());
        node.files.updateSettings(settings);
        if (type === "application/json" || wantsJson(request)) return settings;
        // The page's form names the room it was sent from, to go back to.
        const form = new URLSearchParams(text);
        const room = form.get("room") ?? "";
        const writeAs = form.get("peer_id") ?? "";
        return seeOther(isRoomName(room) ? roomHref(room, isDisplayName(writeAs) ? writeAs : "") : "/");
      },
      { parse: "none" },
    );
}
