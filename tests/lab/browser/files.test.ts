// Files through the page in Chromium: files chosen, dropped or pasted wait in a preview until Send (Cancel sends
// nothing); an upload's progress with speed and time left, and its Cancel; a file over what the other instance fetches
// by itself shows "Fetch (67 MB)" there and comes on a click, with speed and time left, and can be cancelled; the
// owner's Files settings; the form and the Fetch button without JavaScript; images as thumbnails whose name opens a
// tab of its own (never the chat's); an HTML file and an SVG with script only ever download and run nothing; a file
// name with markup is text.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { createReadStream, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { CHROMIUM, hasChromium, launch, openRoom, type PageGlobal } from "../../helpers/browser.ts";
import { downloadHash, randomFile, upload } from "../../helpers/files.ts";
import { startInstance, tempDir, waitFor, type Instance } from "../../helpers/instance.ts";
import { waitForLink } from "../../helpers/mesh.ts";

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

/** Files put in the page's attach input wait in the preview: this sends them. */
async function sendPreview(page: Page, count: number) {
  const preview = page.locator("#attach-preview");
  await preview.waitFor({ state: "visible", timeout: 5000 });
  expect(await preview.locator(".preview-file").count()).toBe(count);
  await preview.locator(".preview-send").click();
  await preview.waitFor({ state: "hidden", timeout: 5000 });
}

/** Samples, every 5 ms, the text of the elements matching `selector` in the page, until `stop` is called. */
async function sampleTexts(page: Page, selector: string): Promise<() => Promise<string[]>> {
  await page.evaluate((sel) => {
    const g = globalThis as PageGlobal;
    g.texts = [];
    g.textSampler = setInterval(() => {
      for (const el of g.document.querySelectorAll(sel)) g.texts.push(el.textContent);
    }, 5);
  }, selector);
  return async () =>
    (await page.evaluate(() => {
      const g = globalThis as PageGlobal;
      clearInterval(g.textSampler);
      return g.texts;
    })) as string[];
}

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
    "attach: a preview until Send, a progress bar while it uploads; at beta, over 25 MB, a Fetch button; on its click it comes and downloads byte for byte",
    async () => {
      const source = await randomFile(dir, 64 * 1024 * 1024, "big.bin");
      await alpha.bringToFront();
      // The upload's progress as the page shows it, sampled as it goes.
      await alpha.evaluate(() => {
        const g = globalThis as PageGlobal;
        g.seen = [];
        g.sampler = setInterval(() => {
          const bar = g.document.querySelector("#uploads progress");
          if (bar) g.seen.push([bar.value / bar.max, g.document.querySelector("#uploads .upload-status")?.textContent ?? ""]);
        }, 5);
      });
      await alpha.setInputFiles("#attach-file", source.path);
      // Nothing is sent before Send: the preview names it, with its size.
      const preview = alpha.locator("#attach-preview");
      await preview.waitFor({ state: "visible", timeout: 5000 });
      expect(await preview.locator(".preview-name").textContent()).toBe("big.bin");
      expect(await preview.locator(".preview-size").textContent()).toBe("67 MB");
      await Bun.sleep(300);
      expect(await alpha.locator("#uploads li").count()).toBe(0);
      await sendPreview(alpha, 1);
      await fileItems(alpha, "big.bin").first().waitFor({ timeout: 30_000 });
      await waitFor(async () => (await alpha.locator("#uploads li").count()) === 0, 10_000, "the upload row to go");
      const seen = (await alpha.evaluate(() => {
        const g = globalThis as PageGlobal;
        clearInterval(g.sampler);
        return g.seen;
      })) as [number, string][];
      expect(seen.some(([f]) => f > 0 && f < 1)).toBe(true);
      console.log(`upload status seen: ${[...new Set(seen.map(([, text]) => text))].slice(-3).join(" | ")}`);

      // At beta it is over what is fetched by itself: a Fetch button with its size, and nothing comes.
      await beta.bringToFront();
      const atBeta = fileItems(beta, "big.bin");
      const fetchButton = atBeta.locator("button.fetch");
      await fetchButton.waitFor({ timeout: 30_000 });
      expect(await fetchButton.textContent()).toBe("Fetch (67 MB)");
      expect(await atBeta.locator(".file-size").textContent()).toBe("67 MB");
      const url = beta.url();
      await fetchButton.click();
      // The page stays; the file comes in, then its download link.
      await atBeta.locator("a.file-name").waitFor({ timeout: 30_000 });
      expect(beta.url()).toBe(url);
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
      const dropAndPaste = (suffix: string) =>
        alpha.evaluate((suffix) => {
          const g = globalThis as PageGlobal;
          const dropped = new g.DataTransfer();
          dropped.items.add(new g.File(["dropped on the room"], `dropped${suffix}.txt`, { type: "text/plain" }));
          g.document.querySelector("#messages").dispatchEvent(new g.DragEvent("drop", { dataTransfer: dropped, bubbles: true, cancelable: true }));
          const pasted = new g.DataTransfer();
          pasted.items.add(new g.File(["pasted into the box"], `pasted${suffix}.txt`, { type: "text/plain" }));
          g.document.querySelector("#send textarea").dispatchEvent(new g.ClipboardEvent("paste", { clipboardData: pasted, bubbles: true, cancelable: true }));
        }, suffix);
      // Cancelled in the preview (here with Esc): nothing is sent.
      const before = (await historyTexts(a!)).length;
      await dropAndPaste("-never");
      const preview = alpha.locator("#attach-preview");
      await preview.waitFor({ state: "visible", timeout: 5000 });
      expect(await preview.locator(".preview-name").allTextContents()).toEqual(["dropped-never.txt", "pasted-never.txt"]);
      // One taken out, then the rest cancelled.
      await preview.locator(".preview-remove").first().click();
      expect(await preview.locator(".preview-name").allTextContents()).toEqual(["pasted-never.txt"]);
      await preview.locator(".preview-send").focus();
      await alpha.keyboard.press("Escape");
      await preview.waitFor({ state: "hidden", timeout: 5000 });
      await Bun.sleep(500);
      expect((await historyTexts(a!)).length).toBe(before);
      expect(await fileItems(alpha, "-never").count()).toBe(0);
      // Sent from the preview.
      await dropAndPaste("");
      await sendPreview(alpha, 2);
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
    "an image: previewed before Send, a thumbnail on both pages; its name opens a tab of its own and the chat's tab stays",
    async () => {
      const path = join(dir, "dot.png");
      writeFileSync(path, PNG);
      await alpha.bringToFront();
      await alpha.setInputFiles("#attach-file", path);
      // The preview draws it (on a canvas: the page's policy loads no blob: image).
      const drawn = alpha.locator("#attach-preview canvas.preview-thumb");
      await drawn.waitFor({ timeout: 5000 });
      await waitFor(
        () => drawn.evaluate((canvas: PageGlobal) => canvas.getContext("2d").getImageData(0, 0, 48, 48).data.some((v: number, i: number) => i % 4 === 3 && v > 0)),
        5000,
        "the preview's thumbnail",
      );
      await sendPreview(alpha, 1);
      for (const page of [alpha, beta]) {
        const img = fileItems(page, "dot.png").locator("img");
        await img.waitFor({ timeout: 10_000 });
        await waitFor(() => img.evaluate((el: PageGlobal) => el.complete && el.naturalWidth === 1), 5000, "the thumbnail to load");
      }
      // Its name opens it in a tab of its own: the chat stays where it was.
      await beta.bringToFront();
      const chat = beta.url();
      const [tab] = await Promise.all([context!.waitForEvent("page"), fileItems(beta, "dot.png").locator("a.file-name").click()]);
      await tab.waitForLoadState();
      expect(tab.url()).toContain("/files/");
      expect(beta.url()).toBe(chat);
      expect(await beta.locator("#messages").count()).toBe(1);
      await tab.close();
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
      // The preview shows the markup name as text too.
      expect(await alpha.locator("#attach-preview .preview-name").allTextContents()).toEqual(["evil.html", "evil.svg", markupName]);
      expect(await alpha.locator("#attach-preview b, #attach-preview i").count()).toBe(0);
      await sendPreview(alpha, 3);
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

  test(
    "without JavaScript a file over the setting has a Fetch button that works as a form",
    async () => {
      const source = await randomFile(dir, 30_000_000, "plain-big.bin");
      await upload(a!, ROOM, source.path, { name: "plain-big.bin" });
      const { context: plain, dir: plainProfile } = await launch({ javaScriptEnabled: false });
      try {
        const page = plain.pages()[0] ?? (await plain.newPage());
        const url = `${b!.http}/?${new URLSearchParams({ room: ROOM })}`;
        await waitFor(async () => (await page.goto(url), (await fileItems(page, "plain-big.bin").count()) > 0), 10_000, "the file's message at beta");
        const button = fileItems(page, "plain-big.bin").locator("button.fetch");
        expect(await button.textContent()).toBe("Fetch (30 MB)");
        const [res] = await Promise.all([page.waitForNavigation(), button.click()]);
        expect(res?.status()).toBe(200);
        expect(new URL(page.url()).searchParams.get("room")).toBe(ROOM);
        // Coming or come: reloaded until its link is there.
        await waitFor(async () => (await page.goto(url), (await fileItems(page, "plain-big.bin").locator("a.file-name").count()) === 1), 30_000, "the file at beta");
      } finally {
        await plain.close();
        rmSync(plainProfile, { recursive: true, force: true });
      }
    },
    TIMEOUT,
  );

  test(
    "the owner's Files menu: fetch nothing by itself, then every file up to 25 MB again",
    async () => {
      await beta.bringToFront();
      const menu = beta.locator("details.file-settings");
      await menu.locator("summary").click();
      await menu.locator('select[name="auto_fetch"]').selectOption("none");
      await Promise.all([beta.waitForNavigation(), menu.locator('button[type="submit"]').click()]);
      expect(await (await fetch(`${b!.http}/files/settings`)).json()).toMatchObject({ auto_fetch: "none", auto_fetch_bytes: 25_000_000 });
      await alpha.bringToFront();
      await alpha.setInputFiles("#attach-file", { name: "tiny.txt", mimeType: "text/plain", buffer: Buffer.from("tiny") });
      await sendPreview(alpha, 1);
      await beta.bringToFront();
      await fileItems(beta, "tiny.txt").locator("button.fetch", { hasText: "Fetch (4 B)" }).waitFor({ timeout: 10_000 });
      // Back as it was; the menu shows what is set.
      const again = beta.locator("details.file-settings");
      await again.locator("summary").click();
      expect(await again.locator('select[name="auto_fetch"]').inputValue()).toBe("none");
      expect(await again.locator('input[name="auto_fetch_mb"]').inputValue()).toBe("25");
      await again.locator('select[name="auto_fetch"]').selectOption("all");
      await Promise.all([beta.waitForNavigation(), again.locator('button[type="submit"]').click()]);
      await fileItems(beta, "tiny.txt").locator("a.file-name").waitFor({ timeout: 10_000 });
    },
    TIMEOUT,
  );

  test("no script errors on either page", () => {
    expect(errors).toEqual([]);
  });
});

describe.skipIf(!hasChromium)("a file coming in, on the page in Chromium", () => {
  test(
    "an upload and a fetch show their speed and time left; a Cancel stops the fetch, and Fetch again brings it whole",
    async () => {
      const dir = tempDir("e-goat-browser-fetch-");
      // The HTTP tier, so 200 MB take a few seconds to come.
      await using a = await startInstance({ args: ["--name", "alpha", "--room", ROOM, "--transports", "http"] });
      await using b = await startInstance({ args: ["--name", "beta", "--room", ROOM, "--transports", "http", "--peer", a.http] });
      await waitForLink(b, a);
      const { context, dir: profile } = await launch({ viewport: { width: 1280, height: 800 } });
      try {
        const source = await randomFile(dir, 200_000_000, "huge.bin");
        // Sent from alpha's page: its upload row tells the speed and the time left.
        const sender = context.pages()[0] ?? (await context.newPage());
        await openRoom(sender, a.http, ROOM, "ann");
        const sent = await sampleTexts(sender, "#uploads .upload-status");
        await sender.setInputFiles("#attach-file", source.path);
        await sendPreview(sender, 1);
        await fileItems(sender, "huge.bin").first().waitFor({ timeout: 60_000 });
        const statuses = await sent();
        console.log(`upload seen: ${[...new Set(statuses)].slice(-3).join(" | ")}`);
        expect(statuses.some((w) => /^\d+% · [\d.]+ [KMG]?B\/s · \d+ (s|min)( \d+ min)? left$/.test(w))).toBe(true);
        const page = await context.newPage();
        await openRoom(page, b.http, ROOM, "ben");
        const item = fileItems(page, "huge.bin");
        await item.locator("button.fetch").waitFor({ timeout: 10_000 });
        const stop = await sampleTexts(page, "#messages .file .file-speed");
        await item.locator("button.fetch").click();
        // Coming in: its progress, speed and time left, and a Cancel.
        await waitFor(async () => (await page.locator("#messages .file .file-speed", { hasText: "/s" }).count()) > 0, 30_000, "the speed shown");
        const cancel = item.locator("button.cancel");
        await cancel.waitFor({ timeout: 5000 });
        const words = await stop();
        console.log(`progress seen: ${[...new Set(words)].slice(0, 4).join(" | ")}`);
        expect(words.some((w) => /^\d+% here · [\d.]+ [KMG]?B\/s · \d+ (s|min)( \d+ min)? left$/.test(w))).toBe(true);
        await cancel.click();
        // Stopped: offered again, and nothing of it is whole at beta.
        await item.locator("button.fetch", { hasText: "Fetch (200 MB)" }).waitFor({ timeout: 10_000 });
        expect((await fetch(`${b.http}/files/${(await item.getAttribute("data-file"))!}`)).status).toBe(404);
        await item.locator("button.fetch").click();
        await item.locator("a.file-name").waitFor({ timeout: 60_000 });
        expect(await downloadHash(b, (await item.getAttribute("data-file"))!)).toBe(source.sha256);
      } finally {
        await context.close();
        for (const d of [dir, profile]) rmSync(d, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
