/**
 * Issue 22, what a new user met: the invite panel said "Reachability unknown" on a working LAN link. When no linked
 * instance could check this one's address from outside, the panel now says what is known: the links that work, over
 * which tiers, with how many instances; and that nothing was checked from the internet.
 */
import { describe, expect, it } from "bun:test";
import { Reach } from "../../src/views/reach.tsx";
import { startInstance, waitFor } from "../helpers/instance.ts";
import { openRoom, startRogue } from "../helpers/rogue.ts";

const panel = (html: string) => /<p class="hint reach">([^<]*)/.exec(html)?.[1] ?? "";
const none = { stun: null, rendezvous: [], mapping: null };

describe("the invite panel says what is known of how this instance is reached", () => {
  it("a member linked that checks nothing: the link, its tier and how many, not 'unknown'", async () => {
    await using a = await startInstance({ args: ["--room", "r", "--transports", "websocket"] });
    // A member that links and proves the room, and never answers a reach check (as a LAN peer that cannot dial back).
    await using member = await startRogue();
    await member.link(a);
    member.send(a, { type: "hello", name: "member", proofs: [openRoom("r", member.id, a.nodeId).proof], addresses: {} });
    const said = await waitFor(async () => {
      const text = panel(await (await fetch(`${a.http}/?room=r&peer_id=owner`)).text());
      return text.includes("checked at") ? text : null;
    }, 30_000, "a reach check with no answer");
    expect(said).toStartWith("Linked over WebSocket with 1 instance; not checked from the internet (no linked instance outside this network) (checked at ");
    expect(said).not.toContain("unknown");
  }, 40_000);

  it("over the LAN tier, in the words of the issue; with nothing linked, that nothing is", () => {
    const checkedAt = Date.UTC(2026, 0, 1, 12, 0);
    const lan = String(Reach({ reach: { checkedAt, seen: null }, linked: { count: 2, tiers: ["lan"] }, ...none }));
    expect(panel(lan)).toBe("Linked over your network (LAN) with 2 instances; not checked from the internet (no linked instance outside this network) (checked at 12:00 UTC).");
    const alone = String(Reach({ reach: null, linked: { count: 0, tiers: [] }, ...none }));
    expect(panel(alone)).toBe("Not linked to any other instance yet, so not checked from the internet.");
    const early = String(Reach({ reach: null, linked: { count: 1, tiers: ["webrtc"] }, ...none }));
    expect(panel(early)).toBe("Linked over WebRTC with 1 instance; not checked from the internet yet.");
  });
});
