/**
 * A hostile UPnP IGD for the port-mapping attack tests, run inside a lab namespace: `bun fake-igd.ts '<json>'`.
 * It answers SSDP searches from `from` (joining the multicast group on `join`), and serves a description and SOAP
 * answers at http://from:5000 as `mode` says. With `mode: "sink"` it is only an HTTP server at `listen` that counts
 * what reaches it (the victim's own loopback service). Every request it sees is printed as one line.
 */
import { createSocket } from "node:dgram";

interface FakeIgd {
  mode: "sane" | "loopback-control" | "redirect" | "sink";
  /** The address it answers from and serves on. */
  from: string;
  /** An address of its own on the LAN, where it joins the SSDP group. */
  join: string;
  /** Where the victim's loopback service is (for loopback-control and redirect). */
  loopback: string;
  externalIp: string;
  reservedPort: string;
  /** For sink: host:port to listen on. */
  listen?: string;
}

const config = JSON.parse(process.argv[2]!) as FakeIgd;
const say = (line: string) => console.log(line);
const WAN = "urn:schemas-upnp-org:service:WANIPConnection:2";
const xml = (body: string) => new Response(body, { headers: { "content-type": "text/xml" } });

if (config.mode === "sink") {
  const [hostname, port] = config.listen!.split(":");
  Bun.serve({ hostname, port: Number(port), fetch: (req) => (say(`sink ${req.method} ${new URL(req.url).pathname}`), new Response("ok")) });
  process.on("SIGTERM", () => process.exit(0));
  say("ready");
} else {
  const base = `http://${config.from}:5000`;
  const control = config.mode === "loopback-control" ? `${config.loopback}/ctl` : "/ctl/IPConn";
  Bun.serve({
    hostname: config.from,
    port: 5000,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      say(`http ${req.method} ${path}`);
      if (path === "/rootDesc.xml") {
        if (config.mode === "redirect") return new Response(null, { status: 302, headers: { location: `${config.loopback}/rootDesc.xml` } });
        return xml(`<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:2</deviceType><UDN>uuid:fake</UDN>
<serviceList><service><serviceType>${WAN}</serviceType><controlURL>${control}</controlURL><SCPDURL>/scpd.xml</SCPDURL></service></serviceList></device></root>`);
      }
      const action = /#(\w+)/.exec(req.headers.get("soapaction") ?? "")?.[1] ?? "";
      const inner =
        action === "GetExternalIPAddress"
          ? `<NewExternalIPAddress>${config.externalIp}</NewExternalIPAddress>`
          : action === "AddAnyPortMapping"
            ? `<NewReservedPort>${config.reservedPort}</NewReservedPort>`
            : "";
      return xml(`<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:${action}Response xmlns:u="${WAN}">${inner}</u:${action}Response></s:Body></s:Envelope>`);
    },
  });
  const listener = createSocket({ type: "udp4", reuseAddr: true });
  const replier = createSocket("udp4");
  replier.bind(0, config.from);
  listener.on("message", (message, remote) => {
    if (!message.toString("latin1").startsWith("M-SEARCH")) return;
    say(`ssdp M-SEARCH from ${remote.address}`);
    const answer = `HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:2\r\nUSN: uuid:fake\r\nEXT:\r\nLOCATION: ${base}/rootDesc.xml\r\n\r\n`;
    replier.send(answer, remote.port, remote.address);
  });
  // Asked to stop (the test's SIGTERM): the servers would keep the process alive otherwise.
  process.on("SIGTERM", () => process.exit(0));
  listener.bind(1900, () => {
    listener.addMembership("239.255.255.250", config.join);
    say("ready");
  });
}
