/**
 * Issue 22, what a new user met in the members panel: "offline since" showed when the link last came up, not when the
 * member was last seen; a member who left showed offline for ever; polling every 5 s showed a connected member offline
 * for ~10 s. Presence now comes over the room's stream (`members` events) as it changes; a member is last seen when its
 * last link closes; one whose hello no longer proves the room shows as having left it.
 */
import { describe, expect, it } from "bun:test";
import { startInstance, waitFor, type Instance } from "../helpers/instance.ts";
import { waitForLink } from "../helpers/mesh.ts";
import { SseReader } from "../helpers/sse.ts";

const ARGS = ["--room", "r", "--transports", "websocket"];

/** A member's line in a members panel (by its node id, or its name, bob): its presence, words and `since` (ms). */
function memberIn(html: string, nodeId: string): { presence: string; words: string; since: number | null } | null {
  const line = html.split('<li class="member ').find((li) => li.includes(`data-node="${nodeId}"`) || li.includes(">bob"));
  const m = line && /^presence-(\w+)"[\s\S]*?<span class="presence">([\s\S]*?)<\/span><\/span>/.exec(line);
  if (!m) return null;
  const at = /datetime="([^"]+)"/.exec(m[2]!)?.[1];
  return { presence: m[1]!, words: m[2]!.replace(/<[^>]+>/g, ""), since: at ? Date.parse(at) : null };
}

/** The room's stream at `at`, keeping only its `members` events. */
async function membersStream(at: Instance) {
  const stop = new AbortController();
  const reader = new SseReader(await fetch(`${at.http}/rooms/r/events`, { signal: stop.signal }), (e) => e.event === "members");
  /** Waits for a members event in which `nodeId` is as `check` wants; answers it and when it came. */
  const until = async (nodeId: string, check: (m: NonNullable<ReturnType<typeof memberIn>>) => boolean, timeoutMs: number) => {
    for (let seen = 0; ; seen++) {
      await reader.until(seen + 1, timeoutMs);
      const member = memberIn(reader.events[seen]!.data, nodeId);
      if (member && check(member)) return { member, at: Date.now() };
    }
  };
  return { until, [Symbol.dispose]: () => stop.abort() };
}

describe("presence comes over the room's stream, as it changes", () => {
  it("a member that links shows online within a second of its link, unasked; one that stops, offline since it stopped", async () => {
    await using a = await startInstance({ args: ARGS });
    using stream = await membersStream(a);
    await using b = await startInstance({ args: [...ARGS, "--name", "bob", "--peer", a.http] });
    await waitForLink(a, b);
    const linked = Date.now();
    const online = await stream.until(b.nodeId, (m) => m.presence === "online", 5000);
    expect(online.at - linked).toBeLessThan(1000);
    await b.stop();
    const stopped = Date.now();
    // Dialled again for 15 s ("connecting"), then offline since it was last seen: when its link closed.
    const offline = await stream.until(b.nodeId, (m) => m.presence === "offline", 30_000);
    expect(Math.abs(offline.member.since! - stopped)).toBeLessThan(1500);
    expect(offline.member.words).toStartWith("offline since ");
  }, 60_000);

  it("after a restart, a member is offline since it was last seen, not since its link came up", async () => {
    await using a = await startInstance({ args: ARGS });
    await using b = await startInstance({ args: [...ARGS, "--name", "bob", "--peer", a.http] });
    await waitForLink(a, b);
    const linked = Date.now();
    await Bun.sleep(3000);
    await b.stop();
    const stopped = Date.now();
    await a.stop();
    await using again = await startInstance({ db: a.db, args: ARGS });
    const member = await waitFor(async () => {
      const found = memberIn(await (await fetch(`${again.http}/rooms/r/members`)).text(), b.nodeId);
      return found?.presence === "offline" ? found : null;
    }, 30_000, "b offline at a");
    expect(Math.abs(member.since! - stopped)).toBeLessThan(1500);
    expect(member.since! - linked).toBeGreaterThan(2500);
  }, 60_000);

  it("a member that leaves the room shows as having left it, not offline for ever, also after a restart", async () => {
    await using a = await startInstance({ args: ARGS });
    using stream = await membersStream(a);
    await using b = await startInstance({ args: [...ARGS, "--name", "bob", "--peer", a.http] });
    await waitForLink(a, b);
    await stream.until(b.nodeId, (m) => m.presence === "online", 5000);
    const left = await fetch(`${b.http}/rooms/r/leave`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "", redirect: "manual" });
    expect(left.status).toBe(303);
    const gone = await stream.until(b.nodeId, (m) => m.presence === "left", 10_000);
    expect(gone.member.words).toBe("left the room");
    await a.stop();
    await using again = await startInstance({ db: a.db, args: ARGS });
    expect(memberIn(await (await fetch(`${again.http}/rooms/r/members`)).text(), b.nodeId)?.presence).toBe("left");
  }, 60_000);
});
