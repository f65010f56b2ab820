// The guard in a real browser: pages of other origins (another site, and another port of this host) try to write
// into the instance with an auto-submitted form, a `no-cors` fetch, `<img>` deep links and a sandboxed frame, and try
// to frame its page; nothing is stored or joined. Then the whole chat works under the CSP with no violation reported.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { chromium, type BrowserContext } from "playwright-core";
import { CONTENT_SECURITY_POLICY } from "../../../src/routes/guard.ts";
import { startInstance, tempDir, waitFor, type Instance } from "../../helpers/instance.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log(`browser security tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const TIMEOUT = 60_000;

/** What the page is told in `page.evaluate`: the test's TypeScript has no DOM types, so the page's globals are `any`. */
type PageGlobal = any;

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

/** A form that submits itself as soon as the page loads, as a malicious page would. */
function autoForm(action: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`)
    .join("");
  return `<form method="post" action="${escape(action)}">${inputs}</form><script>document.forms[0].submit()</script>`;
}

/** The attacker's pages, each aimed at the instance at `target`. */
function attackPage(kind: string, target: string): string {
  switch (kind) {
    case "form-message":
      return autoForm(`${target}/rooms/lured/messages`, { peer_id: "mallory", text: "posted by a form on another site" });
    case "form-join":
      return autoForm(`${target}/join`, { room: "joined-by-form", peer_id: "mallory" });
    case "form-create":
      return autoForm(`${target}/create`, { name: "created-by-form", peer_id: "mallory" });
    case "form-send":
      // text/plain lets a form send a body that reads as JSON.
      return `<form method="post" enctype="text/plain" action="${target}/send"><input type="hidden" name='{"room":"lured","text":"json by form","x":"' value='"}'></form><script>document.forms[0].submit()</script>`;
    case "fetch": {
      const calls = [
        [`${target}/rooms/lured/messages`, "application/x-www-form-urlencoded", "peer_id=mallory&text=posted+by+no-cors+fetch"],
        [`${target}/join`, "application/x-www-form-urlencoded", "room=joined-by-fetch&peer_id=mallory"],
        [`${target}/create`, "application/x-www-form-urlencoded", "name=created-by-fetch&peer_id=mallory"],
        [`${target}/send`, "text/plain", JSON.stringify({ room: "lured", text: "json by no-cors fetch" })],
        [`${target}/rooms`, "text/plain", JSON.stringify({ name: "created-by-api" })],
      ];
      return `<script>
        Promise.allSettled(${JSON.stringify(calls)}.map(([url, type, body]) =>
          fetch(url, { method: "POST", mode: "no-cors", credentials: "include", headers: { "content-type": type }, body })))
          .then(() => { document.title = "done"; });
      </script>`;
    }
    case "img": {
      const imgs = Array.from({ length: 10 }, (_, i) => `<img src="${target}/?room=img-${i}&amp;peer_id=mallory">`).join("");
      return `${imgs}<script>
        Promise.all([...document.images].map((img) => img.complete ? 0 : new Promise((r) => { img.onload = img.onerror = r; })))
          .then(() => { document.title = "done"; });
      </script>`;
    }
    case "sandbox":
      // A sandboxed frame has an opaque origin: its form posts with Origin: null.
      return `<iframe sandbox="allow-forms allow-scripts" srcdoc="${escape(autoForm(`${target}/rooms/lured/messages`, { peer_id: "mallory", text: "posted from a sandboxed frame" }))}"></iframe>`;
    case "frame":
      return `<iframe src="${target}/"></iframe>`;
    default:
      return "no such attack";
  }
}

describe.skipIf(!hasChromium)("the guard in Chromium", () => {
  let instance: Instance | undefined;
  let attacker: ReturnType<typeof Bun.serve> | undefined;
  let context: BrowserContext | undefined;
  let profile: string | undefined;

  beforeAll(async () => {
    instance = await startInstance();
    attacker = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(request) {
        const url = new URL(request.url);
        const page = attackPage(url.searchParams.get("kind") ?? "", url.searchParams.get("target") ?? "");
        return new Response(`<!doctype html><html><head><title>attack</title></head><body>${page}</body></html>`, {
          headers: { "content-type": "text/html; charset=utf-8" },
        });
      },
    });
    profile = tempDir("e-goat-chromium-");
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
  }, TIMEOUT);

  afterAll(async () => {
    await context?.close().catch(() => {});
    if (profile) rmSync(profile, { recursive: true, force: true });
    attacker?.stop(true);
    await instance?.[Symbol.asyncDispose]().catch(() => {});
  }, TIMEOUT);

  /** The rooms the instance has joined, as its owner's landing page lists them. */
  async function joinedRooms(): Promise<string[]> {
    const html = await (await fetch(`${instance!.http}/`)).text();
    return [...html.matchAll(/href="\/\?room=([^&"]+)&amp;/g)].map((m) => decodeURIComponent(m[1]!));
  }

  const history = async (room: string) => (await (await fetch(`${instance!.http}/history?room=${room}`)).json()) as unknown[];

  // localhost and 127.0.0.1 are different sites; two ports of 127.0.0.1 are the same site but different origins.
  for (const [what, attackerHost] of [
    ["another site", "localhost"],
    ["another port of this host (same site)", "127.0.0.1"],
  ] as const) {
    test(
      `a page on ${what} cannot post, join or create by form, no-cors fetch, <img> or sandboxed frame, nor frame the page`,
      async () => {
        const target = instance!.http;
        const origin = `http://${attackerHost}:${attacker!.port}`;
        const page = await context!.newPage();
        /** Every request the attacker's pages sent to the instance, with the headers Chromium gave it. */
        const sent: { method: string; url: string; site?: string; origin?: string }[] = [];
        page.on("request", async (request) => {
          if (!request.url().startsWith(target)) return;
          const headers = await request.allHeaders();
          sent.push({ method: request.method(), url: request.url(), site: headers["sec-fetch-site"], origin: headers["origin"] });
        });
        const open = (kind: string) => page.goto(`${origin}/?kind=${kind}&target=${encodeURIComponent(target)}`);
        try {
          for (const kind of ["form-message", "form-join", "form-create", "form-send"]) {
            const posted = page.waitForResponse((r) => r.request().method() === "POST" && r.url().startsWith(target), { timeout: 10_000 });
            await open(kind);
            expect(`${kind} ${(await posted).status()}`).toBe(`${kind} 403`);
          }
          for (const kind of ["fetch", "img"]) {
            await open(kind);
            await page.waitForFunction(() => (globalThis as PageGlobal).document.title === "done", undefined, { timeout: 10_000 });
          }
          // Playwright may miss the request of a frame that navigates as it loads; Chromium's console does report
          // the instance's answer to it.
          const refused = page.waitForEvent("console", {
            predicate: (m) => m.text().includes("the server responded with a status of 403"),
            timeout: 10_000,
          });
          await open("sandbox");
          await refused;

          // frame-ancestors 'none' (and X-Frame-Options): the instance's page never renders inside another site's frame.
          await open("frame");
          await Bun.sleep(500);
          const framed = page.frames().find((f) => f !== page.mainFrame());
          expect(framed).toBeDefined();
          expect(await framed!.evaluate(() => (globalThis as PageGlobal).document.querySelector("header.topbar") !== null).catch(() => false)).toBe(false);

          // The no-cors fetches and the img deep links left the browser too; what they got back is withheld from the
          // attacker's page (CORP), so only what the instance kept tells (below). guard.test.ts checks their 403s.
          await waitFor(() => sent.filter((r) => r.method === "POST" && r.origin !== "null").length >= 9, 5000, "every POST to be sent");
          expect(sent.filter((r) => r.method === "GET" && r.url.includes("room=img-")).length).toBe(10);
          // What Chromium says of the requests whose headers it shows (not those whose response CORP withheld):
          // localhost and 127.0.0.1 are different sites, two ports of one host are one site, and a sandboxed frame is
          // cross-site with Origin: null. The guard refuses every one of them.
          const known = sent.filter((r) => r.site !== undefined && r.origin !== "null");
          expect(new Set(known.map((r) => r.site))).toEqual(new Set([attackerHost === "localhost" ? "cross-site" : "same-site"]));
          expect(new Set(known.filter((r) => r.method === "POST").map((r) => r.origin))).toEqual(new Set([origin]));
          for (const r of sent.filter((r) => r.origin === "null")) expect(r.site).toBe("cross-site");
        } finally {
          await page.close();
        }

        expect(await history("lured")).toEqual([]);
        const rooms = await joinedRooms();
        for (const room of ["lured", "joined-by-form", "created-by-form", "joined-by-fetch", "created-by-fetch", "created-by-api", ...Array.from({ length: 10 }, (_, i) => `img-${i}`)]) {
          expect(rooms).not.toContain(room);
        }
      },
      TIMEOUT,
    );
  }

  test(
    "the chat works under the CSP: live messages over SSE, the send form, older messages; no violation is reported",
    async () => {
      const target = instance!.http;
      for (let i = 1; i <= 60; i++) {
        const res = await fetch(`${target}/send`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ room: "csp", peer_id: "erin", text: `older ${String(i).padStart(2, "0")}` }),
        });
        expect(res.status).toBe(200);
      }
      const page = await context!.newPage();
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning" || /content security policy/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      await page.addInitScript(() => {
        const g = globalThis as PageGlobal;
        g.__violations = [];
        g.addEventListener("securitypolicyviolation", (e: PageGlobal) => g.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
      });
      try {
        const live = page.waitForResponse((r) => r.url().includes("/rooms/csp/events"), { timeout: 10_000 });
        const opened = await page.goto(`${target}/?room=csp&peer_id=alice`);
        expect(opened?.status()).toBe(200);
        expect(opened?.headers()["content-security-policy"]).toBe(CONTENT_SECURITY_POLICY);
        expect((await live).status()).toBe(200);
        await page.waitForFunction(() => (globalThis as PageGlobal).htmx !== undefined);
        const texts = () => page.locator("#messages li.msg .text").allTextContents();

        // A message from elsewhere arrives over SSE.
        await fetch(`${target}/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room: "csp", peer_id: "bob", text: "live over SSE" }) });
        await waitFor(async () => (await texts()).includes("live over SSE"), 10_000, "the live message");

        // The form sends with Enter (htmx) and the textarea clears.
        await page.locator("#send textarea").fill("sent with the form under the CSP");
        await page.locator("#send textarea").press("Enter");
        await waitFor(async () => (await texts()).filter((t) => t === "sent with the form under the CSP").length === 1, 10_000, "the sent message");
        await waitFor(async () => (await page.locator("#send textarea").inputValue()) === "", 5000, "the textarea to clear");

        // Older messages load.
        await page.locator("#messages li.older a").click();
        await waitFor(async () => (await texts()).includes("older 01"), 10_000, "older messages");
        expect((await texts()).filter((t) => t.startsWith("older ")).length).toBe(60);

        await Bun.sleep(300);
        expect(problems).toEqual([]);
        expect(await page.evaluate(() => (globalThis as PageGlobal).__violations)).toEqual([]);

        // The listener does hear violations: htmx's eval path (an hx-on attribute, as injected markup could carry)
        // and an injected inline script are both blocked and reported.
        await page.evaluate(() => {
          const g = globalThis as PageGlobal;
          const button = g.document.createElement("button");
          button.id = "injected";
          button.setAttribute("hx-on:click", "globalThis.__hxOn = 1");
          button.textContent = "injected";
          g.document.body.append(button);
          g.htmx.process(button);
          const script = g.document.createElement("script");
          script.textContent = "globalThis.__inline = 1";
          g.document.body.append(script);
        });
        await page.locator("#injected").click();
        await waitFor(async () => (await page.evaluate(() => (globalThis as PageGlobal).__violations.length)) >= 2, 5000, "the violations to be reported");
        const violations = (await page.evaluate(() => (globalThis as PageGlobal).__violations)) as string[];
        expect(violations.map((v) => v.split(" ")[0]).sort()).toEqual(["script-src", "script-src-elem"]);
        expect(await page.evaluate(() => [(globalThis as PageGlobal).__hxOn, (globalThis as PageGlobal).__inline])).toEqual([undefined, undefined]);
      } finally {
        await page.close();
      }
    },
    TIMEOUT,
  );
});
