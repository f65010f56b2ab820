import { openNode } from "../../src/open-node.ts";
import { createApp, type AppOptions } from "../../src/routes/index.ts";
import type { ReachInfo } from "../../src/routes/options.ts";
import { openStorage } from "../../src/storage/index.ts";

/** An app over an in-memory database, driven with `app.handle(new Request(...))`. */
/** What an instance that checked nothing yet knows of its reach, at a documentation address. */
const UNCHECKED: ReachInfo = {
  publicUrl: () => "http://192.0.2.1:8080",
  addresses: () => ({}),
  rendezvous: () => [],
  reachability: () => null,
  stunAddress: () => null,
  portMapping: () => null,
};

export function makeApp(opts: Partial<Omit<AppOptions, "node" | "reach">> & { reach?: Partial<ReachInfo>; maxRooms?: number; maxFileBytes?: number; freeDiskBytes?: () => number } = {}) {
  const storage = openStorage(":memory:");
  const node = openNode({ storage, name: "tester", maxRooms: opts.maxRooms, maxFileBytes: opts.maxFileBytes, freeDiskBytes: opts.freeDiskBytes });
  // Requests made with app.handle have no socket: they come from the owner's machine unless a test names another
  // address in the test-only x-test-client header (read by this helper alone, never by the app).
  const clientAddress = (request: Request) => request.headers.get("x-test-client") ?? "127.0.0.1";
  const app = createApp({ node, version: "test", clientAddress, ...opts, reach: { ...UNCHECKED, ...opts.reach } });
  const request = (path: string, init?: RequestInit) => app.handle(new Request(`http://localhost${path}`, init));
  const send = (body: unknown, headers: Record<string, string> = { "content-type": "application/json" }) =>
    request("/send", { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { app, node, storage, request, send };
}
