import { describe, expect, it } from "bun:test";
import { ConfigError, DEFAULT_STUN, parseArgs, usage, type Config } from "../../src/config.ts";

function config(...argv: string[]): Config {
  const parsed = parseArgs(argv);
  if (parsed.kind !== "run") throw new Error(`expected run, got ${parsed.kind}`);
  return parsed.config;
}

function refused(argv: string[], flag: string) {
  expect(() => parseArgs(argv)).toThrow(ConfigError);
  expect(() => parseArgs(argv)).toThrow(flag);
}

describe("flags", () => {
  it("has the contract's defaults", () => {
    const c = config();
    expect(c).toMatchObject({ httpPort: 8080, wsPort: 9000, host: "0.0.0.0", db: "chat.db", peers: [], rooms: [], stun: [DEFAULT_STUN], turn: [], lanPort: 9999, lanAddr: null, portMapping: true });
    expect(c.transports).toEqual(["webrtc", "turn", "websocket", "http", "lan", "relay"]);
    // No --name: the instance takes the name kept in chat.db, else "E-Goat" and 4 digits of its node id (never the host name).
    expect(c.name).toBeUndefined();
  });

  it("takes --flag value, --flag=value and -flag=value alike", () => {
    expect(config("--http-port", "81").httpPort).toBe(81);
    expect(config("--http-port=82").httpPort).toBe(82);
    expect(config("-http-port=83").httpPort).toBe(83);
    expect(config("-ws-port", "84").wsPort).toBe(84);
  });

  it("takes every flag", () => {
    const c = config(
      "--http-port", "0", "--ws-port", "0", "--host", "127.0.0.1", "--db", "/tmp/x.db", "--name", "Ada Lovelace",
      "--peer", "http://10.0.0.2:8080/", "--peer=http://h:1", "--room", "a", "--room", "b", "--stun", "stun:s.example:3478",
      "--turn", "turn:u:p@t.example:3478", "--transports", "websocket,http", "--lan-port", "1234", "--lan-addr", "127.255.255.255",
      "--rendezvous", "http://r.example:8080/", "--rendezvous", "https://r.example",
    );
    expect(c).toMatchObject({
      httpPort: 0, wsPort: 0, host: "127.0.0.1", db: "/tmp/x.db", name: "Ada Lovelace", peers: ["http://10.0.0.2:8080", "http://h:1"],
      rooms: ["a", "b"], stun: ["stun:s.example:3478"], transports: ["websocket", "http"], lanPort: 1234, lanAddr: "127.255.255.255",
      rendezvous: ["http://r.example:8080", "https://r.example"],
    });
    expect(c.turn).toEqual([{ secure: false, username: "u", password: "p", host: "t.example", port: 3478 }]);
  });

  it("--port-mapping off turns port mapping off", () => expect(config("--port-mapping", "off").portMapping).toBe(false));
  it("--stun none disables STUN", () => expect(config("--stun", "none").stun).toEqual([]));
  it("--turn takes turns: too", () => expect(config("--turn", "turns:a:b@h:5349").turn[0]!.secure).toBe(true));
  it("--room given twice joins once", () => expect(config("--room", "a", "--room", "a").rooms).toEqual(["a"]));
  it("--help and --version win", () => {
    expect(parseArgs(["--http-port", "1", "--help"]).kind).toBe("help");
    expect(parseArgs(["--version"]).kind).toBe("version");
  });
  it("--help lists every flag", () => {
    for (const flag of ["http-port", "ws-port", "host", "db", "name", "peer", "rendezvous", "room", "stun", "turn", "transports", "lan-port", "lan-addr", "port-mapping", "help", "version"]) {
      expect(usage()).toContain(`--${flag}`);
    }
  });
});

describe("bad flags name the flag", () => {
  it("a port that is not a number", () => refused(["--http-port", "abc"], "--http-port"));
  it("a port out of range", () => refused(["--ws-port=70000"], "--ws-port"));
  it("a negative port", () => refused(["--lan-port", "-1"], "--lan-port"));
  it("a missing value", () => refused(["--db"], "--db"));
  it("an unknown flag", () => refused(["--colour", "red"], "--colour"));
  it("a stray argument", () => refused(["serve"], "serve"));
  it("a peer that is not a URL", () => refused(["--peer", "somewhere"], "--peer"));
  it("a peer with another scheme", () => refused(["--peer", "ftp://h"], "--peer"));
  it("a rendezvous that is not a URL", () => refused(["--rendezvous", "somewhere"], "--rendezvous"));
  it("a rendezvous with another scheme", () => refused(["--rendezvous", "ws://h:9000"], "--rendezvous"));
  it("a room with spaces", () => refused(["--room", "a b"], "--room"));
  it("a TURN URL without credentials", () => refused(["--turn", "turn:host:3478"], "--turn"));
  it("a STUN URL of the wrong scheme", () => refused(["--stun", "http://x"], "--stun"));
  it("an unknown tier", () => refused(["--transports", "webrtc,carrier-pigeon"], "--transports"));
  it("an empty tier list", () => refused(["--transports", ","], "--transports"));
  it("a name with a control character", () => refused(["--name", "a\u0007"], "--name"));
  it("port mapping neither on nor off", () => refused(["--port-mapping", "yes"], "--port-mapping"));
  it("a value on a switch", () => refused(["--help=yes"], "--help"));
});
