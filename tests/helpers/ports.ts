import { createSocket } from "node:dgram";

/** A UDP port nothing on 127.0.0.1 uses right now (bound with address reuse, as the LAN tier binds it). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket({ type: "udp4", reuseAddr: true });
  await new Promise<void>((resolve, reject) => socket.once("error", reject).bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** A TCP port on 127.0.0.1 where nothing listens (it was free a moment ago). */
export function deadTcpPort(): number {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port!;
  server.stop(true);
  return port;
}
