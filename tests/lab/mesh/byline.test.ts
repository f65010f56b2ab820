// A message's byline beside the name anyone may type: its instance by name and by the start of its node id, which no
// other instance can take; an instance whose name is not known here by that start alone, not by its id twice.
import { describe, expect, it } from "bun:test";
import type { Message } from "../../../src/storage/index.ts";
import { sourceOf } from "../../../src/views/message.tsx";

const SELF = "0f422170f1a4a9a8beb77822fe6be19f";
const BOB = "54f26a74a1b2c3d4e5f60718293a4b5c";
const names = (nodeId: string) => ({ [SELF]: "alice", [BOB]: "bob" })[nodeId];
const from = (origin: string, guest = false) => ({ origin, guest }) as Message;

describe("a message's byline", () => {
  it("names a known instance and the start of its node id", () => {
    expect(sourceOf(from(BOB), names, SELF)).toBe("bob · 54f2-6a74");
    expect(sourceOf(from(BOB, true), names, SELF)).toBe("guest at bob · 54f2-6a74");
  });

  it("says 'this instance' for this very one", () => {
    expect(sourceOf(from(SELF), names, SELF)).toBe("alice · this instance");
  });

  it("tells an instance whose name is not known here by the start of its node id, once", () => {
    expect(sourceOf(from(BOB), () => undefined, SELF)).toBe("instance 54f2-6a74");
    expect(sourceOf(from(BOB, true), () => undefined, SELF)).toBe("guest at instance 54f2-6a74");
  });
});

describe("a byline of a member no longer linked", () => {
  it("keeps the name the member had when last linked, as the members panel does", async () => {
    const { startInstance, waitFor } = await import("../../helpers/instance.ts");
    const { send, waitForCount, waitForLink } = await import("../../helpers/mesh.ts");
    await using a = await startInstance({ args: ["--transports", "websocket", "--room", "lobby", "--name", "alice"] });
    await using b = await startInstance({ args: ["--transports", "websocket", "--room", "lobby", "--name", "bob", "--peer", a.http] });
    await waitForLink(a, b);
    await send(b, "lobby", "from bob");
    await waitForCount(a, "lobby", 1);
    const mark = `${b.nodeId.slice(0, 4)}-${b.nodeId.slice(4, 8)}`;
    const page = async () => (await fetch(`${a.http}/?room=lobby`)).text();
    expect(await page()).toContain(`bob · ${mark}`);
    // b leaves the room: the two unlink (they share no room; whichever side's grace ends first forgets the other),
    // and b's messages keep its name. Waited for in a's log, once: b named a with --peer and links again at once.
    const seen = a.output().length;
    await fetch(`${b.http}/rooms/lobby/leave`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "", redirect: "manual" });
    await waitFor(() => a.output().slice(seen).includes(`${b.nodeId} primary: websocket -> none`), 15_000, "a unlinked from b");
    expect(await page()).toContain(`bob · ${mark}`);
  }, 40_000);
});
