/**
 * Where this instance is reached: the ports its servers listen on, and what is advertised from them (hellos, LAN
 * beacons, /mesh/info): its own host, unless the router's mapping or a dial-back found better. The one owner of it;
 * what finds an address outside registers here, and whoever tells peers listens to `onChange`.
 */
import { publicHost } from "../util/ip.ts";
import { Handlers } from "../util/handlers.ts";
import type { Ports } from "./port-mapping/index.ts";
import { advertisable, type AdvertisedAddresses } from "../domain/urls.ts";

/** Something that finds where peers reach this instance from outside (the router's mapping, a dial-back). */
export interface OutsideFinding {
  advertised(): Partial<AdvertisedAddresses>;
}

export class Advertised {
  /** The ports the servers listen on: the flags' until they do (0 for any free one), then the ones they got. */
  readonly ports: Ports;
  readonly #host: string;
  readonly #findings: OutsideFinding[] = [];
  readonly #changed = new Handlers<[]>();

  /** `host`: `--host`, the servers' bind; `ports`: the flags' ports. */
  constructor(host: string, ports: Ports) {
    this.#host = host;
    this.ports = { ...ports };
  }

  /** The servers listen: on these ports. */
  listening(ports: Partial<Ports>): void {
    Object.assign(this.ports, ports);
  }

  /** A finding of an address outside; a later one wins where both name a port (a dial-back proves more than the router). */
  find(finding: OutsideFinding): void {
    this.#findings.push(finding);
  }

  /** Where other instances reach this one: only origins peers accept, with a port 1-65535 (src/domain/urls.ts). */
  addresses(): AdvertisedAddresses {
    const host = publicHost(this.#host);
    const outside = Object.assign({}, ...this.#findings.map((finding) => finding.advertised())) as Partial<AdvertisedAddresses>;
    return advertisable({ http: `http://${host}:${this.ports.http}`, ws: `ws://${host}:${this.ports.ws}`, ...outside });
  }

  /** The page's own URL for invites: this machine's address on its network, at the HTTP port. */
  publicUrl(): string {
    return `http://${publicHost(this.#host)}:${this.ports.http}`;
  }

  /** What is advertised may have changed (a mapping, a dial-back's finding). */
  changed(): void {
    this.#changed.emit();
  }

  onChange(handler: () => void): () => void {
    return this.#changed.add(handler);
  }
}
