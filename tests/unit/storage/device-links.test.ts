// One-time device links (src/storage/device-links.ts): taken once, within ten minutes, by their token only.
import { describe, expect, it } from "bun:test";
import { openDatabase } from "../../../src/storage/db.ts";
import { DEVICE_LINK_MS, DeviceLinks } from "../../../src/storage/device-links.ts";

describe("device links", () => {
  it("are taken once, within their time, and say why not otherwise", () => {
    const db = openDatabase(":memory:");
    const links = new DeviceLinks(db);
    const { token, expires } = links.issue(1000);
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(expires).toBe(1000 + DEVICE_LINK_MS);
    expect(links.take("x".repeat(22), 2000)).toBe("unknown");
    expect(links.take(token, 2000)).toBeNull();
    expect(links.take(token, 2001)).toBe("used");
    const late = links.issue(5000);
    expect(links.take(late.token, 5000 + DEVICE_LINK_MS + 1)).toBe("expired");
    // Only the token's hash is kept.
    const kept = JSON.stringify(db.query("SELECT * FROM device_links").all());
    expect(kept).not.toContain(token);
    expect(kept).not.toContain(late.token);
  });

  it("keeps at most 16 open at once, the newest", () => {
    const links = new DeviceLinks(openDatabase(":memory:"));
    const tokens = Array.from({ length: 20 }, (_, i) => links.issue(1000 + i).token);
    expect(links.take(tokens[0]!, 2000)).toBe("unknown");
    expect(links.take(tokens[3]!, 2000)).toBe("unknown");
    expect(links.take(tokens[4]!, 2000)).toBeNull();
    expect(links.take(tokens[19]!, 2000)).toBeNull();
  });
});
