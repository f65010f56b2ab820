/**
 * Issue 22, high: the `/signal` hub buffered without bound for members that never read (100 paused members took an
 * instance from 70 MB to 2 GB in 5 s), and one address could take every connection. Now a member that does not
 * read is closed once a little is waiting for it, the bytes waiting in a room and in the whole hub are capped, and
 * each source (an IPv4 address, or an IPv6 /64) holds at most half the connections (its share of 32, and more only
 * while under half are taken), so another always joins.
 */
import { describe, expect, it } from "bun:test";
import { startInstance, waitFor } from "../../helpers/instance.ts";
import { pausedMember, rawUpgrade, rssOf, type RawUpgrade } from "../../helpers/raw-upgrade.ts";

const MiB = 1024 * 1024;

/** A member that reads everything it is sent, counting it. */
async function readingMember(ws: string, room: string, peerId: string) {
  const socket = new WebSocket(`${ws}/signal?room=${room}&peer_id=${peerId}`);
  let received = 0;
  let closed = false;
  socket.onmessage = () => void received++;
  socket.onclose = () => void (closed = true);
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error(`${peerId} could not join`));
  });
  return { socket, received: () => received, closed: () => closed };
}

describe("members that never read", () => {
  it("are closed before the hub holds much for them, and the instance's memory stays flat", async () => {
    await using a = await startInstance();
    const paused: RawUpgrade[] = [];
    // From three addresses, as each holds a share of the connections.
    for (let i = 0; i < 30; i++) paused.push(await pausedMember(`${a.ws}/signal?room=flood&peer_id=paused${i}`, `127.0.0.${2 + (i % 3)}`));
    const senders = [await readingMember(a.ws, "flood", "sender1"), await readingMember(a.ws, "flood", "sender2")];
    const honest = await readingMember(a.ws, "flood", "honest");
    const before = await rssOf(a.proc.pid);
    // 16 KB each: a reader with 128 KiB of slack keeps up on a busy machine (at 60 KB, a stall of 10 ms cut it off).
    const envelope = JSON.stringify({ type: "offer", payload: "x".repeat(16 * 1024) });
    let peak = before;
    // Each sender at its rate limit (100 a second, bursts of 200): 16 KB to 32 members per envelope.
    for (let second = 0; second < 4; second++) {
      for (let i = 0; i < 100; i++) for (const s of senders) if (!s.closed()) s.socket.send(envelope);
      await Bun.sleep(1000);
      peak = Math.max(peak, await rssOf(a.proc.pid));
    }
    const growth = peak - before;
    console.log(`paused /signal members: instance RSS ${(before / MiB).toFixed(0)} MiB before, peak ${(peak / MiB).toFixed(0)} MiB (+${(growth / MiB).toFixed(0)} MiB)`);
    expect(growth).toBeLessThan(96 * MiB);
    // The honest member kept reading what the senders sent, and is still there.
    expect(honest.closed()).toBe(false);
    expect(honest.received()).toBeGreaterThan(100);
    for (const s of [...senders, honest]) s.socket.close();
    for (const p of paused) p.end();
  }, 60_000);
});

describe("connection shares per source", () => {
  it("one address cannot take every /signal connection: another still joins", async () => {
    await using a = await startInstance();
    const held: RawUpgrade[] = [];
    let refused = 0;
    // The hub holds 4096 connections in all; one source gets a share of them.
    for (let i = 0; i < 4200 && refused < 5; i++) {
      const up = await rawUpgrade(`${a.ws}/signal?room=r${i % 64}&peer_id=p${i}`, { localAddress: "127.0.0.2" });
      if (up.status === 101) held.push(up);
      else {
        refused++;
        up.end();
      }
    }
    console.log(`one source held ${held.length} /signal connections before it was refused`);
    expect(held.length).toBeLessThanOrEqual(2048);
    const other = await rawUpgrade(`${a.ws}/signal?room=lobby&peer_id=honest`, { localAddress: "127.0.0.3" });
    expect(other.status).toBe(101);
    other.end();
    for (const up of held) up.end();
  }, 120_000);
});

it("the hub still relays between members after all this", async () => {
  await using a = await startInstance();
  const one = await readingMember(a.ws, "lobby", "one");
  const two = await readingMember(a.ws, "lobby", "two");
  one.socket.send(JSON.stringify({ type: "hello", payload: 1 }));
  await waitFor(() => two.received() >= 2, 5000, "the envelope relayed"); // peers list, then the envelope
  one.socket.close();
  two.socket.close();
});
