/** @jsxImportSource @kitajs/html */
import { groupedNodeId } from "../domain/names.ts";
import type { Tier } from "../domain/tiers.ts";
import { instanceMark } from "./message.tsx";
import { PresenceWords, Since } from "./peers.tsx";
import { RoomMailboxes, type MailboxView } from "./mailboxes.tsx";

/** Names shown per instance before "and N more". */
const PEOPLE_SHOWN = 8;

/** One instance of a room's members, with the people who wrote there lately. */
export interface MemberView {
  nodeId: string;
  name: string;
  /** This very instance. */
  self: boolean;
  /**
   * online, connecting, offline; left: its hello no longer proves the room; unknown: an author's instance this one has
   * never linked to (known by its messages).
   */
  presence: "online" | "connecting" | "offline" | "left" | "unknown";
  /** Offline: when it was last seen (its last link closed then). */
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
          {"last seen at "}
          <Since ms={since} />
        </p>
      )}
    </details>
  );
}

/** What the members list says of one member's presence. */
function MemberPresence({ member }: { member: MemberView }) {
  if (member.self) return "this instance";
  if (member.presence === "unknown") return "not linked";
  if (member.presence === "left") return "left the room";
  return <PresenceWords word={member.presence} since={member.since} />;
}

/**
 * Who is in the room: each member instance (this one first, by name and by the start of its node id, which no other
 * instance can take) with whether it is online and the people who wrote from it lately; the owner can open each one's
 * connection. The room's stream sends it anew whenever that changes (`members` events, public/presence.js).
 */
/** The members panel's contents: the members, and for the owner the room's mailboxes. */
export interface MembersPanelView {
  members: MemberView[];
  mailboxes?: { room: string; boxes: MailboxView[] };
}

export function MembersPanel({ members, mailboxes }: MembersPanelView) {
  return (
    <section id="members" class="card members">
      <h2>Members</h2>
      <ul class="member-list">
        {members.map((m) => (
          <li class={`member presence-${m.presence}`} data-node={m.nodeId}>
            <span class="member-line">
              <span class="dot" aria-hidden="true"></span>
              <span class="member-name" title={m.name} safe>
                {m.name}
              </span>
              {m.self ? (
                ""
              ) : (
                <span class="node-mark" title={`node ${groupedNodeId(m.nodeId)}`} safe>
                  {instanceMark(m.nodeId, "")}
                </span>
              )}
              <span class="presence">
                <MemberPresence member={m} />
              </span>
            </span>
            <People people={m.people} />
            {m.path && !m.self ? <Path path={m.path} since={m.since} /> : ""}
          </li>
        ))}
      </ul>
      {mailboxes ? <RoomMailboxes {...mailboxes} /> : ""}
    </section>
  );
}
