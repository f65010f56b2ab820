import { Elysia } from "elysia";
import { internalError, jsonError } from "../util/http.ts";
import { RoomAccess } from "./access.ts";
import { apiRoutes } from "./api.ts";
import { assetRoutes } from "./assets.ts";
import { GuestLimit } from "./budgets.ts";
import { eventRoutes } from "./events.tsx";
import { fileRoutes, Uploads } from "./files.ts";
import { fragmentRoutes } from "./fragments.tsx";
import { guard } from "./guard.ts";
import { refusalOf } from "./refusals.ts";
import type { AppOptions } from "./options.ts";
import { meshRoutes } from "./mesh.ts";
import { ownerFormRoutes } from "./owner-forms.tsx";
import { pageViews } from "./page-views.tsx";
import { pageRoutes } from "./pages.tsx";
import { roomActionRoutes } from "./room-actions.tsx";
import { backupRoutes } from "./backup.ts";
import { personRoutes } from "./person.tsx";

export type { AppOptions } from "./options.ts";

/** The whole HTTP side of an instance; every refusal is a 4xx `{"error": …}`, or a page on the page's own routes. */
export function createApp(opts: AppOptions) {
  const guests = new GuestLimit(opts.guestSendRate, opts.clientAddress);
  const access = new RoomAccess(opts.node, opts.clientAddress);
  const uploads = new Uploads(opts.node, guests, access);
  const pages = pageViews(opts, access);
  return (
    new Elysia()
      // First: its request hook refuses foreign hosts and cross-site writes before any route, and sets the security headers.
      .use(guard({ publicHosts: opts.publicHosts }))
      // Before onError: an app's error hook runs before a route's, and these routes answer their refusals as pages.
      .use(pageRoutes(opts, guests, access, uploads, pages))
      .use(ownerFormRoutes(opts, guests, access, pages))
      .onError(({ code, error, request }) => {
        if (code === "NOT_FOUND") return jsonError(404, `no route for ${request.method} ${new URL(request.url).pathname}`);
        const refusal = refusalOf(error);
        return refusal ? jsonError(refusal.status, refusal.message) : internalError(error);
      })
      .use(assetRoutes())
      .use(apiRoutes(opts, guests, access))
      .use(fileRoutes(opts, uploads, access))
      .use(eventRoutes(opts, access))
      .use(fragmentRoutes(opts, access))
      .use(roomActionRoutes(opts, guests, access))
      .use(backupRoutes(opts, guests, access))
      .use(personRoutes(opts, guests, access))
      .use(meshRoutes(opts))
  );
}

export type App = ReturnType<typeof createApp>;
