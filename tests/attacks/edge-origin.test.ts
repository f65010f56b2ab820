/**
 * Issue 22, medium: the `--ws-port` upgrades (`/link`, `/signal`) checked neither `Origin` nor `Host`, so a web page on
 * any host opened both on an instance (DNS rebinding reached one bound to 127.0.0.1), and the HTTP tier's `/mesh/http/`
 * took sessions from pages too. These endpoints are for other instances: a browser's request is refused, and so is
 * a `Host` that names no address of this machine, as the HTTP server's guard refuses it.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { rmSync } from "node:fs";
import type { BrowserContext } from "playwright-core";
import { hasChromium, launch, type PageGlobal } from "../helpers/browser.ts";
import { startInstance, type Instance } from "../helpers/instance.ts";
import { waitForLink } from "../helpers/mesh.ts";

/** The status line's code of a WebSocket upgrade sent by hand with `headers`. */
async function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  const { hostname, port, pathname, search } = new URL(url);
  const lines = [
    `GET ${pathname}${search} HTTP/1.1`,
    `Host: ${headers.Host ?? `${hostname}:${port}`}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...Object.entries(headers)
      .filter(([name]) => name !== "Host")
      .map(([name, value]) => `${name}: ${value}`),
    "",
    "",
  ];
  const { promise, resolve, reject } = Promise.withResolvers<number>();
  let text = "";
  const socket = await Bun.connect({
    hostname,
    port: Number(port),
    socket: {
      open: (s) => void s.write(lines.join("\r\n")),
      data: (s, data) => {
        text += data.toString("latin1");
        const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
        if (m) {
          resolve(Number(m[1]));
          s.end();
        }
      },
      close: () => reject(new Error(`closed without a status line: ${text}`)),
      error: (_s, error) => reject(error),
    },
  });
  try {
    return await promise;
  } finally {
    socket.end();
  }
}

describe("instance-to-instance endpoints refuse browsers and foreign hosts", () => {
  let a: Instance;
  beforeAll(async () => {
    a = await startInstance({ args: ["--transports", "websocket,http"] });
  });
  afterAll(async () => {
    await a[Symbol.asyncDispose]();
  });

  const signal = () => `${a.ws}/signal?room=lobby&peer_id=page`;
  const link = () => `${a.ws}/link`;

  it("an instance's own upgrade (no Origin, no Sec-Fetch-*) is taken", async () => {
    expect(await upgradeStatus(signal(), {})).toBe(101);
    expect(await upgradeStatus(link(), {})).toBe(101);
  });

  it("an upgrade with an Origin header is refused on /link and /signal", async () => {
    for (const url of [signal(), link()]) {
      expect(await upgradeStatus(url, { Origin: "http://192.168.1.66:8000" })).toBe(403);
      expect(await upgradeStatus(url, { Origin: "null" })).toBe(403);
    }
  });

  it("an upgrade a browser marks with Sec-Fetch-* (and no Origin) is refused", async () => {
    for (const url of [signal(), link()]) expect(await upgradeStatus(url, { "Sec-Fetch-Mode": "websocket", "Sec-Fetch-Site": "cross-site" })).toBe(403);
  });

  it("an upgrade addressed by a name that is not this machine's (DNS rebinding) is refused", async () => {
    for (const url of [signal(), link()]) expect(await upgradeStatus(url, { Host: "rebind.attacker.example:80" })).toBe(403);
  });

  it("the HTTP tier refuses to open a session for a web page, even one of the instance's own origin", async () => {
    const open = (headers: Record<string, string>) => fetch(`${a.http}/mesh/http/open`, { method: "POST", headers }).then((r) => r.status);
    // Cross-site posts were refused by the HTTP guard already; a page of this origin (say, a file served here) was not.
    expect(await open({ "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors" })).toBe(403);
    expect(await open({ Origin: a.http, "Sec-Fetch-Site": "same-origin" })).toBe(403);
    expect(await open({ Origin: "http://192.168.1.66:8000" })).toBe(403);
    expect(await open({})).toBe(200);
  });
});

describe("instances still link over both tiers", () => {
  for (const tier of ["websocket", "http"]) {
    it(`two instances link over ${tier}`, async () => {
      await using a = await startInstance({ args: ["--transports", tier, "--room", "lobby"] });
      await using b = await startInstance({ args: ["--transports", tier, "--room", "lobby", "--peer", a.http] });
      await waitForLink(b, a, tier);
    }, 30_000);
  }
});

describe.skipIf(!hasChromium)("a page in Chromium", () => {
  let context: BrowserContext;
  let dir: string;
  beforeAll(async () => {
    ({ context, dir } = await launch());
  });
  afterAll(async () => {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a page of another origin cannot open /link or /signal", async () => {
    await using a = await startInstance({ args: ["--transports", "websocket"] });
    // The attacker's page, served from another port of this machine (another origin, as a LAN host would be).
    const attacker = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("<!doctype html><title>x</title>", { headers: { "content-type": "text/html" } }) });
    try {
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${attacker.port}/`);
      const opened = await page.evaluate(async (urls: string[]) => {
        const g = globalThis as PageGlobal;
        const tryOpen = (url: string) =>
          new Promise<string>((resolve) => {
            const ws = new g.WebSocket(url);
            ws.onopen = () => (ws.close(), resolve("open"));
            ws.onerror = () => resolve("refused");
          });
        return Promise.all(urls.map(tryOpen));
      }, [`${a.ws}/link`, `${a.ws}/signal?room=lobby&peer_id=page`]);
      expect(opened).toEqual(["refused", "refused"]);
    } finally {
      void attacker.stop(true);
    }
  }, 30_000);
});
