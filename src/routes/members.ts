import type { Node } from "../node.ts";
import type { MembersPanelView, MemberView } from "../views/members.tsx";
import { instanceLabel } from "../views/message.tsx";
import { presence } from "../views/peers.tsx";

/**
 * A room's members as its page lists them: this instance, then every instance known to have joined it (linked now, or
 * remembered from before, offline since it was last seen; or that has left it since) and every instance its recent
 * messages came from, online ones first; each with the people who wrote from it lately. The path to each is for the
 * owner only.
 */
export function membersOf(node: Node, room: string, owner: boolean): MemberView[] {
  const people = new Map<string, MemberView["people"]>();
  for (const a of node.authors(room)) {
    const list = people.get(a.origin) ?? people.set(a.origin, []).get(a.origin)!;
    if (!list.some((p) => p.name === a.peer_id && p.guest === a.guest)) list.push({ name: a.peer_id, guest: a.guest });
  }
  const known = new Map(node.knownMembers(room).map((k) => [k.node_id, k]));
  const members = new Map<string, MemberView>();
  members.set(node.id, { nodeId: node.id, name: node.name, self: true, presence: "online", since: null, people: people.get(node.id) ?? [] });
  for (const p of node.peers()) {
    if (!p.rooms.includes(room) || known.get(p.node_id)?.left) continue;
    const { word, since } = presence(p.state, p.since, p.last_seen);
    const path = owner ? { path: { tier: p.tier, rttMs: p.rtt_ms } } : {};
    members.set(p.node_id, { nodeId: p.node_id, name: p.name, self: false, presence: word, since, ...path, people: people.get(p.node_id) ?? [] });
  }
  for (const k of known.values()) {
    if (members.has(k.node_id)) continue;
    const path = owner ? { path: { tier: null, rttMs: null } } : {};
    const state = k.left ? { presence: "left" as const, since: null } : { presence: "offline" as const, since: k.last_seen };
    members.set(k.node_id, { nodeId: k.node_id, name: k.name, self: false, ...state, ...path, people: people.get(k.node_id) ?? [] });
  }
  const names = (nodeId: string) => node.instanceName(nodeId);
  for (const [origin, list] of people) {
    if (members.has(origin)) continue;
    members.set(origin, { nodeId: origin, name: instanceLabel(names, origin), self: false, presence: "unknown", since: null, people: list });
  }
  const rank = { online: 0, connecting: 1, offline: 2, unknown: 3, left: 4 } as const;
  const [self, ...others] = members.values();
  return [self!, ...others.sort((a, b) => rank[a.presence] - rank[b.presence] || a.name.localeCompare(b.name))];
}

/** The members panel of `room`: its members, and for the owner the mailboxes the room is kept in. */
export function membersPanelOf(node: Node, room: string, owner: boolean): MembersPanelView {
  const members = membersOf(node, room, owner);
  return owner ? { members, mailboxes: { room, boxes: node.mailboxesOf(room) } } : { members };
}
