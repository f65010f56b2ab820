import { Elysia } from "elysia";
import { RoomName, roomNameFrom } from "../domain/names.ts";
// Imported as files so `bun build --compile` embeds them in the binary.
import appJs from "../../public/app.js" with { type: "file" };
import filesJs from "../../public/files.js" with { type: "file" };
import menusJs from "../../public/menus.js" with { type: "file" };
import namesJs from "../../public/names.js" with { type: "file" };
import newsJs from "../../public/news.js" with { type: "file" };
import presenceJs from "../../public/presence.js" with { type: "file" };
import sendJs from "../../public/send.js" with { type: "file" };
import styleCss from "../../public/style.css" with { type: "file" };
import sseJs from "../../node_modules/htmx.org/dist/ext/hx-sse.min.js" with { type: "file" };
import htmxJs from "../../node_modules/htmx.org/dist/htmx.min.js" with { type: "file" };

/** By name; a Map, so a name like `toString` finds nothing rather than an object's own property. */
const ASSETS = new Map<string, { path: string; type: string }>(Object.entries({
  "htmx.js": { path: htmxJs, type: "text/javascript; charset=utf-8" },
  "hx-sse.js": { path: sseJs, type: "text/javascript; charset=utf-8" },
  "app.js": { path: appJs, type: "text/javascript; charset=utf-8" },
  "send.js": { path: sendJs, type: "text/javascript; charset=utf-8" },
  "news.js": { path: newsJs, type: "text/javascript; charset=utf-8" },
  "presence.js": { path: presenceJs, type: "text/javascript; charset=utf-8" },
  "files.js": { path: filesJs, type: "text/javascript; charset=utf-8" },
  "menus.js": { path: menusJs, type: "text/javascript; charset=utf-8" },
  "names.js": { path: namesJs, type: "text/javascript; charset=utf-8" },
  "style.css": { path: styleCss, type: "text/css; charset=utf-8" },
}));

/**
 * The room-name rule as public/names.js uses it: the source of the very function and pattern the server applies
 * (src/domain/names.ts), so the name shown as one types is the name the server makes.
 */
const ROOM_NAME_JS = `export const roomNameFrom = ${roomNameFrom.toString()};\nexport const roomNamePattern = new RegExp(${JSON.stringify(RoomName.pattern)});\n`;

/** The page's CSS and scripts, served from the files embedded at build time (and the room-name rule, made at start). */
export function assetRoutes() {
  return new Elysia({ name: "assets" }).get("/assets/:name", ({ params }) => {
    if (params.name === "room-name.js") return new Response(ROOM_NAME_JS, { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=3600" } });
    const asset = ASSETS.get(params.name);
    if (!asset) return Response.json({ error: `no asset named '${params.name}'` }, { status: 404 });
    return new Response(Bun.file(asset.path), { headers: { "content-type": asset.type, "cache-control": "public, max-age=3600" } });
  });
}
