/** @jsxImportSource @kitajs/html */
import type { PeerStatus } from "../node.ts";

/** Other instances with their tier, round trip and state; refreshes itself every few seconds. */
export function PeersPanel({ peers }: { peers: PeerStatus[] }) {
  return (
    <section id="peers" class="card peers" hx-get="/peers/panel" hx-trigger="every 5s" hx-swap="outerHTML">
      <h2>Peers</h2>
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
            {peers.map((p) => (
              <tr class={`state-${p.state}`}>
                <td safe>{p.name}</td>
                <td>{p.tier ?? "—"}</td>
                <td safe>{p.rtt_ms === null ? "—" : `${p.rtt_ms.toFixed(1)} ms`}</td>
                <td>{p.state}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
