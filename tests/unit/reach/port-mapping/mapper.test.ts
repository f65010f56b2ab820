// The NAT-PMP client against a router played by a UDP socket on loopback, and the helpers that find the router.
import { afterEach, describe, expect, it } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../../../helpers/instance.ts";
import { addressToward, defaultGateway, routingTableGateway } from "../../../../src/reach/port-mapping/gateway.ts";
import { NatPmpClient } from "../../../../src/reach/port-mapping/nat-pmp.ts";
import { gatewayLocation, IGD2, parseSearchAnswer, searchGateway } from "../../../../src/reach/port-mapping/ssdp.ts";

type Reply = (request: Uint8Array, from: { port: number }) => Uint8Array[] | null;

/** A NAT-PMP router on 127.0.0.1 that answers each request as `reply` says (null: no answer). */
async function router(reply: Reply) {
  const requests: Uint8Array[] = [];
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    binaryType: "uint8array",
    socket: {
      data(s, data, port, address) {
        requests.push(data);
        for (const answer of reply(data, { port }) ?? []) s.send(answer, port, address);
      },
    },
  });
  return { port: socket.port, requests, close: () => socket.close() };
}

/** A router's answer to a map request: result, then the ports and lifetime it grants. */
function mapAnswer(request: Uint8Array, opts: { result?: number; externalPort?: number; internalPort?: number; op?: number } = {}): Uint8Array {
  const req = new DataView(request.buffer, request.byteOffset, request.byteLength);
  const answer = new DataView(new ArrayBuffer(16));
  answer.setUint8(1, opts.op ?? 128 + req.getUint8(1));
  answer.setUint16(2, opts.result ?? 0);
  answer.setUint32(4, 1234);
  answer.setUint16(8, opts.internalPort ?? req.getUint16(4));
  answer.setUint16(10, opts.externalPort ?? req.getUint16(6));
  answer.setUint32(12, req.getUint32(8));
  return new Uint8Array(answer.buffer);
}

const addressAnswer = () => Uint8Array.of(0, 128, 0, 0, 0, 0, 4, 210, 203, 0, 113, 7);

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0)) done();
});

async function client(reply: Reply, opts: { tries?: number } = {}) {
  const r = await router(reply);
  const c = new NatPmpClient({ gateway: "127.0.0.1", port: r.port, firstWaitMs: 20, ...opts });
  cleanup.push(() => c.close(), () => r.close());
  return { r, c };
}

describe("NAT-PMP client", () => {
  it("asks for the public address, and maps a TCP port with its lifetime in seconds", async () => {
    const { r, c } = await client((req) => [req[1] === 0 ? addressAnswer() : mapAnswer(req, { externalPort: 40000 })]);
    expect(await c.externalAddress()).toBe("203.0.113.7");
    expect(await c.mapTcp(8080, 8080, 7200)).toEqual({ externalPort: 40000, lifetime: 7200 });
    const map = new DataView(r.requests[1]!.buffer, r.requests[1]!.byteOffset);
    expect([map.getUint8(0), map.getUint8(1), map.getUint16(4), map.getUint16(6), map.getUint32(8)]).toEqual([0, 2, 8080, 8080, 7200]);
    await c.unmapTcp(8080);
    const unmap = new DataView(r.requests[2]!.buffer, r.requests[2]!.byteOffset);
    expect([unmap.getUint16(4), unmap.getUint16(6), unmap.getUint32(8)]).toEqual([8080, 0, 0]);
  });

  it("sends a request again when no answer comes, and gives up after its tries", async () => {
    let seen = 0;
    const { r, c } = await client((req) => (++seen < 3 ? null : [mapAnswer(req)]));
    expect((await c.mapTcp(9000, 9000, 60)).externalPort).toBe(9000);
    expect(r.requests.length).toBe(3);

    const silent = await client(() => null, { tries: 3 });
    await expect(silent.c.externalAddress()).rejects.toThrow("no NAT-PMP answer from 127.0.0.1");
    expect(silent.r.requests.length).toBe(3);
  });

  it("takes no answer that is short, of another opcode or another port, and is not thrown off by it", async () => {
    const { c } = await client((req) => [
      Uint8Array.of(0),
      Uint8Array.of(0, 130, 0),
      mapAnswer(req).subarray(0, 12),
      mapAnswer(req, { op: 129, externalPort: 1 }),
      mapAnswer(req, { internalPort: 1234, externalPort: 2 }),
      Uint8Array.of(1, ...mapAnswer(req).subarray(1)),
      mapAnswer(req, { externalPort: 41000 }),
    ]);
    expect((await c.mapTcp(8080, 8080, 60)).externalPort).toBe(41000);
  });

  it("takes no answer from another address than the router's, even one that looks right", async () => {
    // Its datagrams are refused (nothing else listens at the client's port), which it hears of as errors.
    const forger = await Bun.udpSocket({ hostname: "127.0.0.1", binaryType: "uint8array", socket: { error: () => {} } });
    cleanup.push(() => forger.close());
    // The forger races the router with an answer naming another port, sent to the port the request came from.
    const { c } = await client((req, from) => {
      forger.send(mapAnswer(req, { externalPort: 6666 }), from.port, "127.0.0.1");
      return null;
    }, { tries: 2 });
    await expect(c.mapTcp(8080, 8080, 60)).rejects.toThrow("no NAT-PMP answer");
  });

  it("says why a router refused, and fails at once where nothing listens", async () => {
    const { c } = await client((req) => [mapAnswer(req, { result: 2 }).subarray(0, 8)]);
    await expect(c.mapTcp(8080, 8080, 60)).rejects.toThrow("the router refused: refused (NAT-PMP may be off on the router)");

    const closed = await router(() => null);
    closed.close();
    const nobody = new NatPmpClient({ gateway: "127.0.0.1", port: closed.port, firstWaitMs: 1000, tries: 5 });
    cleanup.push(() => nobody.close());
    const started = performance.now();
    await expect(nobody.externalAddress()).rejects.toThrow("nothing answers NAT-PMP at 127.0.0.1");
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe("finding the router", () => {
  const answer = (location: string, st = IGD2) => `HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: ${st}\r\nLocation: ${location}\r\nEXT:\r\n\r\n`;

  it("reads an SSDP answer, and takes its LOCATION only as an http URL on the address it came from", async () => {
    const headers = parseSearchAnswer(answer("http://10.9.0.1:5000/rootDesc.xml"))!;
    expect(headers.get("location")).toBe("http://10.9.0.1:5000/rootDesc.xml");
    expect(parseSearchAnswer("NOTIFY * HTTP/1.1\r\nLOCATION: http://10.9.0.1/\r\n\r\n")).toBeNull();
    // 127.0.0.1 is on no network of ours a router could be on (loopback), 8.8.8.8 is no router's LAN side.
    for (const [text, from] of [
      [answer("http://127.0.0.1:8080/"), "127.0.0.1"],
      [answer("http://8.8.8.8/desc.xml"), "8.8.8.8"],
    ] as const) {
      expect(gatewayLocation(parseSearchAnswer(text)!, from, from)).toBeNull();
    }
    // This machine's own router, if it has one, as the sender: the one shape taken, and what else is refused.
    const router = await defaultGateway();
    if (!router || !addressToward(router)) return console.log("no default gateway on a network of this machine: the accepted shape is not checked");
    const from = (text: string) => gatewayLocation(parseSearchAnswer(text)!, router, router)?.href ?? null;
    expect(from(answer(`http://${router}:5000/rootDesc.xml`))).toBe(`http://${router}:5000/rootDesc.xml`);
    expect(from(answer(`https://${router}:5000/rootDesc.xml`))).toBeNull();
    expect(from(answer("http://10.255.255.254:5000/rootDesc.xml"))).toBeNull();
    expect(from(answer(`http://${router}:5000/rootDesc.xml`, "urn:schemas-upnp-org:device:InternetGatewayDevice:1"))).toBeNull();
    // Another host of the LAN is not the router, whatever it answers.
    expect(gatewayLocation(parseSearchAnswer(answer(`http://${router}:5000/rootDesc.xml`))!, router, "10.255.255.254")).toBeNull();
  });

  it("fetches nothing an SSDP answer names on loopback (an answer cannot make us dial our own instance)", async () => {
    let fetched = 0;
    let asked = 0;
    using http = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (fetched++, new Response("<root/>", { headers: { "content-type": "text/xml" } })) });
    const responder = await Bun.udpSocket({
      hostname: "127.0.0.1",
      socket: { data: (s, _data, port, address) => void (asked++, s.send(answer(`http://127.0.0.1:${http.port}/rootDesc.xml`), port, address)) },
    });
    cleanup.push(() => responder.close());
    const found = await searchGateway(AbortSignal.timeout(300), "127.0.0.1", { hostname: "127.0.0.1", port: responder.port });
    expect(asked).toBeGreaterThan(0);
    expect(found).toBeNull();
    expect(fetched).toBe(0);
  });

  it("reads the default gateway from the kernel's routing table", () => {
    const dir = tempDir("e-goat-routes-");
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const routes = join(dir, "route");
    const head = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";
    writeFileSync(routes, `${head}eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\neth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n`);
    expect(routingTableGateway(routes)).toBe("192.168.1.1");
    writeFileSync(routes, `${head}eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n`);
    expect(routingTableGateway(routes)).toBeNull();
    expect(routingTableGateway(join(dir, "missing"))).toBeNull();
  });

  it("maps to no address toward a router off our networks, a public one, or loopback", () => {
    expect(addressToward("127.0.0.1")).toBeNull();
    expect(addressToward("8.8.8.8")).toBeNull();
    expect(addressToward("not an address")).toBeNull();
  });
});
