import { MAX_FILE_BYTES } from "./domain/files.ts";
import { parseArgs as parseFlags, type ParseArgsOptionDescriptor } from "node:util";
import { DISPLAY_NAME_RULE, isDisplayName, isRoomName, ROOM_RULE } from "./domain/names.ts";
import { instanceOrigin, InviteError, parseInvite, type Invite } from "./domain/rooms.ts";
import { isTier, TIERS, type Tier, type TurnServer } from "./domain/tiers.ts";


export interface Config {
  httpPort: number;
  wsPort: number;
  host: string;
  db: string;
  /** The display name given with `--name`; absent, the one kept in chat.db (set in the page), else "E-Goat" and 4 digits of the node id. */
  name: string | undefined;
  peers: string[];
  /** Instances (base URLs) where this one meets the other members of its rooms when neither can reach the other. */
  rendezvous: string[];
  /** Relays the encrypted links of instances that meet here and reach each other no other way. */
  relay: boolean;
  rooms: string[];
  stun: string[];
  turn: TurnServer[];
  transports: Tier[];
  lanPort: number;
  lanAddr: string | null;
  /** Rooms to join from invite links, each linking to the instance that issued it. */
  invites: Invite[];
  /** DNS names, besides IP literals, localhost and this machine's own name, that may appear in a request's Host. */
  publicHosts: string[];
  /** Largest file stored or fetched here, in bytes. */
  maxFileBytes: number;
  /** Asks the router (UPnP IGD or NAT-PMP) to forward the servers' ports. */
  portMapping: boolean;
  /** Keeps the sealed items of the rooms whose members use this instance as a rendezvous (`--mailbox`); null: off. */
  mailbox: { maxBytes: number; days: number } | null;
}

/** A bad flag or value; the message names the flag and is printed as is. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export type ParsedArgs = { kind: "run"; config: Config } | { kind: "help" } | { kind: "version" } | { kind: "self-test" };

export const DEFAULT_STUN = "stun:stun.l.google.com:19302";

interface Flag extends ParseArgsOptionDescriptor {
  /** What the value is, in --help (value flags only). */
  placeholder?: string;
  help: string;
}

/** Every flag once: its type and default for `node:util` parseArgs, and its line in --help. */
const FLAGS = {
  "http-port": { type: "string", placeholder: "N", default: "8080", help: "HTTP server: page, JSON API, SSE, files, HTTP link tier (0 = any free port)" },
  "ws-port": { type: "string", placeholder: "N", default: "9000", help: "WebSocket server: /signal hub and WebSocket link tier (0 = any free port)" },
  host: { type: "string", placeholder: "ADDR", default: "0.0.0.0", help: "address both servers bind" },
  db: { type: "string", placeholder: "PATH", default: "chat.db", help: "SQLite file, created if missing" },
  name: { type: "string", placeholder: "NAME", help: "this instance's display name, kept as set in the page until given again [E-Goat and 4 digits of its node id]" },
  peer: { type: "string", multiple: true, placeholder: "URL", help: "another instance's HTTP base URL (http://host:port) to connect to at start" },
  rendezvous: { type: "string", multiple: true, placeholder: "URL", help: "an instance both sides reach (http://host:port) that passes signaling between members of a room behind NATs" },
  relay: { type: "boolean", help: "relay the encrypted links of instances that use this one as rendezvous and reach each other no other way" },
  room: { type: "string", multiple: true, placeholder: "NAME", help: "join this open room at start" },
  invite: { type: "string", multiple: true, placeholder: "URL", help: "join the room of an invite link and link to the instance that issued it" },
  "public-host": { type: "string", multiple: true, placeholder: "NAME", help: "a DNS name that reaches this machine, accepted in Host (besides IPs, localhost, this host's name)" },
  stun: { type: "string", multiple: true, placeholder: "URL", default: [DEFAULT_STUN], help: "STUN server (stun:host:port); 'none' disables STUN" },
  turn: { type: "string", multiple: true, placeholder: "URL", help: "TURN server: turn:USER:PASS@HOST:PORT (also turns:)" },
  transports: { type: "string", placeholder: "LIST", default: TIERS.join(","), help: "tiers that may be used, comma-separated" },
  "lan-port": { type: "string", placeholder: "N", default: "9999", help: "UDP port for LAN discovery and the LAN tier" },
  "port-mapping": { type: "string", placeholder: "on|off", default: "on", help: "ask the router (UPnP IGD or NAT-PMP) to forward the HTTP and WebSocket ports, and advertise that address" },
  "lan-addr": { type: "string", placeholder: "ADDR", help: "where LAN beacons and frames go [each interface's broadcast address]" },
  "max-file-size": { type: "string", placeholder: "SIZE", default: "1GiB", help: "largest file this instance stores or fetches (bytes, or with KB, MB, GB, KiB, MiB, GiB)" },
  mailbox: { type: "boolean", help: "keep, sealed and unreadable here, the messages and files of the rooms whose members use this instance as a rendezvous" },
  "mailbox-size": { type: "string", placeholder: "SIZE", default: "1GiB", help: "what a mailbox keeps in all, up to 1TiB; the oldest items go first" },
  "mailbox-days": { type: "string", placeholder: "N", default: "30", help: "how long a mailbox keeps an item, in days" },
  "self-test": { type: "boolean", help: "open a WebRTC DataChannel to this process over loopback, print the result and exit" },
  help: { type: "boolean", help: "print this help and exit" },
  version: { type: "boolean", help: "print the version and exit" },
} satisfies Record<string, Flag>;

type FlagName = keyof typeof FLAGS;
const isFlagName = (name: string): name is FlagName => Object.hasOwn(FLAGS, name);

export function usage(): string {
  const lines = ["Usage: e-goat [flags]", "", "A peer-to-peer messenger. Open http://localhost:8080 after start.", "", "Flags:"];
  for (const [name, flag] of Object.entries(FLAGS) as [FlagName, Flag][]) {
    const left = `  --${name}${flag.placeholder ? ` ${flag.placeholder}` : ""}`;
    const fallback = flag.default === undefined ? "" : ` [${[flag.default].flat().join(",")}]`;
    lines.push(`${left.padEnd(24)} ${flag.help}${fallback}${flag.multiple ? " (repeatable)" : ""}`);
  }
  lines.push("", "Both --flag value and --flag=value work; so does -flag=value.");
  return lines.join("\n");
}

function parsePort(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw)) throw new ConfigError(`--${flag}: '${raw}' is not a port number (0-65535)`);
  const port = Number(raw);
  if (port > 65535) throw new ConfigError(`--${flag}: ${raw} is out of range (0-65535)`);
  return port;
}

function parseInstanceUrl(flag: "peer" | "rendezvous", raw: string): string {
  const origin = instanceOrigin(raw);
  if (origin) return origin;
  if (!URL.canParse(raw)) throw new ConfigError(`--${flag}: '${raw}' is not a URL (expected http://host:port)`);
  throw new ConfigError(`--${flag}: '${raw}' must start with http:// or https://`);
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

function parseSwitch(flag: string, raw: string): boolean {
  if (raw !== "on" && raw !== "off") throw new ConfigError(`--${flag}: '${raw}' is neither on nor off`);
  return raw === "on";
}

function parseDb(raw: string): string {
  if (!raw) throw new ConfigError("--db: give a file path");
  return raw;
}

function parseName(raw: string): string {
  if (!isDisplayName(raw)) throw new ConfigError(`--name: must be ${DISPLAY_NAME_RULE}`);
  return raw;
}

function parseRoom(raw: string): string {
  if (!isRoomName(raw)) throw new ConfigError(`--room: '${raw}' is not a room name (${ROOM_RULE})`);
  return raw;
}

function parseInviteFlag(raw: string): Invite {
  try {
    return parseInvite(raw);
  } catch (err) {
    if (err instanceof InviteError) throw new ConfigError(`--invite: '${raw}': ${err.message}`);
    throw err;
  }
}

function parsePublicHost(raw: string): string {
  const name = raw.toLowerCase().replace(/\.$/, "");
  if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(name)) {
    throw new ConfigError(`--public-host: '${raw}' is not a DNS name`);
  }
  return name;
}

function parseAddr(flag: string, raw: string): string {
  if (!/^[A-Za-z0-9.:_-]+$/.test(raw) || raw.length > 255) throw new ConfigError(`--${flag}: '${raw}' is not a host name or IP address`);
  return raw;
}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** A size such as `1GiB`, `500MB` or `1048576`: a whole number of bytes from 1 to `max` (MAX_FILE_BYTES). */
export function parseSize(flag: string, raw: string, max = MAX_FILE_BYTES): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ConfigError(`--${flag}: '${raw}' is not a size (such as 1GiB, 500MB or 1048576)`);
  const bytes = Math.floor(Number(m[1]) * unit);
  const most = max >= 1024 ** 4 ? `${max / 1024 ** 4} TiB` : `${max / 1024 ** 3} GiB`;
  if (bytes < 1 || bytes > max) throw new ConfigError(`--${flag}: ${raw} is out of range (1 byte to ${most})`);
  return bytes;
}

/** `--mailbox` with its size and days, each checked whether or not `--mailbox` is given. */
function parseMailbox(flags: { mailbox?: boolean; "mailbox-size": string; "mailbox-days": string }): Config["mailbox"] {
  const limits = { maxBytes: parseSize("mailbox-size", flags["mailbox-size"], MAX_MAILBOX_BYTES), days: parseDays("mailbox-days", flags["mailbox-days"]) };
  return flags.mailbox ? limits : null;
}

/** The most a mailbox may be given to keep: 1 TiB. */
const MAX_MAILBOX_BYTES = 1024 ** 4;

/** A whole number of days from 1 to 3650. */
function parseDays(flag: string, raw: string): number {
  const days = /^\d{1,4}$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!(days >= 1 && days <= 3650)) throw new ConfigError(`--${flag}: '${raw}' is not a number of days from 1 to 3650`);
  return days;
}

/** Every flag is long, so `-flag` and `-flag=value` are only a shorter spelling of `--flag`. */
const longForm = (arg: string) => (/^-[A-Za-z]/.test(arg) ? `-${arg}` : arg);

/** The flags' values, or a ConfigError naming the flag or argument parseArgs refused. */
function readFlags(argv: string[]) {
  const args = argv.map(longForm);
  try {
    return parseFlags({ args, options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw syntaxError(err, argv, args);
  }
}

/** parseArgs' refusal as one line: it quotes the argument at fault first ('--colour', '--db <value>', 'serve'). */
function syntaxError(err: unknown, argv: string[], args: string[]): unknown {
  const message = err instanceof Error ? err.message : String(err);
  const quoted = /'([^']*)'/.exec(message)?.[1]?.split(" ")[0] ?? "";
  switch ((err as { code?: unknown }).code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return new ConfigError(`unknown flag '${quoted}' (see --help)`);
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return new ConfigError(`unexpected argument '${quoted}' (see --help)`);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const name = quoted.replace(/^--/, "");
      const flag: Flag | undefined = isFlagName(name) ? FLAGS[name] : undefined;
      if (flag?.type === "boolean") return new ConfigError(`--${name} takes no value`);
      // "Ambiguous": the next argument starts with '-', so it may be a forgotten value or the next flag.
      const at = args.findIndex((arg, i) => arg === quoted && args[i + 1]?.startsWith("-"));
      if (at >= 0) return new ConfigError(`--${name}: '${argv[at + 1]}' starts with '-'; write --${name}=${argv[at + 1]} if it is the value`);
      return new ConfigError(`--${name} needs a value (${flag?.placeholder})`);
    }
  }
  return err;
}

export function parseArgs(argv: string[]): ParsedArgs {
  const flags = readFlags(argv);
  if (flags.help) return { kind: "help" };
  if (flags.version) return { kind: "version" };
  if (flags["self-test"]) return { kind: "self-test" };
  const stun = flags.stun.map((url) => (url === "none" ? url : parseStun(url)));
  const config: Config = {
    httpPort: parsePort("http-port", flags["http-port"]),
    wsPort: parsePort("ws-port", flags["ws-port"]),
    host: parseAddr("host", flags.host),
    db: parseDb(flags.db),
    name: flags.name === undefined ? undefined : parseName(flags.name),
    peers: (flags.peer ?? []).map((raw) => parseInstanceUrl("peer", raw)),
    rendezvous: [...new Set((flags.rendezvous ?? []).map((raw) => parseInstanceUrl("rendezvous", raw)))],
    relay: flags.relay ?? false,
    rooms: [...new Set((flags.room ?? []).map(parseRoom))],
    stun: stun.includes("none") ? [] : stun,
    turn: (flags.turn ?? []).map(parseTurn),
    transports: parseTransports(flags.transports),
    lanPort: parsePort("lan-port", flags["lan-port"]),
    lanAddr: flags["lan-addr"] === undefined ? null : parseAddr("lan-addr", flags["lan-addr"]),
    invites: (flags.invite ?? []).map(parseInviteFlag),
    publicHosts: [...new Set((flags["public-host"] ?? []).map(parsePublicHost))],
    maxFileBytes: parseSize("max-file-size", flags["max-file-size"]),
    portMapping: parseSwitch("port-mapping", flags["port-mapping"]),
    mailbox: parseMailbox(flags),
  };
  return { kind: "run", config };
}
