/** Dialling a peer back where its link comes from, as the reach protocol asks on its behalf (transport/protocols/reach.ts). */
import { urlHost } from "../util/ip.ts";
import type { DialBack } from "../transport/protocols/reach.ts";
import { resolvePeer } from "./peer-url.ts";

/** How long a dial-back may take per port. */
const DIAL_BACK_MS = 4000;

/** Dials a peer back at the address its link comes from: its HTTP port must answer as its node id, its WebSocket port at all. */
export const dialBack: DialBack = async (ip, ports, nodeId) => {
  const http = resolvePeer(`http://${urlHost(ip)}:${ports.http}`, AbortSignal.timeout(DIAL_BACK_MS)).then(
    (found) => found.nodeId === nodeId,
    () => false,
  );
  const ws = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), DIAL_BACK_MS);
    const done = (open: boolean) => {
      clearTimeout(timer);
      resolve(open);
    };
    Bun.connect({ hostname: ip, port: ports.ws, socket: { open: (socket) => (socket.end(), done(true)), connectError: () => done(false), data: () => {} } }).catch(() => done(false));
  });
  return { http: await http, ws: await ws };
};
