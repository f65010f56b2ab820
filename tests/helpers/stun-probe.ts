// Run inside a namespace: exits 0 once a STUN binding request to HOST:PORT is answered, 1 after TIMEOUT_MS.
import { createSocket } from "node:dgram";

const [host, port, timeoutMs = "10000"] = process.argv.slice(2) as [string, string, string?];
const socket = createSocket("udp4");
const request = Buffer.alloc(20);
request.writeUInt16BE(0x0001, 0); // Binding request, no attributes
request.writeUInt32BE(0x2112a442, 4); // magic cookie
crypto.getRandomValues(request.subarray(8));
socket.on("message", (m) => m.readUInt16BE(0) === 0x0101 && process.exit(0));
setInterval(() => socket.send(request, Number(port), host), 50);
setTimeout(() => process.exit(1), Number(timeoutMs));
