/** @jsxImportSource @kitajs/html */
import type { PeerStatus } from "../rooms/peers.ts";
import { clock } from "./message.tsx";

/** How long an instance may be dialled without a link before the page calls it offline rather than connecting. */
const CONNECTING_GRACE_MS = 15_000;

/**
 * Whether another instance is there, in words: online, connecting (briefly), or offline since it was last seen (when
 * its last link closed; null when never seen), not since the last dial that failed.
 */
export function presence(
  state: PeerStatus["state"],
  since: number,
  lastSeen: number | null,
  now = Date.now(),
): { word: "online" | "connecting" | "offline"; since: number | null } {
  if (state === "connected") return { word: "online", since };
  if (state === "connecting" && now - since < CONNECTING_GRACE_MS) return { word: "connecting", since };
  return { word: "offline", since: lastSeen };
}

/** A moment as "14:05 UTC", for "since …" (the page's script rewrites `time` elements to local time). */
export function Since({ ms }: { ms: number }) {
  return (
    <time class="since" datetime={new Date(ms).toISOString()} safe>
      {clock(ms)}
    </time>
  );
}

/** An instance's state in words, and since when it is offline. */
export function PresenceWords({ word, since }: { word: ReturnType<typeof presence>["word"]; since: number | null }) {
  return (
    <>
      {word}
      {word === "offline" && since !== null ? (
        <>
          {" since "}
          <Since ms={since} />
        </>
      ) : (
        ""
      )}
    </>
  );
}

/** Other instances with their tier, round trip and state; the owner's streams send it anew as it changes (`peers`). */
export function PeersPanel({ peers }: { peers: PeerStatus[] }) {
  return (
    <section id="peers" class="card peers">
      <h2>Linked instances</h2>
      {peers.length === 0 ? (
        <p class="empty">No other instances linked yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Path</th>
              <th>RTT</th>
              <th>State</th>
            </tr>
          </thead>
          <tbody>
            {peers.map((p) => {
              const { word, since } = presence(p.state, p.since, p.last_seen);
              return (
                <tr class={`presence-${word}`}>
                  <td class="peer-name" title={p.name} safe>
                    {p.name}
                  </td>
                  <td>{p.tier ?? "—"}</td>
                  <td class="rtt" safe>
                    {p.rtt_ms === null ? "—" : `${p.rtt_ms.toFixed(1)} ms`}
                  </td>
                  <td class="state">
                    <PresenceWords word={word} since={since} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
