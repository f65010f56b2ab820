// Issue 24 in Chromium, against real instances (a mailbox M started with --mailbox, and its members): how far an own
// message got, moved on live and drawn again on reload (sent ✓, in a mailbox ✓✉, delivered ✓✓); the owner's
// "Mailboxes" part of the members panel and its form; the mailbox's own page from its owner's top bar; axe-core on both.
import { describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { expectAccessible } from "../../helpers/axe.ts";
import { browserSuite, hasChromium, openRoom, type PageGlobal } from "../../helpers/browser.ts";
import { startInstance, waitFor, type Instance } from "../../helpers/instance.ts";
import { deadTcpPort } from "../../helpers/ports.ts";

if (!hasChromium) console.log("mailbox page tests skipped: /usr/bin/chromium is missing (apt-get install -y chromium)");

const TIMEOUT = 90_000;
const WS = ["--transports", "websocket"];
const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const NARROW = { viewport: { width: 320, height: 640 }, isMobile: true, hasTouch: true };

async function send(instance: Instance, room: string, peer_id: string, text: string) {
  const res = await fetch(`${instance.http}/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room, peer_id, text }) });
  expect(res.status).toBe(200);
}
const history = async (instance: Instance, room: string) => ((await (await fetch(`${instance.http}/history?room=${room}`)).json()) as { text: string }[]).map((m) => m.text);
/** What the mailbox holds, as its owner's script reads it. */
const held = async (mailbox: Instance) => (await (await fetch(`${mailbox.http}/mailbox`)).json()) as { topics: number; items: number };

/** The states an own message's mark shows, in order. */
const STATES = ["sending", "sent", "boxed", "delivered"];
/** The page's own messages with their marks: text → "sending" | "sent" | "boxed" | "delivered" | "failed". */
const marks = (page: Page) =>
  page.locator("#messages li.msg.own").evaluateAll(
    (items: any[], states: string[]) =>
      items.map((li) => [li.querySelector(".text")?.textContent, li.classList.contains("failed") ? "failed" : (states.find((state) => li.querySelector(".mark")?.classList.contains(state)) ?? "none")]),
    STATES,
  ) as Promise<[string, string][]>;
/** How a mark reads: its sign (hidden from screen readers), the words read instead, and its tooltip. */
const markWords = (page: Page, text: string) =>
  page.evaluate((text: string) => {
    const li = [...(globalThis as PageGlobal).document.querySelectorAll("#messages li.msg.own:not(.pending)")].find((li: any) => li.querySelector(".text")?.textContent === text);
    const mark = li?.querySelector(".mark");
    return {
      sign: mark?.querySelector('[aria-hidden="true"]')?.textContent,
      words: mark?.querySelector(".visually-hidden")?.textContent,
      title: mark?.title,
    };
  }, text);
/**
 * Records in the page every mark each own message shows, in turn (text → ["sent", "boxed", …]), and every
 * `delivered` event of the room's stream: what the page showed without a reload.
 */
const watchMarks = (page: Page) =>
  page.evaluate((states: string[]) => {
    const w = globalThis as PageGlobal;
    w.__marks = {} as Record<string, string[]>;
    w.__delivered = [] as unknown[];
    const look = () => {
      // The instance's copy of each message (the page's own copy while it is sent, li.pending, goes once it is there).
      for (const li of w.document.querySelectorAll("#messages li.msg.own:not(.pending)")) {
        const text = li.querySelector(".text")?.textContent;
        const mark = li.classList.contains("failed") ? "failed" : (states.find((state: string) => li.querySelector(".mark")?.classList.contains(state)) ?? "none");
        const seen = (w.__marks[text] ??= []);
        if (seen.at(-1) !== mark) seen.push(mark);
      }
    };
    look();
    new w.MutationObserver(look).observe(w.document.getElementById("messages"), { subtree: true, childList: true, attributes: true, characterData: true });
    w.document.addEventListener("delivered", (event: any) => w.__delivered.push(JSON.parse(event.detail.data)), true);
  }, STATES);
const seenMarks = (page: Page) => page.evaluate(() => (globalThis as PageGlobal).__marks) as Promise<Record<string, string[]>>;
const deliveredEvents = (page: Page) => page.evaluate(() => (globalThis as PageGlobal).__delivered) as Promise<{ seq: number; members: number; boxed: number }[]>;

async function typeAndSend(page: Page, text: string) {
  await page.locator("#send textarea").fill(text);
  await page.locator("#send textarea").press("Enter");
}
/** The mailboxes the members panel lists: URL → what it says of each. */
const mailboxStates = (page: Page) =>
  page.evaluate(() =>
    Object.fromEntries(
      [...(globalThis as PageGlobal).document.querySelectorAll("#members .mailbox-list li.mailbox")].map((li: any) => [li.dataset.url, li.querySelector(".mailbox-state")?.textContent]),
    ),
  ) as Promise<Record<string, string>>;

/**
 * The elements of `selector` that stick out of the viewport sideways, or whose content is wider than they are but for a
 * box that scrolls: the page clips what does (html and body), so a card too wide for a phone is cut off, never seen.
 */
const tooWide = (p: Page, selector: string) =>
  p.evaluate((selector: string) => {
    const w = globalThis as PageGlobal;
    return [...w.document.querySelectorAll(selector)]
      .filter((el: any) => {
        const r = el.getBoundingClientRect();
        const scrolls = ["auto", "scroll"].includes(w.getComputedStyle(el).overflowX);
        return el.checkVisibility() && (r.right > w.innerWidth + 1 || r.left < -1 || (el.scrollWidth > el.clientWidth + 1 && !scrolls));
      })
      .map((el: any) => `${el.tagName.toLowerCase()}${el.classList.length > 0 ? `.${[...el.classList].join(".")}` : ""}`);
  }, selector);

describe.skipIf(!hasChromium)("mailboxes in the page", () => {
  const { context, page, own } = browserSuite(DESKTOP, TIMEOUT);

  const startMailbox = async () => own(await startInstance({ args: [...WS, "--mailbox", "--name", "mailbox"] }));
  /** A mailbox M, and alice using it (`--rendezvous`, with `rendezvous` more) in `room`, where M holds her message `text`. */
  async function keptIn(room: string, text: string, rendezvous: string[] = []) {
    const m = await startMailbox();
    const a = own(await startInstance({ args: [...WS, "--name", "alice", "--room", room, "--rendezvous", m.http, ...rendezvous.flatMap((url) => ["--rendezvous", url])] }));
    await send(a, room, "alice", text);
    await waitFor(async () => (await held(m)).items >= 1, 15_000, "the mailbox to hold alice's message");
    return { m, a };
  }

  test(
    "marks: sent (✓), then in a mailbox (✓✉) without a reload while no member is linked, then delivered (✓✓) once bob holds it; the same on reload, in words too",
    async () => {
      const m = await startMailbox();
      const a = own(await startInstance({ args: [...WS, "--name", "alice", "--room", "boxes", "--rendezvous", m.http] }));
      const p = await page();
      await openRoom(p, a.http, "boxes", "alice");
      await watchMarks(p);

      await typeAndSend(p, "while nobody is here");
      const sentAt = Date.now();
      await waitFor(async () => (await marks(p)).some(([t, mark]) => t === "while nobody is here" && mark === "boxed"), 15_000, "the mark to say 'in a mailbox'");
      const boxedMs = Date.now() - sentAt;
      // The page showed it sent (stored here) first, and never delivered: no member holds it.
      const seen = (await seenMarks(p))["while nobody is here"]!;
      expect(seen).toEqual(["sent", "boxed"]);
      expect(await markWords(p, "while nobody is here")).toEqual({
        sign: "✓✉",
        words: "in a mailbox",
        title: "In a mailbox: members that come online get it from there, even while this instance is away",
      });
      // The stream said so: no member linked, and the mailbox holds the first message.
      expect((await deliveredEvents(p)).at(-1)).toEqual({ seq: 0, members: 0, boxed: 1 });
      expect((await held(m)).items).toBeGreaterThanOrEqual(1);
      // The mailbox is no member: the mark stays "in a mailbox", and a full render of the page says the same.
      await Bun.sleep(1500);
      expect(await marks(p)).toEqual([["while nobody is here", "boxed"]]);
      await openRoom(p, a.http, "boxes", "alice");
      expect(await marks(p)).toEqual([["while nobody is here", "boxed"]]);
      expect((await markWords(p, "while nobody is here")).words).toBe("in a mailbox");
      await watchMarks(p);

      // Bob links: the message is delivered once he holds it, on the open page.
      const b = own(await startInstance({ args: [...WS, "--name", "bob", "--room", "boxes", "--peer", a.http] }));
      await waitFor(async () => (await marks(p)).every(([, mark]) => mark === "delivered"), 20_000, "the message delivered to bob");
      expect(await history(b, "boxes")).toEqual(["while nobody is here"]);
      expect(await markWords(p, "while nobody is here")).toEqual({ sign: "✓✓", words: "delivered", title: "Delivered: every linked member instance holds it" });
      expect((await seenMarks(p))["while nobody is here"]).toEqual(["boxed", "delivered"]);

      // Sent while bob is linked: it ends delivered (in a mailbox on the way, or not), and never goes back.
      await typeAndSend(p, "while bob is here");
      await waitFor(async () => (await marks(p)).length === 2 && (await marks(p)).every(([, mark]) => mark === "delivered"), 20_000, "the second delivered");
      expect(await history(b, "boxes")).toEqual(["while nobody is here", "while bob is here"]);
      const second = (await seenMarks(p))["while bob is here"]!;
      expect(second.at(-1)).toBe("delivered");
      expect(["sent", "boxed", "delivered"].filter((mark) => second.includes(mark))).toEqual(second); // only onward
      await waitFor(async () => (await held(m)).items >= 2, 15_000, "the mailbox holds both");

      // Drawn again by the server, both read as delivered.
      await openRoom(p, a.http, "boxes", "alice");
      expect(await marks(p)).toEqual([
        ["while nobody is here", "delivered"],
        ["while bob is here", "delivered"],
      ]);
      expect((await markWords(p, "while bob is here")).words).toBe("delivered");
      console.log(`the mark said 'in a mailbox' ${boxedMs} ms after Enter`);
    },
    TIMEOUT,
  );

  test(
    "the panel: 'Keep this room in a mailbox' posted from the page lists the mailbox, then as answering once it does, without a reload; a bad address is refused, by the browser or the instance",
    async () => {
      // M's address is known before M runs: the panel first says it is not reached, then, live, that it answers.
      const ports = { http: deadTcpPort(), ws: deadTcpPort() };
      const at = `http://127.0.0.1:${ports.http}`;
      const a = own(await startInstance({ args: [...WS, "--name", "alice", "--room", "kept"] }));
      const c = await context();
      // Every members panel the room's stream sends, as the page gets it.
      await c.addInitScript(() => {
        const w = globalThis as PageGlobal;
        w.__panels = 0;
        w.document.addEventListener("members", () => w.__panels++, true);
      });
      const p = await c.newPage();
      await openRoom(p, a.http, "kept", "alice");
      expect(await p.locator("#members .mailboxes h3").textContent()).toBe("Mailboxes");
      expect(await p.locator("#members .mailboxes > p.hint").textContent()).toBe("None: messages move only while a member who has them is online.");
      const summary = p.locator("#members details.keep-in-mailbox summary");
      const input = p.locator('#members form.mailbox-form input[name="url"]');
      const keep = p.locator("#members form.mailbox-form button[type=submit]");
      await summary.click();
      expect(await input.isVisible()).toBe(true);

      // Not a URL at all: the browser keeps the form, saying why.
      await input.fill("home server");
      await keep.click();
      expect(await input.evaluate((el: any) => ({ typeMismatch: el.validity.typeMismatch, message: el.validationMessage !== "" }))).toEqual({ typeMismatch: true, message: true });
      expect(new URL(p.url()).pathname).toBe("/");
      // A URL the browser lets through but the instance refuses: 400, saying what a mailbox's address is.
      const refused = await p.evaluate(async () => {
        const r = await fetch("/rooms/kept/mailboxes", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ url: "ftp://x" }), redirect: "manual" });
        return [r.status, ((await r.json()) as { error: string }).error];
      });
      expect(refused).toEqual([400, "A mailbox's address is an http:// or https:// URL, such as http://home.example:8080."]);
      expect(await mailboxStates(p)).toEqual({});

      // M's address (with a path, which the instance drops): posted, 303 back to the room's members.
      await input.fill(`${at}/some/path`);
      const [drawn] = await Promise.all([p.waitForResponse((r) => r.url() === `${a.http}/?room=kept` && r.request().method() === "GET"), keep.click()]);
      await p.waitForURL(/\/\?room=kept#members$/);
      // The page drawn after the post lists it, not reached yet.
      expect((await drawn.text()).match(/<li class="mailbox [a-z]+" data-url="([^"]+)">.*?<span class="mailbox-state">([^<]+)</)?.slice(1)).toEqual([at, "not reached yet"]);
      // The panel the stream sends on opening still lists it (not one drawn before the form was posted).
      await waitFor(() => p.evaluate(() => (globalThis as PageGlobal).__panels > 0), 10_000, "the stream's first members panel");
      expect(await mailboxStates(p)).toEqual({ [at]: "not reached yet" });
      expect(await p.locator("#members .mailboxes > p.hint").count()).toBe(0);
      // M starts: the page, not reloaded, is told when it answers (the members panel comes again over the stream).
      await p.evaluate(() => ((globalThis as PageGlobal).__notReloaded = true));
      const m = own(await startInstance({ args: [...WS, "--mailbox", "--name", "mailbox", "--http-port", String(ports.http), "--ws-port", String(ports.ws)] }));
      const started = Date.now();
      await waitFor(async () => (await mailboxStates(p))[at] === "answers, and keeps this room", 30_000, "the panel to show the mailbox answering");
      console.log(`the open panel said M answers ${Date.now() - started} ms after M's ready line`);
      expect(await p.evaluate(() => (globalThis as PageGlobal).__notReloaded)).toBe(true);
      expect(await p.locator(`#members li.mailbox.answers[data-url="${at}"] .mailbox-url`).textContent()).toBe(at);
      // An own message is held by M from then on.
      await typeAndSend(p, "kept in the mailbox");
      await waitFor(async () => (await marks(p)).some(([t, mark]) => t === "kept in the mailbox" && mark === "boxed"), 15_000, "the mark to say 'in a mailbox'");
      expect((await held(m)).items).toBeGreaterThanOrEqual(1);

      // A rendezvous that keeps no mailbox is listed as such.
      const plain = own(await startInstance({ args: [...WS, "--name", "plain"] }));
      await summary.click();
      await input.fill(plain.http);
      await Promise.all([p.waitForURL(/\/\?room=kept#members$/), keep.click()]);
      await waitFor(async () => (await mailboxStates(p))[plain.http] === "a rendezvous only: it keeps no mailbox", 20_000, "the panel to say the plain instance keeps no mailbox");
      expect((await mailboxStates(p))[at]).toBe("answers, and keeps this room");
    },
    TIMEOUT,
  );

  test(
    "the panel: what the owner opened and typed in 'Keep this room in a mailbox' stays when the members panel comes again",
    async () => {
      const a = own(await startInstance({ args: [...WS, "--name", "alice", "--room", "typing"] }));
      const p = await page();
      await openRoom(p, a.http, "typing", "alice");
      await p.locator("#members details.keep-in-mailbox summary").click();
      await p.locator('#members form.mailbox-form input[name="url"]').fill("http://home.exam");
      // Bob comes: the panel is sent again, with him in it.
      own(await startInstance({ args: [...WS, "--name", "bob", "--room", "typing", "--peer", a.http] }));
      await waitFor(async () => (await p.locator("#members .presence-online .member-name").allTextContents()).includes("bob"), 20_000, "bob in the panel");
      expect({
        open: await p.locator("#members details.keep-in-mailbox").evaluate((d: any) => d.open),
        typed: await p.locator('#members form.mailbox-form input[name="url"]').inputValue(),
      }).toEqual({ open: true, typed: "http://home.exam" });
    },
    TIMEOUT,
  );

  test(
    "the mailbox's page: its owner follows 'Mailbox' in the top bar and sees what it holds, as a topic with no room name, its oldest item's age",
    async () => {
      const { m, a } = await keptIn("secret-garden", "roses under the window");
      for (const [label, options] of [["desktop", DESKTOP], ["phone", PHONE]] as const) {
        const p = await page(options);
        await p.goto(`${m.http}/`);
        await Promise.all([p.waitForURL(`${m.http}/mailbox`), p.locator("header.topbar a.topbar-link", { hasText: "Mailbox" }).click()]);
        expect({ label, h1: await p.locator("h1").textContent() }).toEqual({ label, h1: "This instance is a mailbox" });
        const rows = p.locator("table.mailbox-topics tbody tr");
        expect({ label, rows: await rows.count() }).toEqual({ label, rows: 1 });
        const cells = await rows.first().locator("td").allTextContents();
        expect({ label, topic: cells[0], items: cells[1], pushers: cells[5] }).toEqual({ label, topic: expect.stringMatching(/^[\w-]{8}$/), items: "1", pushers: "1 instance" });
        expect(await p.locator(".mailbox-stats").textContent()).toContain("1 in 1 topic");
        // How old the oldest item is, as the instance wrote it ("3 s ago"), in all and in the topic's row.
        expect({ label, oldest: await p.locator(".mailbox-stats time, table.mailbox-topics time").allTextContents() }).toEqual({
          label,
          oldest: [expect.stringMatching(/ ago$/), expect.stringMatching(/ ago$/)],
        });
        const text = (await p.locator("body").textContent())!;
        for (const secret of ["secret-garden", "roses", "alice"]) expect({ label, secret, shown: text.includes(secret) }).toEqual({ label, secret, shown: false });
        await p.context().close();
      }
      // Alice's own top bar has no such link: she keeps no mailbox.
      const q = await page();
      await q.goto(`${a.http}/`);
      expect(await q.locator("header.topbar a.topbar-link").count()).toBe(0);
      await q.context().close();
    },
    TIMEOUT,
  );

  test(
    "at 320 px nothing sticks out sideways: the room with its mailboxes listed and the form open, and the mailbox's page",
    async () => {
      const { m, a } = await keptIn("narrow", "boxed at 320 px");
      for (const colorScheme of ["light", "dark"] as const) {
        const p = await page({ ...NARROW, colorScheme });
        await openRoom(p, a.http, "narrow", "alice");
        await p.locator('.phone-nav a[href="#members"]').first().click();
        await p.locator("#members details.keep-in-mailbox summary").click();
        await p.locator('#members form.mailbox-form input[name="url"]').fill("http://home.example:8080");
        await waitFor(async () => (await mailboxStates(p))[m.http] === "answers, and keeps this room", 20_000, "the mailbox answering");
        const room = await tooWide(p, "#members, #members .mailboxes, #members .mailboxes *");
        expect({ where: `room, ${colorScheme}`, room }).toEqual({ where: `room, ${colorScheme}`, room: [] });
        await p.goto(`${m.http}/mailbox`);
        const mailbox = await tooWide(p, "main, main .card, main .card > *");
        expect({ where: `mailbox page, ${colorScheme}`, mailbox }).toEqual({ where: `mailbox page, ${colorScheme}`, mailbox: [] });
        await p.context().close();
      }
    },
    TIMEOUT,
  );

  test(
    "axe-core finds no serious or critical violation on a room with its mailboxes listed and the mailbox form open, and on the mailbox's page, light and dark, desktop and phone",
    async () => {
      const plain = own(await startInstance({ args: [...WS, "--name", "plain"] }));
      const { m, a } = await keptIn("axe", "boxed for axe", [plain.http]);
      const panel = async () => (await fetch(`${a.http}/rooms/axe/members`)).text();
      await waitFor(async () => (await panel()).includes("answers, and keeps this room") && (await panel()).includes("a rendezvous only"), 20_000, "both rendezvous listed with what they answered");
      for (const [label, options] of [["desktop", DESKTOP], ["phone", PHONE]] as const) {
        for (const colorScheme of ["light", "dark"] as const) {
          const where = `${label}, ${colorScheme}`;
          const p = await page({ ...options, colorScheme });
          await openRoom(p, a.http, "axe", "alice");
          await waitFor(async () => (await marks(p)).every(([, mark]) => mark === "boxed"), 10_000, "the mark 'in a mailbox'");
          await p.locator("#members details.keep-in-mailbox summary").click();
          await p.locator('#members form.mailbox-form input[name="url"]').fill("http://home.example:8080");
          await expectAccessible(p, `room with its mailboxes and the form open, ${where}`);
          await p.goto(`${m.http}/mailbox`);
          await expectAccessible(p, `the mailbox's page, ${where}`);
          await p.context().close();
        }
      }
    },
    TIMEOUT,
  );
});
