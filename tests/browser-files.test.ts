// Files through the page in Chromium: attach with a progress bar, the file live on the other instance's page and the
// download byte for byte; drop and paste; the form without JavaScript; images as thumbnails; an HTML file and an SVG
// with script only ever download and run nothing; a file name with markup is text.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { createReadStream, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { CHROMIUM, hasChromium, launch, openRoom, type PageGlobal } from "./helpers/browser.ts";
import { randomFile } from "./helpers/files.ts";
import { startInstance, tempDir, waitFor, type Instance } from "./helpers/instance.ts";
import { waitForLink } from "./helpers/mesh.ts";

if (!hasChromium) console.log(`browser file tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

const TIMEOUT = 60_000;
const ROOM = "files";
/** A 1×1 PNG. */
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==", "base64");

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const piece of createReadStream(path)) hash.update(piece as Buffer);
  return hash.digest("hex");
}

/** Texts of the room's history at an instance: an attack that ran would have posted one. */
async function historyTexts(instance: Instance): Promise<string[]> {
  return ((await (await fetch(`${instance.http}/history?room=${ROOM}`)).json()) as { text: string }[]).map((m) => m.text);
}

/** The file items named `name` in a tab's messages. */
const fileItems = (page: Page, name: string) => page.locator("#messages .file").filter({ has: page.locator(".file-name", { hasText: name }) });

describe.skipIf(!hasChromium)("files on the page in Chromium", () => {
  const dir = tempDir("e-goat-browser-files-");
  let a: Instance | undefined;
  let b: Instance | undefined;
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  let alpha: Page;
  let beta: Page;
  const errors: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    a = await startInstance({ args: ["--name", "alpha", "--room", ROOM, "--transports", "websocket"] });
    b = await startInstance({ args: ["--name", "beta", "--room", ROOM, "--transports", "websocket", "--peer", a.http] });
    await waitForLink(b, a);
    await waitForLink(a, b);
    ({ context, dir: profile } = await launch({ viewport: { width: 1280, height: 800 }, acceptDownloads: true }));
    alpha = context.pages()[0] ?? (await context.newPage());
    beta = await context.newPage();
    for (const [page, who] of [[alpha, "alpha"], [beta, "beta"]] as const) {
      page.on("pageerror", (e) => errors.push(`${who}: ${e.message}`));
      page.on("dialog", (d) => (dialogs.push(`${who}: ${d.message()}`), void d.dismiss()));
    }
    await alpha.bringToFront();
    await openRoom(alpha, a.http, ROOM, "ann");
    await beta.bringToFront();
    await openRoom(beta, b.http, ROOM, "ben");
  }, TIMEOUT);

  afterAll(async () => {
    await context?.close();
    await a?.stop();
    await b?.stop();
    for (const d of [dir, profile]) if (d) rmSync(d, { recursive: true, force: true });
  }, TIMEOUT);

  test(
    "attach: a progress bar while it uploads, then the file shows on the other instance's page and downloads byte for byte",
    async () => {
      const source = await randomFile(dir, 64 * 1024 * 1024, "big.bin");
      await alpha.bringToFront();
      // The upload's progress as the page shows it, sampled as it goes.
      await alpha.evaluate(() => {
        const g = globalThis as PageGlobal;
        g.seen = [];
        g.sampler = setInterval(() => {
          const bar = g.document.querySelector("#uploads progress");
          if (bar) g.seen.push(bar.value / bar.max);
        }, 5);
      });
      await alpha.setInputFiles("#attach-file", source.path);
      await fileItems(alpha, "big.bin").first().waitFor({ timeout: 30_000 });
      await waitFor(async () => (await alpha.locator("#uploads li").count()) === 0, 10_000, "the upload row to go");
      const seen = (await alpha.evaluate(() => {
        const g = globalThis as PageGlobal;
        clearInterval(g.sampler);
        return g.seen;
      })) as number[];
      expect(seen.some((f) => f > 0 && f < 1)).toBe(true);

      // At beta it comes in over the link, its progress live, then the download link.
      await beta.bringToFront();
      const atBeta = fileItems(beta, "big.bin");
      await atBeta.locator("a.file-name").waitFor({ timeout: 30_000 });
      expect(await atBeta.locator(".file-size").textContent()).toBe("67 MB");
      // The sender's page tells how far it got at beta.
      await alpha.bringToFront();
      await fileItems(alpha, "big.bin").locator(".delivery .done", { hasText: "beta" }).waitFor({ timeout: 10_000 });

      await beta.bringToFront();
      const [download] = await Promise.all([beta.waitForEvent("download"), atBeta.locator("a.file-name").click()]);
      expect(download.suggestedFilename()).toBe("big.bin");
      expect(await sha256Of((await download.path())!)).toBe(source.sha256);
    },
    TIMEOUT,
  );

  test(
    "files dropped on the room or pasted into the message box are sent",
    async () => {
      await alpha.bringToFront();
      await alpha.evaluate(() => {
        const g = globalThis as PageGlobal;
        const dropped = new g.DataTransfer();
        dropped.items.add(new g.File(["dropped on the room"], "dropped.txt", { type: "text/plain" }));
        g.document.querySelector("#messages").dispatchEvent(new g.DragEvent("drop", { dataTransfer: dropped, bubbles: true, cancelable: true }));
        const pasted = new g.DataTransfer();
        pasted.items.add(new g.File(["pasted into the box"], "pasted.txt", { type: "text/plain" }));
        g.document.querySelector("#send textarea").dispatchEvent(new g.ClipboardEvent("paste", { clipboardData: pasted, bubbles: true, cancelable: true }));
      });
      for (const name of ["dropped.txt", "pasted.txt"]) {
        await fileItems(alpha, name).locator("a.file-name").waitFor({ timeout: 10_000 });
        await fileItems(beta, name).locator("a.file-name").waitFor({ timeout: 10_000 });
      }
      const res = await fetch(`${b!.http}${await fileItems(beta, "pasted.txt").locator("a.file-name").getAttribute("href")}`);
      expect(await res.text()).toBe("pasted into the box");
    },
    TIMEOUT,
  );

  test(
    "an image shows as a thumbnail on both pages",
    async () => {
      const path = join(dir, "dot.png");
      writeFileSync(path, PNG);
      await alpha.bringToFront();
      await alpha.setInputFiles("#attach-file", path);
      for (const page of [alpha, beta]) {
        const img = fileItems(page, "dot.png").locator("img");
        await img.waitFor({ timeout: 10_000 });
        await waitFor(() => img.evaluate((el: PageGlobal) => el.complete && el.naturalWidth === 1), 5000, "the thumbnail to load");
      }
    },
    TIMEOUT,
  );

  test(
    "an HTML file and an SVG with script download as attachments and run nothing; a name with markup is text",
    async () => {
      const attack = (text: string) =>
        `fetch("/send",{method:"POST",headers:{"content-type":"application/json"},body:JSON.stringify({room:"${ROOM}",text:"${text}"})});alert("${text}")`;
      const html = join(dir, "evil.html");
      writeFileSync(html, `<!doctype html><title>evil</title><script>${attack("pwned by html")}</script><img src=x onerror='${attack("pwned by img")}'>`);
      const svg = join(dir, "evil.svg");
      writeFileSync(svg, `<svg xmlns="http://www.w3.org/2000/svg" onload='${attack("pwned by svg onload")}'><script>${attack("pwned by svg")}</script></svg>`);
      const markupName = "<b onmouseover=alert(1)>bold<i>.txt";
      await alpha.bringToFront();
      await alpha.setInputFiles("#attach-file", [
        { name: "evil.html", mimeType: "text/html", buffer: Buffer.from(await Bun.file(html).text()) },
        { name: "evil.svg", mimeType: "image/svg+xml", buffer: Buffer.from(await Bun.file(svg).text()) },
        { name: markupName, mimeType: "text/plain", buffer: Buffer.from("just text") },
      ]);
      for (const page of [alpha, beta]) {
        await page.bringToFront();
        for (const name of ["evil.html", "evil.svg", markupName]) await fileItems(page, name).locator("a.file-name").waitFor({ timeout: 10_000 });
        // The name is shown as it is, and made no element.
        const item = fileItems(page, "bold");
        expect(await item.locator(".file-name").textContent()).toBe(markupName);
        expect(await item.locator("b, i").count()).toBe(0);
        // No thumbnail for an SVG: it is no raster image.
        expect(await fileItems(page, "evil.svg").locator("img").count()).toBe(0);
        for (const name of ["evil.html", "evil.svg"]) {
          const [download] = await Promise.all([page.waitForEvent("download"), fileItems(page, name).locator("a.file-name").click()]);
          expect(download.suggestedFilename()).toBe(name);
        }
      }
      // Even opened on its own, in a tab of its own, each only downloads.
      const tab = await context!.newPage();
      for (const name of ["evil.html", "evil.svg"]) {
        const href = await fileItems(beta, name).locator("a.file-name").getAttribute("href");
        const [download] = await Promise.all([tab.waitForEvent("download"), tab.goto(`${b!.http}${href}`).catch(() => null)]);
        expect(download.suggestedFilename()).toBe(name);
      }
      await tab.close();
      await Bun.sleep(1000);
      for (const instance of [a!, b!]) expect((await historyTexts(instance)).filter((t) => t.startsWith("pwned"))).toEqual([]);
      expect(dialogs).toEqual([]);
    },
    TIMEOUT,
  );

  test(
    "without JavaScript the attach form is a plain multipart form: the file is sent and the room shows it",
    async () => {
      const { context: plain, dir: plainProfile } = await launch({ javaScriptEnabled: false });
      try {
        const page = plain.pages()[0] ?? (await plain.newPage());
        await page.goto(`${a!.http}/?${new URLSearchParams({ room: ROOM, peer_id: "nojs" })}`);
        await page.setInputFiles("#attach-file", { name: "plain.txt", mimeType: "text/plain", buffer: Buffer.from("sent without script") });
        const [res] = await Promise.all([page.waitForNavigation(), page.locator("#attach button[type=submit]").click()]);
        expect(res?.status()).toBe(200);
        expect(new URL(page.url()).searchParams.get("peer_id")).toBe("nojs");
        expect(await fileItems(page, "plain.txt").locator("a.file-name").count()).toBe(1);
      } finally {
        await plain.close();
        rmSync(plainProfile, { recursive: true, force: true });
      }
    },
    TIMEOUT,
  );

  test("no script errors on either page", () => {
    expect(errors).toEqual([]);
  });
});
