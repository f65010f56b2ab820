/** The tiers a link can run over, with the priority that orders them: the higher, the better. */
export const TIER_PRIORITY = {
  webrtc: 100,
  turn: 80,
  websocket: 60,
  http: 40,
  lan: 20,
  /** Through a rendezvous that relays (`--relay`): only where no direct tier reaches, and left when one does. */
  relay: 10,
} as const;

/** One tier's name, as `--transports`, `/peers` and every layer spell it. */
export type Tier = keyof typeof TIER_PRIORITY;

/** Every tier, best first. */
export const TIERS: readonly Tier[] = (Object.keys(TIER_PRIORITY) as Tier[]).sort((a, b) => TIER_PRIORITY[b] - TIER_PRIORITY[a]);

export const isTier = (value: unknown): value is Tier => typeof value === "string" && Object.hasOwn(TIER_PRIORITY, value);

/** Orders tiers (or things with a tier) best first. */
export const byPriority = (a: Tier, b: Tier) => TIER_PRIORITY[b] - TIER_PRIORITY[a];

/** A `--turn` server, as the turn tier dials it (`turns:` when `secure`). */
export interface TurnServer {
  secure: boolean;
  username: string;
  password: string;
  host: string;
  port: number;
}
