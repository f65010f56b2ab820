import { expect } from "bun:test";
import type { Instance } from "./instance.ts";
import { waitFor } from "./instance.ts";

export interface PeerRow {
  node_id: string;
  name: string;
  tier: string | null;
  rtt_ms: number | null;
  state: string;
  rooms: string[];
}

export async function peersOf(instance: Instance): Promise<PeerRow[]> {
  return (await (await fetch(`${instance.http}/peers`)).json()) as PeerRow[];
}

/**
 * Waits until `from` lists `to` as connected over `tier` (any tier when omitted) and has had its hello, so the row
 * names it and the rooms they share (a link is up a moment before the hello crosses it).
 */
export async function waitForLink(from: Instance, to: Instance, tier?: string, timeoutMs = 20_000): Promise<PeerRow> {
  return waitFor(
    async () =>
      (await peersOf(from)).find((p) => p.node_id === to.nodeId && p.state === "connected" && (!tier || p.tier === tier) && p.rooms.length > 0),
    timeoutMs,
    `${from.nodeId} linked to ${to.nodeId}${tier ? ` over ${tier}` : ""}`,
  );
}

export async function send(instance: Instance, room: string, text: string, peer_id = "tester") {
  const res = await fetch(`${instance.http}/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room, text, peer_id }) });
  expect(res.status).toBe(200);
  return (await res.json()) as { id: string; timestamp: number };
}

export async function history(instance: Instance, room: string): Promise<{ id: string; text: string; origin: string }[]> {
  const all: { id: string; text: string; origin: string; timestamp: number }[] = [];
  for (;;) {
    const since = all.at(-1)?.timestamp ?? 0;
    const page = (await (await fetch(`${instance.http}/history?room=${room}&since=${since}&limit=1000`)).json()) as typeof all;
    all.push(...page);
    if (page.length < 1000) return all;
  }
}

/** Waits until `instance` holds `count` messages of `room`, and checks none is there twice. */
export async function waitForCount(instance: Instance, room: string, count: number, timeoutMs = 20_000) {
  let last: { id: string; text: string; origin: string }[] = [];
  await waitFor(
    async () => (last = await history(instance, room)).length >= count,
    timeoutMs,
    `${count} messages of ${room} at ${instance.nodeId} (has ${last.length})`,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}; has ${last.length}`);
  });
  const ids = last.map((m) => m.id);
  expect(new Set(ids).size).toBe(ids.length);
  return last;
}
