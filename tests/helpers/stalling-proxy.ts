/**
 * A TCP proxy in front of an instance's port that can stop reading what the instance sends, as a peer that never
 * reads its socket would: the kernel's buffers fill, and then whatever the instance queues stays in its own memory.
 * What the client sends still goes through, so the peer stays alive to the instance (its pings arrive).
 */
import { createConnection, createServer, type Socket } from "node:net";

export interface StallingProxy extends AsyncDisposable {
  /** `ws://127.0.0.1:PORT`: dial this instead of the instance's WebSocket address. */
  readonly ws: string;
  /** From now on nothing the instance sends is read, on every connection made through the proxy. */
  stall(): void;
}

export async function stallingProxy(target: string): Promise<StallingProxy> {
  const { hostname, port } = new URL(target);
  const pairs: { client: Socket; upstream: Socket }[] = [];
  let stalled = false;
  const server = createServer((client) => {
    const upstream = createConnection({ host: hostname, port: Number(port) });
    pairs.push({ client, upstream });
    client.pipe(upstream);
    if (stalled) upstream.pause();
    else upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("the proxy has no port");
  return {
    ws: `ws://127.0.0.1:${address.port}`,
    stall() {
      stalled = true;
      for (const { client, upstream } of pairs) {
        upstream.unpipe(client);
        upstream.pause();
      }
    },
    async [Symbol.asyncDispose]() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The resident memory of a process now, and its peak so far, in bytes (Linux). */
export async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}
