import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { TurnServer } from "../../src/domain/tiers.ts";

/** The coturn binary, from PATH or /usr/bin; null when coturn is not installed. */
export const TURNSERVER: string | null = Bun.which("turnserver") ?? (existsSync("/usr/bin/turnserver") ? "/usr/bin/turnserver" : null);

export interface Coturn {
  /** The server as the `--turn` flag would give it (user `u`, password `p`). */
  server: TurnServer;
  /** Everything coturn logged so far, for failure messages. */
  log: () => string;
  stop: () => Promise<void>;
  [Symbol.asyncDispose]: () => Promise<void>;
}

/** A port free for both UDP and TCP on 127.0.0.1 (coturn listens on both). */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = createSocket("udp4");
    await new Promise<void>((resolve, reject) => udp.once("error", reject).bind(0, "127.0.0.1", resolve));
    const port = udp.address().port;
    const tcp = createServer();
    const tcpFree = await new Promise<boolean>((resolve) => {
      tcp.once("error", () => resolve(false)).listen(port, "127.0.0.1", () => resolve(true));
    });
    udp.close();
    if (tcpFree) await new Promise((resolve) => tcp.close(resolve));
    if (tcpFree) return port;
  }
  throw new Error("no port free for both UDP and TCP on 127.0.0.1");
}

/** Resolves once a STUN binding request to the port is answered (coturn's UDP listener is up). */
async function answersStun(port: number, timeoutMs: number): Promise<boolean> {
  const socket = createSocket("udp4");
  const request = Buffer.alloc(20);
  request.writeUInt16BE(0x0001, 0); // Binding request, no attributes
  request.writeUInt32BE(0x2112a442, 4); // magic cookie
  crypto.getRandomValues(request.subarray(8));
  const answered = new Promise<boolean>((resolve) => socket.on("message", (m) => m.readUInt16BE(0) === 0x0101 && resolve(true)));
  const resend = setInterval(() => socket.send(request, port, "127.0.0.1"), 50);
  try {
    return await Promise.race([answered, Bun.sleep(timeoutMs).then(() => false)]);
  } finally {
    clearInterval(resend);
    socket.close();
  }
}

/** Starts a real TURN server on 127.0.0.1 that relays between loopback peers; logs stay in a temp dir. */
export async function startCoturn(timeoutMs = 10_000): Promise<Coturn> {
  if (!TURNSERVER) throw new Error("coturn missing: apt-get install coturn");
  const dir = mkdtempSync(join(tmpdir(), "e-goat-coturn-"));
  const port = await freePort();
  const logFile = join(dir, "turn.log");
  // prettier-ignore
  const proc: Subprocess = Bun.spawn([
    TURNSERVER, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", `--listening-port=${port}`,
    "--user=u:p", "--realm=egoat", "--lt-cred-mech", "--no-cli", "--no-tls", "--no-dtls", "--allow-loopback-peers",
    "--no-rfc5780", "--no-software-attribute", "--no-stdout-log", "--simple-log", `--log-file=${logFile}`,
    `--pidfile=${join(dir, "turnserver.pid")}`, `--userdb=${join(dir, "turndb")}`,
  ], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  // A test process that exits without its teardown must not leave the server running.
  const killOnExit = () => {
    proc.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    proc.kill();
    // Never wait on the server for ever: kill it hard, and go on, if it has not gone within 5 s.
    const gone = await Promise.race([proc.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
    if (!gone) {
      console.log(`coturn (pid ${proc.pid}) did not stop within 5 s of SIGTERM; killing it`);
      proc.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  if (!(await answersStun(port, timeoutMs))) {
    const output = log();
    await stop();
    throw new Error(`coturn did not answer on 127.0.0.1:${port} within ${timeoutMs} ms:\n${output}`);
  }
  return {
    server: { secure: false, username: "u", password: "p", host: "127.0.0.1", port },
    log,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
