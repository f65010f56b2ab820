/**
 * Where another instance says it can be reached: an origin only (scheme, host, port). Never a path, query or user:
 * the paths we request there are ours, so an address from outside cannot make this instance call a URL it chose.
 */
import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";

const HOST = "(\\[[0-9A-Fa-f:.]{2,45}\\]|[A-Za-z0-9.-]{1,253})(:[0-9]{1,5})?";

/** An instance's HTTP origin, e.g. `http://192.168.1.5:8080`. */
export const HttpOrigin = Type.String({ maxLength: 300, pattern: `^https?://${HOST}$` });
/** An instance's WebSocket origin, e.g. `ws://192.168.1.5:9000`. */
export const WsOrigin = Type.String({ maxLength: 300, pattern: `^wss?://${HOST}$` });

/** Where an instance can be reached, as it advertises itself to others (a dialable PeerAddress is made from it). */
export const AdvertisedAddresses = Type.Object(
  { http: Type.Optional(HttpOrigin), ws: Type.Optional(WsOrigin) },
  { additionalProperties: false },
);

export type AdvertisedAddresses = Static<typeof AdvertisedAddresses>;

const checkHttp = TypeCompiler.Compile(HttpOrigin);
const checkWs = TypeCompiler.Compile(WsOrigin);

/**
 * What may be advertised of addresses this instance built (its bind, a router's answer, a dial-back's finding): each
 * that is an origin as peers check it, with a port from 1 to 65535; one that is not is left out, never sent, since a
 * peer refuses a hello that carries it (a router's port "abc" made `:NaN`, and every hello after was refused).
 */
export function advertisable(addresses: { http?: string; ws?: string }): AdvertisedAddresses {
  const ok = (value: string | undefined, check: (v: string) => boolean) => value !== undefined && check(value) && URL.canParse(value) && portOf(value) !== undefined;
  const out = { ...addresses };
  if (!ok(out.http, (v) => checkHttp.Check(v))) delete out.http;
  if (!ok(out.ws, (v) => checkWs.Check(v))) delete out.ws;
  return out;
}

/** The port an origin names (or its scheme's default), when it is 1 to 65535. */
function portOf(origin: string): number | undefined {
  const url = new URL(origin);
  const port = url.port === "" ? ({ "http:": 80, "https:": 443, "ws:": 80, "wss:": 443 } as Record<string, number>)[url.protocol] : Number(url.port);
  return port !== undefined && port >= 1 && port <= 65535 ? port : undefined;
}
