/** @jsxImportSource @kitajs/html */
import type { Tier } from "../domain/tiers.ts";
import { roomPath } from "./links.ts";
import { PresenceWords, Since } from "./peers.tsx";

/** Names shown per instance before "and N more". */
const PEOPLE_SHOWN = 8;

/** One instance of a room's members, with the people who wrote there lately. */
export interface MemberView {
  nodeId: string;
  name: string;
  /** This very instance. */
  self: boolean;
  /** online, connecting, offline; unknown: an author's instance this one has never linked to (known by its messages). */
  presence: "online" | "connecting" | "offline" | "unknown";
  /** Since when it is in that state, or when it was last seen. */
  since: number | null;
  /** The path to it, for the owner only. */
  path?: { tier: Tier | null; rttMs: number | null };
  people: { name: string; guest: boolean }[];
}

function People({ people }: { people: MemberView["people"] }) {
  if (people.length === 0) return "";
  const shown = people.slice(0, PEOPLE_SHOWN);
  const names = shown.map((p) => (p.guest ? `${p.name} (guest)` : p.name)).join(", ");
  const more = people.length > shown.length ? ` and ${people.length - shown.length} more` : "";
  return (
    <span class="people" title={names + more} safe>
      {names + more}
    </span>
  );
}

function Path({ path, since }: { path: NonNullable<MemberView["path"]>; since: number | null }) {
  return (
    <details class="path">
      <summary>Connection</summary>
      <p>{path.tier ? `over ${path.tier}${path.rttMs === null ? "" : `, ${path.rttMs.toFixed(1)} ms round trip`}` : "no link now"}</p>
      {since === null ? (
        ""
      ) : (
        <p>
          {"in this state since "}
          <Since ms={since} />
        </p>
      )}
    </details>
  );
}

/**
 * Who is in the room: each member instance (this one first) with whether it is online and the people who wrote from it
 * lately; the owner can open each one's connection. Refreshes itself every few seconds.
 */
export function MembersPanel({ room, peerId, members }: { room: string; peerId: string; members: MemberView[] }) {
  return (
    <section
      id="members"
      class="card members"
      hx-get={roomPath(room, `members?${new URLSearchParams({ peer_id: peerId })}`)}
      hx-trigger="every 5s"
      hx-swap="outerHTML"
    >
      <h2>Members</h2>
      <ul class="member-list">
        {members.map((m) => (
          <li class={`member presence-${m.presence}`}>
            <span class="member-line">
              <span class="dot" aria-hidden="true"></span>
              <span class="member-name" title={m.name} safe>
                {m.name}
              </span>
              <span class="presence">
                {m.self ? "this instance" : m.presence === "unknown" ? "not linked" : <PresenceWords word={m.presence} since={m.since} />}
              </span>
            </span>
            <People people={m.people} />
            {m.path && !m.self ? <Path path={m.path} since={m.since} /> : ""}
          </li>
        ))}
      </ul>
    </section>
  );
}
