import { Elysia } from "elysia";
import { PROTOCOL_VERSION } from "../domain/protocol.ts";
import { browserRefusal } from "../domain/hosts.ts";
import { jsonError } from "../util/http.ts";
import type { AppOptions } from "./options.ts";

/** What other instances use: `/mesh/info` to learn who is here, and the HTTP link tier under `/mesh/http/`. */
export function meshRoutes(opts: AppOptions) {
  const { node } = opts;
  const app = new Elysia({ name: "mesh" }).get("/mesh/info", () => ({
    node_id: node.id,
    name: node.name,
    protocol: PROTOCOL_VERSION,
    addresses: opts.reach.addresses(),
  }));
  const handle = opts.meshHttp;
  if (!handle) return app;
  // The HTTP tier is for other instances: a web page may not open a session or send in one.
  return app.all("/mesh/http/*", ({ request, server }) => {
    const refusal = browserRefusal(request);
    return refusal ? jsonError(403, refusal) : handle(request, server);
  }, { parse: "none" });
}
