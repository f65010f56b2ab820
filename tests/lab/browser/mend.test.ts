// What a new user met in the page (issue 22), in Chromium against real instances: a pasted text over the limit, alerts
// on a page that may not notify, the opened search hit and the room's menus, an invite refused, the landing page's
// checkbox, the room in view never badged, a draft typed just before a reload, and a notification that opens its room.
import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import type { Page } from "playwright-core";
import { expectAccessible } from "../../helpers/axe.ts";
import { browserSuite, CHROMIUM_ARGS, hasChromium, launch, openRoom, type PageGlobal } from "../../helpers/browser.ts";
import { startInstance, waitFor, type Instance } from "../../helpers/instance.ts";

if (!hasChromium) console.log("page tests skipped: /usr/bin/chromium is missing (apt-get install -y chromium)");

const TIMEOUT = 60_000;
const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const NARROW = { viewport: { width: 320, height: 640 }, isMobile: true, hasTouch: true };
const LIMIT = 16_384;

async function send(instance: Instance, room: string, peer_id: string, text: string) {
  const res = await fetch(`${instance.http}/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room, peer_id, text }) });
  expect(res.status).toBe(200);
  return (await res.json()) as { id: string; timestamp: number };
}
const history = async (instance: Instance, room: string) => (await (await fetch(`${instance.http}/history?room=${room}`)).json()) as { text: string; peer_id: string }[];
const texts = (p: Page) => p.locator("#messages li.msg .text").allTextContents();

describe.skipIf(!hasChromium)("what a new user met in the page", () => {
  const { context, page, own, keep } = browserSuite(DESKTOP, TIMEOUT);
  const alice = async (...rooms: string[]) => own(await startInstance({ args: ["--name", "alice", ...rooms.flatMap((r) => ["--room", r])] }));
  /** Bob's instance in `rooms`, linked to `to` (and its page's members panel says so). */
  const bobLinkedTo = async (to: Instance, ...rooms: string[]) => {
    const b = own(await startInstance({ args: ["--name", "bob", ...rooms.flatMap((r) => ["--room", r]), "--peer", to.http] }));
    await waitFor(async () => ((await (await fetch(`${to.http}/peers`)).json()) as { state: string }[]).some((p) => p.state === "connected"), 15_000, "the two to link");
    return b;
  };

  test(
    "a pasted 20,000-character text is kept whole; the counter says it is 3,616 over, and 'Send the first part' sends up to a word boundary and keeps the rest",
    async () => {
      const a = await alice("paste");
      const p = await page();
      await openRoom(p, a.http, "paste", "alice");
      // Words of 9 characters and a space: 2,000 of them make 20,000 characters.
      const words = Array.from({ length: 2000 }, (_, i) => `word${String(i).padStart(5, "0")}`);
      const pasted = words.join(" ") + " ";
      expect(pasted.length).toBe(20_000);
      await p.locator("#send textarea").focus();
      await p.keyboard.insertText(pasted);
      expect((await p.locator("#send textarea").inputValue()).length).toBe(20_000);
      expect(await p.locator("#send-count").textContent()).toContain("3,616 characters over the limit: send it as two messages?");
      expect(await p.locator("#send-count").evaluate((el: any) => el.classList.contains("full"))).toBe(true);
      // Enter does not send it whole, and says why, keeping the text.
      await p.locator("#send textarea").press("Enter");
      expect(await p.locator("#send-error").textContent()).toBe("A message may have 16,384 characters; this one has 20,000.");
      expect((await p.locator("#send textarea").inputValue()).length).toBe(20_000);
      await p.locator("#send-count button", { hasText: "Send the first part" }).click();
      await waitFor(async () => (await history(a, "paste")).length === 1, 10_000, "the first part stored");
      const [first] = (await history(a, "paste")).map((m) => m.text);
      const rest = await p.locator("#send textarea").inputValue();
      expect(first!.length).toBeLessThanOrEqual(LIMIT);
      expect(first!.length).toBeGreaterThan(LIMIT - 10);
      // Cut between words, and nothing lost: the first part, a space, the rest.
      expect(first!.endsWith(words[Math.floor(first!.length / 10)]!)).toBe(true);
      expect(`${first} ${rest}`).toBe(pasted);
      expect(await p.locator("#send-count").textContent()).toBe("");
      await p.locator("#send textarea").press("Enter");
      await waitFor(async () => (await history(a, "paste")).length === 2, 10_000, "the rest stored");
      expect((await history(a, "paste")).map((m) => m.text).join(" ")).toBe(pasted);
      // A text with no space to cut at (a long link, base64) is cut at the limit.
      await p.locator("#send textarea").focus();
      await p.keyboard.insertText("x".repeat(LIMIT + 5));
      await p.locator("#send-count button", { hasText: "Send the first part" }).click();
      await waitFor(async () => (await history(a, "paste")).length === 3, 10_000, "the third");
      expect((await history(a, "paste")).at(-1)!.text).toBe("x".repeat(LIMIT));
      expect(await p.locator("#send textarea").inputValue()).toBe("xxxxx");
      await expectAccessible(p, "a room with a text over the limit");
    },
    TIMEOUT,
  );

  test(
    "on a page that is not a secure context (http on a LAN name) the notifications box is not offered, and says why; sound still is",
    async () => {
      const a = own(await startInstance({ args: ["--name", "alice", "--room", "lan", "--public-host", "lan-box.test"] }));
      const port = new URL(a.http).port;
      // The instance as a LAN name reaches it: not https, not localhost, so the browser gives no notifications.
      const lan = await launch({ ...DESKTOP, args: [...CHROMIUM_ARGS, "--host-resolver-rules=MAP lan-box.test 127.0.0.1"] });
      keep(lan.context);
      try {
        const p = await lan.context.newPage();
        await openRoom(p, `http://lan-box.test:${port}`, "lan", "alice");
        expect(await p.evaluate(() => (globalThis as PageGlobal).isSecureContext)).toBe(false);
        await p.locator("details.alerts summary").click();
        const box = p.locator('[data-setting="notify"]');
        expect(await box.isDisabled()).toBe(true);
        expect(await p.locator(".alerts-body").textContent()).toContain("https or localhost");
        // The reason is tied to the box for screen readers.
        const why = await box.getAttribute("aria-describedby");
        expect(why).toBeTruthy();
        expect(await p.locator(`#${why}`).textContent()).toContain("https or localhost");
        expect(await p.locator('[data-setting="sound"]').isDisabled()).toBe(false);
        await expectAccessible(p, "alerts on a LAN name");
      } finally {
        await lan.context.close();
        rmSync(lan.dir, { recursive: true, force: true });
      }
      // On localhost the same box is offered.
      const q = await page();
      await openRoom(q, a.http, "lan", "alice");
      await q.locator("details.alerts summary").click();
      expect(await q.locator('[data-setting="notify"]').isDisabled()).toBe(false);
    },
    TIMEOUT,
  );

  test(
    "a search hit opens among its neighbours, older and newer, highlighted and scrolled into view",
    async () => {
      const a = await alice("found");
      for (let i = 0; i < 120; i++) await send(a, "found", "bob", i === 60 ? "the needle is here" : `line ${i}`);
      for (const javaScriptEnabled of [true, false]) {
        const p = await page({ ...DESKTOP, javaScriptEnabled });
        await p.goto(`${a.http}/rooms/found/search?q=needle&peer_id=alice`);
        expect(await p.locator("ol.hits mark").allTextContents()).toEqual(["needle"]);
        await p.locator("ol.hits li a").first().click();
        await p.waitForURL(/#m-\d+$/);
        const shown = await texts(p);
        const at = shown.indexOf("the needle is here");
        expect({ javaScriptEnabled, older: at >= 5, newer: shown.length - at - 1 >= 5 }).toEqual({ javaScriptEnabled, older: true, newer: true });
        await waitFor(
          () =>
            p.evaluate(() => {
              const d = (globalThis as PageGlobal).document;
              const box = d.querySelector(".scroller").getBoundingClientRect();
              const hit = d.querySelector("#messages li.msg:target")?.getBoundingClientRect();
              return hit && hit.top >= box.top - 1 && hit.bottom <= box.bottom + 1;
            }),
          5000,
          "the hit in view",
        );
        const look = await p.evaluate(() => {
          const w = globalThis as PageGlobal;
          const hit = w.document.querySelector("#messages li.msg:target");
          const other = hit.previousElementSibling.matches(".msg") ? hit.previousElementSibling : hit.nextElementSibling;
          return { hit: w.getComputedStyle(hit).backgroundColor, other: w.getComputedStyle(other).backgroundColor };
        });
        expect(look.hit).not.toBe(look.other);
        // (axe runs as a script: not in a page that has none.)
        if (javaScriptEnabled) await expectAccessible(p, "an opened hit");
      }
    },
    TIMEOUT,
  );

  test(
    "the room's menus (Search, Alerts, Leave): one open at a time, closed by Esc (focus back on its button) and by a click outside; exclusive without the script too",
    async () => {
      const a = await alice("menus");
      await send(a, "menus", "bob", "hello");
      for (const options of [DESKTOP, PHONE]) {
        const p = await page(options);
        await openRoom(p, a.http, "menus", "alice");
        const open = () => p.locator(".room-tools details[open] > summary").allTextContents();
        await p.locator("details.find summary").click();
        expect(await open()).toEqual(["Search"]);
        // Opening a menu puts the keyboard in it.
        expect(await p.evaluate(() => (globalThis as PageGlobal).document.activeElement?.name)).toBe("q");
        await p.locator("details.alerts summary").click();
        expect(await open()).toEqual(["Alerts"]);
        await p.keyboard.press("Escape");
        expect(await open()).toEqual([]);
        expect(await p.evaluate(() => (globalThis as PageGlobal).document.activeElement?.textContent)).toBe("Alerts");
        // By keyboard alone: Enter opens the focused menu, Esc from inside it closes it.
        await p.locator("details.leave summary").focus();
        await p.keyboard.press("Enter");
        expect(await open()).toEqual(["Leave"]);
        await p.keyboard.press("Tab");
        await p.keyboard.press("Escape");
        expect(await open()).toEqual([]);
        expect(await p.evaluate(() => (globalThis as PageGlobal).document.activeElement?.textContent)).toBe("Leave");
        await p.locator("details.leave summary").click();
        await expectAccessible(p, `a menu open, ${options === PHONE ? "phone" : "desktop"}`);
        // A click elsewhere on the page closes it, and does nothing else.
        await p.locator("#room-name").click();
        expect(await open()).toEqual([]);
        expect(p.url()).toContain("room=menus");
      }
      const n = await page({ ...DESKTOP, javaScriptEnabled: false });
      await n.goto(`${a.http}/?room=menus&peer_id=alice`);
      await n.locator("details.find summary").click();
      await n.locator("details.leave summary").click();
      expect(await n.locator(".room-tools details[open] > summary").allTextContents()).toEqual(["Leave"]);
    },
    TIMEOUT,
  );

  test(
    "an invite link refused keeps what was pasted in the form, with and without the script",
    async () => {
      const a = await alice();
      const pasted = "http://192.0.2.7:8080/?room=trip&key=not-a-key&node=00112233445566778899aabbccddeeff";
      for (const javaScriptEnabled of [true, false]) {
        const p = await page({ ...DESKTOP, javaScriptEnabled });
        await p.goto(`${a.http}/`);
        await p.locator('input[name="invite"]').fill(pasted);
        await p.locator('form[action="/invite"] button[type=submit]').click();
        await p.waitForURL(`${a.http}/invite`);
        expect(await p.locator("p.error").count()).toBeGreaterThan(0);
        expect({ javaScriptEnabled, kept: await p.locator('input[name="invite"]').inputValue() }).toEqual({ javaScriptEnabled, kept: pasted });
      }
    },
    TIMEOUT,
  );

  test(
    "the landing page's 'Open room' box sits before its words on one line, at 320 px, 390 px and desktop, light and dark",
    async () => {
      const a = await alice();
      for (const [label, options] of [["320 px", NARROW], ["390 px", PHONE], ["desktop", DESKTOP]] as const) {
        for (const colorScheme of ["light", "dark"] as const) {
          const p = await page({ ...options, colorScheme });
          await p.goto(`${a.http}/`);
          const box = await p.locator('form[action="/create"] label.check').evaluate((label: any) => {
            const d = (globalThis as PageGlobal).document;
            const input = label.querySelector("input").getBoundingClientRect();
            const range = d.createRange();
            const words = [...label.childNodes].find((n: any) => n.nodeType === 3 && n.textContent.trim() !== "");
            range.selectNodeContents(words);
            const line = range.getClientRects()[0];
            const form = label.closest("form").getBoundingClientRect();
            return {
              boxWidth: Math.round(input.width),
              boxAtStart: Math.abs(input.left - form.left) <= 2,
              wordsRightAfter: line.left - input.right >= 0 && line.left - input.right <= 16,
              sameLine: input.top + input.height / 2 >= line.top && input.top + input.height / 2 <= line.bottom,
              inside: label.getBoundingClientRect().right <= form.right + 1,
            };
          });
          expect({ label, colorScheme, ...box, boxWidth: box.boxWidth <= 24 }).toEqual({ label, colorScheme, boxWidth: true, boxAtStart: true, wordsRightAfter: true, sameLine: true, inside: true });
          await p.context().close();
        }
      }
    },
    TIMEOUT,
  );

  test(
    "a message arriving in the room in view never shows a badge on it, while one in another room does",
    async () => {
      const a = await alice("here", "there");
      const b = await bobLinkedTo(a, "here", "there");
      const p = await page();
      await openRoom(p, a.http, "here", "alice");
      // Every badge ever drawn on the room in view is recorded, however briefly.
      await p.evaluate(() => {
        const w = globalThis as PageGlobal;
        w.__badges = 0;
        new w.MutationObserver(() => {
          if (w.document.querySelector('#room-list li[data-room="here"] .badge')) w.__badges += 1;
        }).observe(w.document.body, { childList: true, subtree: true });
      });
      for (let i = 0; i < 3; i++) {
        await send(b, "here", "bob", `in view ${i}`);
        await waitFor(async () => (await texts(p)).includes(`in view ${i}`), 15_000, `message ${i} shown`);
        // Past the read mark's round trip and the list it brings.
        await Bun.sleep(800);
      }
      await send(b, "there", "bob", "elsewhere");
      await waitFor(() => p.locator('#room-list li[data-room="there"] .badge').isVisible(), 15_000, "the badge on the other room");
      expect(await p.evaluate(() => (globalThis as PageGlobal).__badges)).toBe(0);
    },
    TIMEOUT,
  );

  test(
    "a draft typed just before a reload is kept",
    async () => {
      const a = await alice("draft");
      const p = await page();
      await openRoom(p, a.http, "draft", "alice");
      await p.locator("#send textarea").pressSequentially("typed at once");
      await p.reload();
      await p.waitForFunction(() => (globalThis as PageGlobal).htmx !== undefined);
      expect(await p.locator("#send textarea").inputValue()).toBe("typed at once");
      // Emptied, it stays empty after the next reload.
      await p.locator("#send textarea").fill("");
      await p.reload();
      await p.waitForFunction(() => (globalThis as PageGlobal).htmx !== undefined);
      expect(await p.locator("#send textarea").inputValue()).toBe("");
    },
    TIMEOUT,
  );

  test(
    "clicking a notification brings the tab forward and opens its room",
    async () => {
      const a = await alice("here", "there");
      const c = await context(DESKTOP);
      await c.grantPermissions(["notifications"], { origin: a.http });
      // The page's notifications are kept for the test to click (a headless browser shows none).
      await c.addInitScript(() => {
        const w = globalThis as PageGlobal;
        w.__notes = [];
        const Real = w.Notification;
        w.Notification = class extends Real {
          constructor(title: string, options: object) {
            super(title, options);
            w.__notes.push(this);
          }
        };
      });
      const p = await c.newPage();
      await openRoom(p, a.http, "here", "alice");
      await p.locator("details.alerts summary").click();
      await p.locator('[data-setting="notify"]').check();
      const b = await bobLinkedTo(a, "there");
      await send(b, "there", "bob", "come and see");
      await waitFor(() => p.evaluate(() => (globalThis as PageGlobal).__notes.length > 0), 15_000, "a notification");
      await p.evaluate(() => (globalThis as PageGlobal).__notes[0].dispatchEvent(new Event("click")));
      await p.waitForURL(/room=there/);
      expect(await p.locator("h1.room-name").textContent()).toBe("#there");
      await waitFor(async () => (await texts(p)).includes("come and see"), 5000, "the message in view");
    },
    TIMEOUT,
  );
});
