// The UPnP IGD client (src/reach/port-mapping/igd.ts) against routers played by HTTP servers on loopback: what a router's
// description and answers may make it do, and what is advertised of them (src/domain/urls.ts `advertisable`).
import { afterEach, describe, expect, it } from "bun:test";
import type { Server } from "bun";
import { advertisable } from "../../../../src/domain/urls.ts";
import { describeGateway, elementTexts, IgdClient, servicesOf, WAN_IP_CONNECTION } from "../../../../src/reach/port-mapping/igd.ts";

const servers: Server<unknown>[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) void s.stop(true);
});

function serve(route: (req: Request) => Response | Promise<Response>) {
  const seen: string[] = [];
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => (seen.push(`${req.method} ${new URL(req.url).pathname}`), route(req)) });
  servers.push(server);
  return { seen, url: `http://127.0.0.1:${server.port}` };
}

const xml = (body: string) => new Response(body, { headers: { "content-type": "text/xml" } });
const description = (control: string, scpd = "/scpd.xml") => `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:2</deviceType>
<deviceList><device><serviceList>
<service><serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType><controlURL>/ctl/CmnIfCfg</controlURL><SCPDURL>/x.xml</SCPDURL></service>
<service><serviceType>${WAN_IP_CONNECTION}</serviceType><controlURL>${control}</controlURL><SCPDURL>${scpd}</SCPDURL></service>
</serviceList></device></deviceList></device></root>`;
const soapAnswer = (action: string, inner: string) =>
  xml(`<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:${action}Response xmlns:u="${WAN_IP_CONNECTION}">${inner}</u:${action}Response></s:Body></s:Envelope>`);

describe("reading a router's XML", () => {
  it("finds elements in any namespace and decodes entities", () => {
    expect(elementTexts("<a:X>1&amp;2</a:X><X attr='y'> 3 </X>", "X")).toEqual(["1&2", "3"]);
    expect(servicesOf(description("/ctl/IPConn")).map((s) => s.type)).toEqual(["urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1", WAN_IP_CONNECTION]);
  });
});

describe("the description", () => {
  it("gives a control URL on its own host and port", async () => {
    const router = serve(() => xml(description("/ctl/IPConn")));
    expect((await describeGateway(new URL(`${router.url}/rootDesc.xml`), AbortSignal.timeout(2000))).href).toBe(`${router.url}/ctl/IPConn`);
  });

  it("naming a control or SCPD URL elsewhere (this machine's loopback service) is refused, and nothing is posted there", async () => {
    const inside = serve(() => new Response("ok"));
    for (const desc of [description(`${inside.url}/ctl`), description("/ctl/IPConn", `${inside.url}/scpd.xml`), description("//127.0.0.1:1/ctl")]) {
      const router = serve(() => xml(desc));
      await expect(describeGateway(new URL(`${router.url}/rootDesc.xml`), AbortSignal.timeout(2000))).rejects.toThrow("not on 127.0.0.1");
    }
    expect(inside.seen).toEqual([]);
  });

  it("is not followed through a redirect, nor read past its cap", async () => {
    const inside = serve(() => xml(description("/ctl/IPConn")));
    const redirecting = serve(() => new Response(null, { status: 302, headers: { location: `${inside.url}/rootDesc.xml` } }));
    await expect(describeGateway(new URL(`${redirecting.url}/rootDesc.xml`), AbortSignal.timeout(2000))).rejects.toThrow("redirects are not followed");
    expect(inside.seen).toEqual([]);
    const huge = serve(() => xml(`<root>${" ".repeat(4 * 1024 * 1024)}</root>`));
    await expect(describeGateway(new URL(`${huge.url}/rootDesc.xml`), AbortSignal.timeout(2000))).rejects.toThrow("over 65536 bytes");
  });
});

describe("the router's answers", () => {
  it("are checked before they are used: an address must be IPv4, a port 1-65535", async () => {
    let ip = "198.51.100.9";
    let port = "abc";
    const router = serve((req) => {
      const action = req.headers.get("soapaction") ?? "";
      if (action.includes("GetExternalIPAddress")) return soapAnswer("GetExternalIPAddress", `<NewExternalIPAddress>${ip}</NewExternalIPAddress>`);
      return soapAnswer("AddAnyPortMapping", `<NewReservedPort>${port}</NewReservedPort>`);
    });
    const client = new IgdClient(new URL(`${router.url}/ctl/IPConn`));
    const map = () => client.addPortMapping({ externalPort: 8080, internalPort: 8080, client: "10.0.0.2", description: "E-Goat", leaseSeconds: 3600 }, AbortSignal.timeout(2000));
    await expect(map()).rejects.toThrow('the router\'s answer names no port: "abc"');
    for (const bad of ["0", "65536", "", "8080x"]) {
      port = bad;
      await expect(map()).rejects.toThrow("names no port");
    }
    port = "18080";
    expect(await map()).toBe(18080);
    expect(await client.externalIp(AbortSignal.timeout(2000))).toBe("198.51.100.9");
    for (const bad of ["", "example.org", "1.2.3", "::1", "<x/>"]) {
      ip = bad;
      await expect(client.externalIp(AbortSignal.timeout(2000))).rejects.toThrow("names no IPv4 address");
    }
  });

  it("say why a router refused", async () => {
    const router = serve(
      () =>
        new Response(
          `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><detail><UPnPError><errorCode>718</errorCode><errorDescription>ConflictInMappingEntry</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>`,
          { status: 500, headers: { "content-type": "text/xml" } },
        ),
    );
    const client = new IgdClient(new URL(`${router.url}/ctl/IPConn`));
    await expect(client.deletePortMapping(8080, AbortSignal.timeout(2000))).rejects.toThrow("DeletePortMapping refused: UPnP error 718 (ConflictInMappingEntry)");
  });
});

describe("what is advertised", () => {
  it("leaves out an address that is not an origin with a port from 1 to 65535", () => {
    expect(advertisable({ http: "http://198.51.100.9:8080", ws: "ws://198.51.100.9:9000" })).toEqual({ http: "http://198.51.100.9:8080", ws: "ws://198.51.100.9:9000" });
    expect(advertisable({ http: "http://198.51.100.9:NaN", ws: "ws://198.51.100.9:99999" })).toEqual({});
    expect(advertisable({ http: "http://198.51.100.9:0", ws: "ws://[::1]:9000" })).toEqual({ ws: "ws://[::1]:9000" });
    expect(advertisable({ http: "http://a b:80" })).toEqual({});
  });
});
