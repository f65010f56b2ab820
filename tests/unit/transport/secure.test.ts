/**
 * The secure channel (src/transport/secure/): a Noise XX handshake that proves both node ids, then sealed frames.
 * Over the in-memory tier, with a tap on the raw links to alter, replay and read what crosses.
 */
import { describe, expect, it } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { DialError, WrongPeerError } from "../../../src/transport/errors.ts";
import { wholeFrame, type Link } from "../../../src/transport/link.ts";
import { MemoryNetwork, memoryTransport } from "../../../src/transport/memory/index.ts";
import { secureChannel, type ChannelIdentity } from "../../../src/transport/secure/channel.ts";
import { MAX_SECURE_FRAME_BYTES } from "../../../src/transport/secure/secure-link.ts";
import { nodeIdOf } from "../../../src/storage/identity.ts";
import { waitFor } from "../../helpers/instance.ts";

function identity(): ChannelIdentity {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return { nodeId: nodeIdOf(publicKey), publicKey, privateKey };
}

/** Two raw memory links, one each way, and what crossed them (the dialler's frames as sent). */
async function rawPair() {
  const net = new MemoryNetwork();
  const server = memoryTransport(net, "server", "websocket");
  const accepted = Promise.withResolvers<Link>();
  await server.listen((link) => accepted.resolve(link));
  const dialled = await memoryTransport(net, "client", "websocket").dial({ memory: "server" });
  return { dialled, accepted: await accepted.promise };
}

async function connect(a = identity(), b = identity(), expected?: string) {
  const { dialled, accepted } = await rawPair();
  const sent: Uint8Array[] = [];
  const send = dialled.send.bind(dialled);
  dialled.send = (frame) => {
    sent.push(Uint8Array.from(wholeFrame(frame)));
    send(frame);
  };
  const [client, server] = await Promise.all([
    secureChannel(dialled, { identity: a, initiator: true, expected: expected ?? b.nodeId, timeoutMs: 2000 }),
    secureChannel(accepted, { identity: b, initiator: false, timeoutMs: 2000 }),
  ]);
  return { a, b, client, server, dialled, accepted, sent };
}

describe("secure channel", () => {
  it("proves both node ids and carries frames both ways, only as ciphertext", async () => {
    const { a, b, client, server, sent } = await connect();
    expect(client.nodeId).toBe(b.nodeId);
    expect(server.nodeId).toBe(a.nodeId);
    const got: string[] = [];
    server.link.onFrame((f) => got.push(new TextDecoder().decode(f)));
    const back: string[] = [];
    client.link.onFrame((f) => back.push(new TextDecoder().decode(f)));
    client.link.send(new TextEncoder().encode("marker-7f3a secret text"));
    server.link.send(new TextEncoder().encode("answer"));
    await waitFor(() => got.length === 1 && back.length === 1, 2000, "frames");
    expect(got).toEqual(["marker-7f3a secret text"]);
    expect(back).toEqual(["answer"]);
    const wire = Buffer.concat(sent).toString("latin1");
    expect(wire).not.toContain("marker-7f3a");
    // Neither side's identity key crosses in the clear either (it travels inside the handshake's encryption).
    expect(Buffer.concat(sent).includes(Buffer.from(a.publicKey.export({ format: "jwk" }).x!, "base64url"))).toBe(false);
  });

  it("a dial that reaches another node fails with WrongPeerError before revealing who dialled", async () => {
    const { dialled, accepted } = await rawPair();
    const a = identity();
    const b = identity();
    const someoneElse = identity().nodeId;
    const server = secureChannel(accepted, { identity: b, initiator: false, timeoutMs: 1000 }).catch((error: unknown) => error);
    const client = secureChannel(dialled, { identity: a, initiator: true, expected: someoneElse, timeoutMs: 1000 });
    await expect(client).rejects.toBeInstanceOf(WrongPeerError);
    await expect(client).rejects.toThrow(`reached ${b.nodeId}, not ${someoneElse}`);
    // The answering side never learns who dialled: the handshake ends before the dialler's identity is sent.
    expect(await server).toBeInstanceOf(DialError);
    expect(dialled.closed).toBe(true);
  });

  it("a link to itself is refused", async () => {
    const me = identity();
    const { dialled, accepted } = await rawPair();
    const results = await Promise.allSettled([
      secureChannel(dialled, { identity: me, initiator: true, timeoutMs: 1000 }),
      secureChannel(accepted, { identity: me, initiator: false, timeoutMs: 1000 }),
    ]);
    expect(results[0]).toMatchObject({ status: "rejected", reason: expect.any(WrongPeerError) });
  });

  it("a frame replayed, altered or out of order closes the link; nothing of it is delivered", async () => {
    for (const attack of ["replay", "alter", "reorder"] as const) {
      const { client, server, dialled } = await connect();
      const got: string[] = [];
      server.link.onFrame((f) => got.push(new TextDecoder().decode(f)));
      const sealed: Uint8Array[] = [];
      const send = dialled.send;
      dialled.send = (frame) => void sealed.push(Uint8Array.from(wholeFrame(frame)));
      client.link.send(new TextEncoder().encode("one"));
      client.link.send(new TextEncoder().encode("two"));
      dialled.send = send;
      if (attack === "replay") [sealed[0]!, sealed[0]!].forEach((f) => dialled.send(f));
      if (attack === "alter") dialled.send(sealed[0]!.map((byte, i) => (i === 0 ? byte ^ 1 : byte)));
      if (attack === "reorder") dialled.send(sealed[1]!);
      await waitFor(() => server.link.closed, 2000, `${attack} closes the link`);
      expect(got).toEqual(attack === "replay" ? ["one"] : []);
    }
  });

  it("a stranger's handshake that does not sign its key is refused", async () => {
    const { dialled, accepted } = await rawPair();
    const server = secureChannel(accepted, { identity: identity(), initiator: false, timeoutMs: 1000 });
    // A first message from another protocol version is refused in words.
    dialled.send(new TextEncoder().encode("not a noise message"));
    await expect(server).rejects.toBeInstanceOf(DialError);
  });

  it("refuses a frame too large to seal, whole or in parts, and the link stays open", async () => {
    const { client } = await connect();
    expect(() => client.link.send(new Uint8Array(MAX_SECURE_FRAME_BYTES + 1))).toThrow(/limit of a secure link/);
    expect(() => client.link.send([new Uint8Array(MAX_SECURE_FRAME_BYTES), Uint8Array.of(1)])).toThrow(/limit of a secure link/);
    expect(client.link.closed).toBe(false);
  });

  it("seals a frame given in parts as one frame, which opens whole, only as ciphertext on the wire", async () => {
    const { client, server, sent } = await connect();
    const got: Uint8Array[] = [];
    server.link.onFrame((f) => got.push(f));
    const head = new TextEncoder().encode("marker-91c4 head|");
    const tail = new Uint8Array(100_000).map((_, i) => (i * 13) % 256);
    client.link.send([head, tail]);
    client.link.send(new TextEncoder().encode("after"));
    await waitFor(() => got.length === 2, 2000, "frames");
    expect(Buffer.from(got[0]!).equals(Buffer.concat([head, tail]))).toBe(true);
    expect(new TextDecoder().decode(got[1])).toBe("after");
    expect(Buffer.concat(sent).toString("latin1")).not.toContain("marker-91c4");
  });
});
