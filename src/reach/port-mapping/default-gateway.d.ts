/** The part of default-gateway (silverwind, ESM, untyped) that gateway.ts uses. */
declare module "default-gateway" {
  /** The IPv4 default gateway and its interface, as the system's tools tell them; rejects when they tell none. */
  export function gateway4async(): Promise<{ gateway: string; version: 4; int: string | null }>;
}
