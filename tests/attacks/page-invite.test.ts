/**
 * Issue 22, what a new user met: invite errors were jargon ("key is not 43 characters of base64url") and the form lost
 * the pasted link. They now say what happened in words a person understands, and what to do; the form keeps what was
 * pasted (and a guest who opens a cut link is told the same way).
 */
import { describe, expect, it } from "bun:test";
import { makeApp } from "../helpers/app.ts";

const SAME_ORIGIN = { "sec-fetch-site": "same-origin", "sec-fetch-mode": "navigate", origin: "http://localhost" };
const paste = (invite: string) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...SAME_ORIGIN },
  body: new URLSearchParams({ invite }).toString(),
  redirect: "manual" as const,
});
const KEY = "Q".repeat(43);
const NODE = "a".repeat(32);
const escaped = (s: string) => s.replaceAll("&", "&amp;").replaceAll("'", "&#x27;");

describe("invite links in words a person understands", () => {
  const cases: [string, string, string][] = [
    ["a key cut short", `http://192.0.2.9:8080/?room=family&key=${KEY.slice(0, 20)}&node=${NODE}`, "This link is incomplete: its key is cut short. Copy the whole link again."],
    ["a damaged key", `http://192.0.2.9:8080/?room=family&key=${KEY.slice(0, 42)}*&node=${NODE}`, "This link's key is damaged (it has characters or a length no key has). Copy the whole link again."],
    ["no room", `http://192.0.2.9:8080/?key=${KEY}`, "This link names no room: it is not an invite link, or it was cut short. Copy the whole link again."],
    ["a node cut short", `http://192.0.2.9:8080/?room=family&key=${KEY}&node=${NODE.slice(0, 10)}`, "This link is incomplete: the instance it names is cut short. Copy the whole link again."],
    ["no link at all", "family", "That is not a link: an invite link starts with http:// and names a room. Copy the whole link again."],
  ];
  for (const [what, link, words] of cases) {
    it(`${what}: 400 with "${words}", the pasted link kept in the form`, async () => {
      const { request, node } = makeApp();
      const res = await request("/invite", paste(link));
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(html).toContain(`<p class="error" role="alert">${escaped(words)}</p>`);
      expect(html).toContain(`name="invite" required type="url" value="${link}"`);
      expect(node.rooms()).toEqual([]);
    });
  }

  it("an invite to another room of a name already here: 409 that says so", async () => {
    const { request, node } = makeApp();
    node.join("family", "F".repeat(43));
    const res = await request("/invite", paste(`http://192.0.2.9:8080/?room=family&key=${KEY}&node=${NODE}`));
    expect(res.status).toBe(409);
    expect(await res.text()).toContain(escaped("You have another room named #family here already; this link is for a different room of that name."));
  });

  it("a guest who opens a link whose key is cut short is told so, not 'key must be 43 characters of base64url'", async () => {
    const { request, node } = makeApp();
    node.join("family", KEY);
    const res = await request(`/?room=family&key=${KEY.slice(0, 30)}`, { headers: { "x-test-client": "192.0.2.7" } });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("This link is incomplete or damaged: its key is not whole. Copy the whole link again.");
  });
});
