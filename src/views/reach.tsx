/** How this instance is reached, and its invite link: the owner's Invite panel. */
import { urlHost } from "../util/ip.ts";
import type { Tier } from "../domain/tiers.ts";
import type { PortMappingState } from "../reach/port-mapping/index.ts";
import { clock } from "./message.tsx";

/** The room's invite link and its QR code (SVG), for the owner, with how this instance is reached. */
export interface InviteView {
  url: string;
  qrSvg: string;
  private: boolean;
  reach: ReachView;
  linked: LinkedView;
  stun: string | null;
  rendezvous: string[];
  mapping: PortMappingState | null;
}

/** How this instance is reached, as a peer last saw it: for the invite panel. */
export type ReachView = null | { checkedAt: number; seen: null } | {
  checkedAt: number;
  /** The address it was seen at, and by whom. */
  seen: string;
  by: string;
  /** Seen from outside any private network. */
  outside: boolean;
  /** The HTTP port answered there, and its URL. */
  url: string | null;
};

/** What is known of this instance's links now: how many instances are linked, over which tiers. */
export interface LinkedView {
  count: number;
  tiers: Tier[];
}

/** A tier as people read it. */
const TIER_WORDS: Record<Tier, string> = {
  lan: "your network (LAN)",
  websocket: "WebSocket",
  http: "HTTP",
  webrtc: "WebRTC",
  turn: "a TURN relay",
  relay: "a rendezvous's relay",
};

/** "Linked over WebRTC with 2 instances", or undefined with none linked. */
function linkedWords({ count, tiers }: LinkedView): string | undefined {
  if (count === 0) return undefined;
  const over = tiers.length > 0 ? ` over ${tiers.map((tier) => TIER_WORDS[tier]).join(" and ")}` : "";
  return `Linked${over} with ${count} ${count === 1 ? "instance" : "instances"}`;
}

/** What the router does for this instance, in words. */
function mappingWords(mapping: PortMappingState | null): string {
  if (!mapping) return "";
  switch (mapping.kind) {
    case "off":
      return ` Port mapping is off (${mapping.why}).`;
    case "searching":
      return " Asking the router to forward the ports (UPnP IGD, NAT-PMP)…";
    case "none":
      return " No router on this network offers port mapping (UPnP IGD or NAT-PMP).";
    case "failed":
      return ` The router at ${mapping.gateway} (${mapping.protocol}) did not forward the ports: ${mapping.error}.`;
    case "mapped": {
      const at = `${urlHost(mapping.externalIp)}:${mapping.ports.http}`;
      const forwards = `The router at ${mapping.gateway} (${mapping.protocol}) forwards ${at} here (WebSocket :${mapping.ports.ws})`;
      return mapping.public ? ` ${forwards}.` : ` ${forwards}, but ${mapping.externalIp} is itself private: another NAT stands in front of that router.`;
    }
  }
}

/** Where the link works from, in words: the LAN address it names, what a peer saw of this instance, what the router does. */
export function Reach({ reach, linked, stun, rendezvous, mapping }: Pick<InviteView, "reach" | "linked" | "stun" | "rendezvous" | "mapping">) {
  const via = rendezvous.length > 0 ? ` Instances that cannot reach it meet this one at ${rendezvous.join(", ")} (named in the link).` : "";
  const publicIp = `${stun ? ` Public address (from STUN): ${stun}.` : ""}${mappingWords(mapping)}`;
  // What is known is said first: the links that work now, before what no one could check.
  const links = linkedWords(linked);
  if (!reach) {
    const said = links ? `${links}; not checked from the internet yet` : "Not linked to any other instance yet, so not checked from the internet";
    return <p class="hint reach" safe>{`${said}.${publicIp}${via}`}</p>;
  }
  const when = clock(reach.checkedAt);
  if (reach.seen === null) {
    const said = links
      ? `${links}; not checked from the internet (no linked instance outside this network)`
      : "No other instance is linked now; not checked from the internet";
    return <p class="hint reach" safe>{`${said} (checked at ${when}).${publicIp}${via}`}</p>;
  }
  const said = reach.outside
    ? reach.url
      ? `Reachable from the internet at ${reach.url}`
      : `Seen from the internet at ${reach.seen}, but its ports do not answer there: only instances on this network, or through a rendezvous, reach it`
    : reach.url
      ? `Reachable on its own network at ${reach.url}; not checked from outside (no linked instance outside this network)`
      : `Seen at ${reach.seen}, and its ports did not answer`;
  return <p class="hint reach" safe>{`${said} (checked by ${reach.by} at ${when}).${publicIp}${via}`}</p>;
}

export function Invite({ url, qrSvg: safeQrSvg, private: isPrivate, reach, linked, stun, rendezvous, mapping }: InviteView) {
  return (
    <section id="invite" class="card invite">
      <h2>Invite</h2>
      <p>{isPrivate ? "A private room: only those with this link get in. Share it with care." : "An open room: anyone who knows its name may join."}</p>
      <div class="copy-row">
        <input id="invite-url" readonly value={url} aria-label="Invite link" />
        {/* Copying needs the page's script; without it the link is selected and copied by hand. */}
        <button type="button" class="needs-js" data-copy="#invite-url">
          Copy
        </button>
      </div>
      {/* Rendered here from the link by a QR library: paths only, no text and no script, so it goes in as it is. */}
      <figure class="qr" aria-label="QR code of the invite link">
        {safeQrSvg}
      </figure>
      <Reach reach={reach} linked={linked} stun={stun} rendezvous={rendezvous} mapping={mapping} />
    </section>
  );
}
