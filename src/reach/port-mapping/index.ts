/**
 * Asks the router to forward this instance's HTTP and WebSocket ports from its public address (UPnP IGD or NAT-PMP,
 * whichever answers first), advertises the address that gives, and removes the mappings at shutdown. Searched for once
 * the servers listen, and again every 10 minutes while no router mapped them.
 */
import { isLoopback, isPrivateIp, isWildcard, urlHost } from "../../util/ip.ts";
import { advertisable, type AdvertisedAddresses } from "../../domain/urls.ts";
import { addressToward, defaultGateway } from "./gateway.ts";
import { findNatPmpRouter } from "./nat-pmp.ts";
import type { Router } from "./router.ts";
import { findUpnpRouter } from "./upnp.ts";
import { Handlers } from "../../util/handlers.ts";

export type { Router } from "./router.ts";

/** How long the search for a router waits for an answer. */
const SEARCH_MS = 3000;
const SEARCH_AGAIN_MS = 10 * 60_000;
/** How long removing the mappings may hold up shutdown. */
const UNMAP_MS = 3000;
const DESCRIPTION = "E-Goat";

export interface Ports {
  http: number;
  ws: number;
}

/** Where the search stands, for the invite panel. */
export type PortMappingState =
  | { kind: "off"; why: string }
  | { kind: "searching" }
  | { kind: "none" }
  | { kind: "failed"; protocol: Router["protocol"]; gateway: string; error: string }
  | { kind: "mapped"; protocol: Router["protocol"]; gateway: string; externalIp: string; ports: Ports; public: boolean };

export interface PortMapperInit {
  /** `--port-mapping`. */
  enabled: boolean;
  /** `--host`: a loopback bind is never mapped, a specific address only by a router on its network. */
  bind: string;
  ports: () => Ports;
  log: (line: string) => void;
}

export class PortMapper {
  #state: PortMappingState;
  #router: Router | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  readonly #stopping = new AbortController();
  readonly #mapped = new Handlers<[]>();

  constructor(private readonly init: PortMapperInit) {
    this.#state = !init.enabled
      ? { kind: "off", why: "--port-mapping off" }
      : isLoopback(init.bind)
        ? { kind: "off", why: "the servers listen on loopback only" }
        : { kind: "searching" };
  }

  start(): void {
    if (this.#state.kind === "searching") this.#searchNow();
  }

  /** What the router forwards changed: what is advertised, and whether the ports answer there. */
  onMapped(handler: () => void): () => void {
    return this.#mapped.add(handler);
  }

  state(): PortMappingState {
    return this.#state;
  }

  /** The ports outside that reach ours; null while nothing is mapped. */
  externalPorts(): Ports | null {
    return this.#state.kind === "mapped" ? this.#state.ports : null;
  }

  /** Where peers reach this instance through the router: only a public address (a router behind another NAT has none). */
  advertised(): Partial<AdvertisedAddresses> {
    const state = this.#state;
    if (state.kind !== "mapped" || !state.public) return {};
    const host = urlHost(state.externalIp);
    return advertisable({ http: `http://${host}:${state.ports.http}`, ws: `ws://${host}:${state.ports.ws}` });
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    if (this.#timer) clearTimeout(this.#timer);
    const router = this.#router;
    this.#router = null;
    if (router) await Promise.race([router.close().catch(() => {}), Bun.sleep(UNMAP_MS)]);
  }

  #searchNow(): void {
    this.#search().catch((error: unknown) => {
      this.#state = { kind: "none" };
      this.init.log(`port mapping: the search failed: ${(error as Error).message}`);
      this.#later();
    });
  }

  async #search(): Promise<void> {
    this.#state = { kind: "searching" };
    const router = await this.#find();
    if (this.#stopping.signal.aborted) return void router?.close().catch(() => {});
    if (!router) {
      this.#state = { kind: "none" };
      return this.#later();
    }
    try {
      await this.#map(router);
    } catch (err) {
      this.#state = { kind: "failed", protocol: router.protocol, gateway: router.gateway, error: (err as Error).message };
      this.init.log(`port mapping: the router at ${router.gateway} (${router.protocol}) did not map the ports: ${(err as Error).message}`);
      await router.close().catch(() => {});
      this.#later();
    }
  }

  /** Asks both ways at once and keeps the first router that answers; the other is let go. */
  async #find(): Promise<Router | null> {
    const done = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(SEARCH_MS)]);
    // Only the default gateway is asked, and only its answers count: any host on the LAN can answer a search.
    const gateway = await defaultGateway();
    const local = gateway ? addressToward(gateway) : null;
    if (!gateway || !local) return null;
    const tries = [
      findUpnpRouter(DESCRIPTION, gateway, done).catch((error: unknown) => {
        this.init.log(`port mapping: UPnP IGD at ${gateway}: ${(error as Error).message}`);
        return null;
      }),
      findNatPmpRouter(gateway, local).catch(() => null),
    ].map((found) => found.then((router) => router ?? Promise.reject(new Error("no answer"))));
    const router = await Promise.any(tries).catch(() => null);
    for (const other of tries) {
      void other.then(
        (r) => void (r !== router && r.close().catch(() => {})),
        () => {},
      );
    }
    if (!router) return null;
    // A router on another network than the one the servers bind cannot forward to them.
    if (!isWildcard(this.init.bind) && router.localAddress !== this.init.bind) {
      this.init.log(`port mapping: the router at ${router.gateway} is not on the network of --host ${this.init.bind}; not mapping`);
      await router.close().catch(() => {});
      return null;
    }
    return router;
  }

  async #map(router: Router): Promise<void> {
    const ours = this.init.ports();
    const ports = { ...ours };
    this.#router = router;
    const changed = (which: keyof Ports) => (port: number) => {
      if (this.#state.kind !== "mapped") return;
      this.#state.ports[which] = port;
      this.#mapped.emit();
    };
    ports.http = await router.mapTcp(ours.http, changed("http"));
    ports.ws = await router.mapTcp(ours.ws, changed("ws"));
    const externalIp = await router.externalIp();
    if (this.#stopping.signal.aborted) return;
    const isPublic = !isPrivateIp(externalIp) && externalIp !== "0.0.0.0";
    this.#state = { kind: "mapped", protocol: router.protocol, gateway: router.gateway, externalIp, ports, public: isPublic };
    this.init.log(
      `port mapping: the router at ${router.gateway} (${router.protocol}) forwards ${urlHost(externalIp)}:${ports.http} (http) and :${ports.ws} (ws) to ${router.localAddress}` +
        (isPublic ? "" : `; ${externalIp} is itself private (another NAT is in front of that router), so it is not advertised`),
    );
    if (isPublic) this.#mapped.emit();
  }

  #later(): void {
    if (this.#stopping.signal.aborted) return;
    this.#timer = setTimeout(() => this.#searchNow(), SEARCH_AGAIN_MS);
    this.#timer.unref?.();
  }
}
