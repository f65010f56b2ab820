/**
 * What one client may hold and send, so that no client, and no crowd of guests together, can use up what the owner
 * needs. The owner (loopback) has budgets of its own that guests never touch; guests share a guest budget, and each
 * guest has a small one of its own. A guest is an IPv4 address, or an IPv6 /64: one host rotating through the
 * addresses of its prefix is still one guest.
 */
import type { Server } from "bun";
import { RateLimiter, type RateLimitInit } from "../util/rate-limit.ts";
import { clientOf, type Client, type ClientAddressOf } from "./client.ts";
import { HttpError } from "../util/http.ts";
import { sourceKey } from "../util/ip.ts";

/** The guest an address counts as: an IPv4 address itself (also when IPv4-mapped), the /64 of an IPv6 address. */
export const guestKey = sourceKey;

/** What guests may hold of one kind of resource. */
export interface GuestBudget {
  /** Held by all guests together. */
  total: number;
  /** Held by one guest (an IPv4 address, or an IPv6 /64). */
  perGuest: number;
}

/** Gives the undone part of a budget back; calling it again does nothing. */
export type Release = () => void;

/**
 * Counts one kind of held resource (live streams, waiting requests) per client: `take` answers a release function or
 * throws HttpError 429 naming what is full. The owner's budget is its own (1000 by default); guests share
 * `guests.total` (500), each at most `guests.perGuest` (8).
 */
export class ClientBudget {
  #owner = 0;
  #guests = 0;
  readonly #perGuest = new Map<string, number>();
  private readonly guests: GuestBudget;

  constructor(
    /** What is counted, plural, as a refusal names it: "live streams". */
    private readonly what: string,
    private readonly ownerMax = 1000,
    guests: Partial<GuestBudget> = {},
  ) {
    this.guests = { total: 500, perGuest: 8, ...guests };
  }

  take(client: Client): Release {
    if (client.owner) {
      if (this.#owner >= this.ownerMax) throw new HttpError(429, `all ${this.ownerMax} ${this.what} of this instance's owner are open; close one first`);
      this.#owner++;
      return this.#once(() => this.#owner--);
    }
    const key = guestKey(client.address);
    const mine = this.#perGuest.get(key) ?? 0;
    if (mine >= this.guests.perGuest) throw new HttpError(429, `this guest already holds ${mine} ${this.what}, the most one guest may; close one first`);
    if (this.#guests >= this.guests.total) throw new HttpError(429, `all ${this.guests.total} ${this.what} open to guests are taken; try again later`);
    this.#guests++;
    this.#perGuest.set(key, mine + 1);
    return this.#once(() => {
      this.#guests--;
      const left = this.#perGuest.get(key)! - 1;
      if (left > 0) this.#perGuest.set(key, left);
      else this.#perGuest.delete(key);
    });
  }

  /** What is held now: by the owner, by all guests, and by each guest that holds any. */
  held(): { owner: number; guests: number; perGuest: Record<string, number> } {
    return { owner: this.#owner, guests: this.#guests, perGuest: Object.fromEntries(this.#perGuest) };
  }

  #once(give: () => void): Release {
    let given = false;
    return () => {
      if (given) return;
      given = true;
      give();
    };
  }
}

/** The message rate of guests: per guest, and of all guests together. */
export interface GuestRateInit extends RateLimitInit {
  /** The rate of all guests together, so that many addresses cannot flood the instance either. @default 200/s, bursts of 200 */
  allGuests?: RateLimitInit;
}

/**
 * The message rate of clients on other machines (invited guests) across every route: one budget per guest, and one
 * for all guests together. The owner is never limited.
 */
export class GuestLimit {
  readonly #perGuest: RateLimiter;
  readonly #allGuests: RateLimiter;

  constructor(
    init: GuestRateInit = { perSecond: 10, burst: 50 },
    private readonly addressOf?: ClientAddressOf,
  ) {
    this.#perGuest = new RateLimiter(init);
    this.#allGuests = new RateLimiter(init.allGuests ?? { perSecond: 200, burst: 200 });
  }

  /** Throws HttpError 429 when the request comes from a guest over its rate, or while all guests together are. */
  check(request: Request, server: Server<unknown> | null | undefined): void {
    const client = clientOf(request, server, this.addressOf);
    if (client.owner) return;
    if (!this.#perGuest.take(guestKey(client.address))) throw new HttpError(429, "too many messages; slow down");
    if (!this.#allGuests.take("")) throw new HttpError(429, "guests together are sending too many messages; try again in a moment");
  }
}
