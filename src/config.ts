import { hostname } from "node:os";
import { DISPLAY_NAME_MAX, DISPLAY_NAME_RULE, isDisplayName, isRoomName, ROOM_RULE } from "./domain/names.ts";
import { isTier, TIERS, type Tier } from "./domain/tiers.ts";

export interface TurnServer {
  secure: boolean;
  username: string;
  password: string;
  host: string;
  port: number;
}

export interface Config {
  httpPort: number;
  wsPort: number;
  host: string;
  db: string;
  name: string;
  peers: string[];
  rooms: string[];
  stun: string[];
  turn: TurnServer[];
  transports: Tier[];
  lanPort: number;
  lanAddr: string | null;
}

/** A bad flag or value; the message names the flag and is printed as is. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export type ParsedArgs = { kind: "run"; config: Config } | { kind: "help" } | { kind: "version" } | { kind: "self-test" };

export const DEFAULT_STUN = "stun:stun.l.google.com:19302";

interface FlagSpec {
  help: string;
  value?: string;
  repeatable?: boolean;
}

const FLAGS: Record<string, FlagSpec> = {
  "http-port": { value: "N", help: "HTTP server: page, JSON API, SSE, files, HTTP link tier (0 = any free port) [8080]" },
  "ws-port": { value: "N", help: "WebSocket server: /signal hub and WebSocket link tier (0 = any free port) [9000]" },
  host: { value: "ADDR", help: "address both servers bind [0.0.0.0]" },
  db: { value: "PATH", help: "SQLite file, created if missing [chat.db]" },
  name: { value: "NAME", help: "this instance's display name [derived from the host name]" },
  peer: { value: "URL", repeatable: true, help: "another instance's HTTP base URL (http://host:port) to connect to at start" },
  room: { value: "NAME", repeatable: true, help: "join this room at start" },
  stun: { value: "URL", repeatable: true, help: `STUN server (stun:host:port); 'none' disables STUN [${DEFAULT_STUN}]` },
  turn: { value: "URL", repeatable: true, help: "TURN server: turn:USER:PASS@HOST:PORT (also turns:)" },
  transports: { value: "LIST", help: `tiers that may be used, comma-separated [${TIERS.join(",")}]` },
  "lan-port": { value: "N", help: "UDP port for LAN discovery and the LAN tier [9999]" },
  "lan-addr": { value: "ADDR", help: "where LAN beacons and frames go [each interface's broadcast address]" },
  "self-test": { help: "open a WebRTC DataChannel to this process over loopback, print the result and exit" },
  help: { help: "print this help and exit" },
  version: { help: "print the version and exit" },
};

export function usage(): string {
  const lines = ["Usage: e-goat [flags]", "", "A peer-to-peer messenger. Open http://localhost:8080 after start.", "", "Flags:"];
  for (const [name, spec] of Object.entries(FLAGS)) {
    const left = `  --${name}${spec.value ? ` ${spec.value}` : ""}`;
    lines.push(`${left.padEnd(24)} ${spec.help}${spec.repeatable ? " (repeatable)" : ""}`);
  }
  lines.push("", "Both --flag value and --flag=value work; so does -flag=value.");
  return lines.join("\n");
}

function defaultName(): string {
  const base = hostname().split(".")[0]?.replace(/[^A-Za-z0-9_.-]/g, "") ?? "";
  return base.slice(0, DISPLAY_NAME_MAX) || "e-goat";
}

function parsePort(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw)) throw new ConfigError(`--${flag}: '${raw}' is not a port number (0-65535)`);
  const port = Number(raw);
  if (port > 65535) throw new ConfigError(`--${flag}: ${raw} is out of range (0-65535)`);
  return port;
}

function parsePeerUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`--peer: '${raw}' is not a URL (expected http://host:port)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`--peer: '${raw}' must start with http:// or https://`);
  }
  return url.origin;
}

function parseStun(raw: string): string {
  if (!/^stuns?:[^\s:@]+(:\d{1,5})?$/.test(raw)) throw new ConfigError(`--stun: '${raw}' is not a STUN URL (stun:host:port) or 'none'`);
  return raw;
}

export function parseTurn(raw: string): TurnServer {
  const m = /^(turns?):([^:@\s]+):([^@\s]+)@([^:@\s]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(raw);
  if (!m) throw new ConfigError(`--turn: '${raw}' is not of the form turn:USER:PASS@HOST:PORT`);
  const [, scheme, username, password, host, port] = m as unknown as [string, string, string, string, string, string];
  return { secure: scheme === "turns", username, password, host, port: parsePort("turn", port) };
}

function parseTransports(raw: string): Tier[] {
  const names = raw.split(",").map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new ConfigError(`--transports: give at least one of ${TIERS.join(", ")}`);
  for (const name of names) {
    if (!isTier(name)) {
      throw new ConfigError(`--transports: unknown tier '${name}' (known: ${TIERS.join(", ")})`);
    }
  }
  return [...new Set(names)] as Tier[];
}

function parseAddr(flag: string, raw: string): string {
  if (!/^[A-Za-z0-9.:_-]+$/.test(raw) || raw.length > 255) throw new ConfigError(`--${flag}: '${raw}' is not a host name or IP address`);
  return raw;
}

/** Splits argv into flag/value pairs; accepts --flag value, --flag=value and -flag=value. */
function* tokens(argv: string[]): Generator<[string, string | undefined]> {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--?([A-Za-z][A-Za-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new ConfigError(`unexpected argument '${arg}' (see --help)`);
    const name = m[1]!;
    const spec = FLAGS[name];
    if (!spec) throw new ConfigError(`unknown flag '${arg.split("=")[0]}' (see --help)`);
    if (!spec.value) {
      if (m[2] !== undefined) throw new ConfigError(`--${name} takes no value`);
      yield [name, undefined];
      continue;
    }
    if (m[2] !== undefined) {
      yield [name, m[2]];
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined) throw new ConfigError(`--${name} needs a value (${spec.value})`);
    i++;
    yield [name, next];
  }
}

export function parseArgs(argv: string[]): ParsedArgs {
  const config: Config = {
    httpPort: 8080,
    wsPort: 9000,
    host: "0.0.0.0",
    db: "chat.db",
    name: defaultName(),
    peers: [],
    rooms: [],
    stun: [DEFAULT_STUN],
    turn: [],
    transports: [...TIERS],
    lanPort: 9999,
    lanAddr: null,
  };
  const stun: string[] = [];
  for (const [flag, value] of tokens(argv)) {
    const v = value ?? "";
    switch (flag) {
      case "help":
        return { kind: "help" };
      case "version":
        return { kind: "version" };
      case "self-test":
        return { kind: "self-test" };
      case "http-port":
        config.httpPort = parsePort(flag, v);
        break;
      case "ws-port":
        config.wsPort = parsePort(flag, v);
        break;
      case "lan-port":
        config.lanPort = parsePort(flag, v);
        break;
      case "host":
        config.host = parseAddr(flag, v);
        break;
      case "lan-addr":
        config.lanAddr = parseAddr(flag, v);
        break;
      case "db":
        if (!v) throw new ConfigError("--db: give a file path");
        config.db = v;
        break;
      case "name":
        if (!isDisplayName(v)) throw new ConfigError(`--name: must be ${DISPLAY_NAME_RULE}`);
        config.name = v;
        break;
      case "peer":
        config.peers.push(parsePeerUrl(v));
        break;
      case "room":
        if (!isRoomName(v)) throw new ConfigError(`--room: '${v}' is not a room name (${ROOM_RULE})`);
        if (!config.rooms.includes(v)) config.rooms.push(v);
        break;
      case "stun":
        stun.push(v === "none" ? v : parseStun(v));
        break;
      case "turn":
        config.turn.push(parseTurn(v));
        break;
      case "transports":
        config.transports = parseTransports(v);
        break;
    }
  }
  if (stun.length > 0) config.stun = stun.includes("none") ? [] : stun;
  return { kind: "run", config };
}
