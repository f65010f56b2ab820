/**
 * Where another instance says it can be reached: an origin only (scheme, host, port). Never a path, query or user:
 * the paths we request there are ours, so an address from outside cannot make this instance call a URL it chose.
 */
import { Type } from "@sinclair/typebox";

const HOST = "(\\[[0-9A-Fa-f:.]{2,45}\\]|[A-Za-z0-9.-]{1,253})(:[0-9]{1,5})?";

/** An instance's HTTP origin, e.g. `http://192.168.1.5:8080`. */
export const HttpOrigin = Type.String({ maxLength: 300, pattern: `^https?://${HOST}$` });
/** An instance's WebSocket origin, e.g. `ws://192.168.1.5:9000`. */
export const WsOrigin = Type.String({ maxLength: 300, pattern: `^wss?://${HOST}$` });
