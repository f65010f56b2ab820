import { Elysia } from "elysia";
import { apiRoutes } from "./api.ts";
import { assetRoutes } from "./assets.ts";
import { eventRoutes } from "./events.tsx";
import { GuestLimit, HttpError, jsonError } from "./http.ts";
import type { AppOptions } from "./options.ts";
import { meshRoutes } from "./mesh.ts";
import { pageRoutes } from "./pages.tsx";

export type { AppOptions } from "./options.ts";

/** The whole HTTP side of an instance; every refusal is a 4xx `{"error": …}`. */
export function createApp(opts: AppOptions) {
  const guests = new GuestLimit(opts.guestSendRate);
  return new Elysia()
    .onError(({ code, error, request }) => {
      if (error instanceof HttpError) return jsonError(error.status, error.message);
      switch (code) {
        case "NOT_FOUND":
          return jsonError(404, `no route for ${request.method} ${new URL(request.url).pathname}`);
        case "PARSE":
          return jsonError(400, "the request body could not be read");
        case "VALIDATION":
          return jsonError(400, "the request is not valid");
      }
      console.error("request failed:", error);
      return jsonError(500, "internal error; see the instance's log");
    })
    .use(assetRoutes())
    .use(apiRoutes(opts, guests))
    .use(eventRoutes(opts))
    .use(pageRoutes(opts, guests))
    .use(meshRoutes(opts));
}

export type App = ReturnType<typeof createApp>;
