/**
 * The instances the owner named (`--peer`, an invite's issuer, the page's "join by invite link"): each is looked up at
 * its URL once it answers and again whenever it is not linked, and an invite's issuer is also met at the rendezvous
 * its invite names.
 */
import { roomIdOf, type Invite } from "../domain/rooms.ts";
import type { NodeAddress } from "../transport/link.ts";
import { describeDialFailure, messageOf } from "../transport/errors.ts";
import { watchPeerUrl } from "./peer-url.ts";
import type { Rendezvous } from "./rendezvous.ts";

export interface NamedPeersInit {
  /** Whether the instance with this node id is linked now. */
  linked: (nodeId: string) => boolean;
  /** The owner named it: it keeps its place in a full peer table. */
  named: (nodeId: string) => void;
  /** Dials it (and tells it our rooms). */
  introduce: (address: NodeAddress) => Promise<unknown> | undefined;
  rendezvous: Rendezvous;
  signal: AbortSignal;
  log: (line: string) => void;
}

export class NamedPeers {
  constructor(private readonly init: NamedPeersInit) {}

  /** Links to the instance at `url` once it answers, and again whenever it is not linked; with `nodeId`, only to that instance. */
  linkTo(url: string, what: string, nodeId?: string | null): void {
    const { signal, log } = this.init;
    watchPeerUrl(url, {
      signal,
      log,
      what,
      linked: (id) => this.init.linked(id),
      found: (address) => {
        if (nodeId && address.nodeId !== nodeId) return log(`${what}: the instance there is ${address.nodeId}, not ${nodeId}; not linking`);
        this.init.named(address.nodeId);
        this.init.introduce(address)?.catch((error: unknown) => {
          if (!signal.aborted) log(`${what}: ${describeDialFailure(error)}; still trying`);
        });
      },
    }).catch((error: unknown) => log(`${what}: stopped looking: ${messageOf(error)}`));
  }

  /** Links to an invite's issuer at its URL, and meets it at the rendezvous the invite names. */
  linkToIssuer(invite: Invite): void {
    // Kept: the invite's issuer is met there after a restart too, where flags come again but a page's invite does not.
    for (const url of invite.rendezvous) this.init.rendezvous.add(url, { room: roomIdOf({ name: invite.room, key: invite.key }), keep: true });
    this.linkTo(invite.url, `invite from ${invite.url}`, invite.node);
  }
}
