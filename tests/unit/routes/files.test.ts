/**
 * POST /files and GET /files/<id> on one instance: uploads within the limits, downloads whole and by range, served so
 * that no uploaded file can run script in the page's origin, and the room rules for guests.
 */
import { describe, expect, it } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { CHUNK_BYTES } from "../../../src/storage/files.ts";
import { makeApp } from "../../helpers/app.ts";
import { SseReader } from "../../helpers/sse.ts";

const GUEST = "192.0.2.7";
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function form(fields: [string, string | Blob, string?][]): FormData {
  const f = new FormData();
  for (const [name, value, filename] of fields) {
    if (typeof value === "string") f.append(name, value);
    else f.append(name, value, filename);
  }
  return f;
}

function setup(opts: Parameters<typeof makeApp>[0] = {}) {
  const t = makeApp(opts);
  const post = (body: FormData | string, headers: Record<string, string> = {}) => t.request("/files", { method: "POST", body, headers });
  const upload = async (room: string, bytes: Uint8Array, name = "a.bin", type = "application/octet-stream", headers: Record<string, string> = {}) => {
    const res = await post(form([["room", room], ["file", new Blob([bytes], { type }), name]]), headers);
    return { status: res.status, body: (await res.json()) as { id: string; timestamp: number; files: { id: string; name: string; size: number; type: string }[]; error?: string } };
  };
  const stored = () => ({
    files: (t.storage.db.query("SELECT count(*) AS n FROM files").get() as { n: number }).n,
    chunks: (t.storage.db.query("SELECT count(*) AS n FROM chunks").get() as { n: number }).n,
  });
  return { ...t, post, upload, stored };
}

describe("POST /files", () => {
  it("stores the file, posts a message carrying it, and /history shows it with the bytes held", async () => {
    const { request, upload } = setup();
    const bytes = randomBytes(2 * CHUNK_BYTES + 100);
    const { status, body } = await upload("room1", bytes, "notes.txt", "text/plain");
    expect(status).toBe(200);
    expect(body.files).toEqual([{ id: expect.stringMatching(/^[0-9a-f]{64}$/), name: "notes.txt", size: bytes.byteLength, type: "text/plain" }]);
    const history = (await (await request("/history?room=room1")).json()) as { id: string; text: string; files: unknown[] }[];
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ id: body.id, text: "", files: [{ ...body.files[0], have: bytes.byteLength }] });
    const res = await request(`/files/${body.files[0]!.id}`);
    expect(res.status).toBe(200);
    expect(sha(new Uint8Array(await res.arrayBuffer()))).toBe(sha(bytes));
  });

  it("takes text, peer_id and several files in one message", async () => {
    const { post, request } = setup();
    const res = await post(
      form([
        ["room", "room1"],
        ["peer_id", "ann"],
        ["text", "two files"],
        ["file", new Blob([randomBytes(10)]), "one.bin"],
        ["file", new Blob([randomBytes(20)]), "two.bin"],
      ]),
    );
    expect(res.status).toBe(200);
    const [m] = (await (await request("/history?room=room1")).json()) as { peer_id: string; text: string; files: { name: string; size: number }[] }[];
    expect(m).toMatchObject({ peer_id: "ann", text: "two files", files: [{ name: "one.bin", size: 10 }, { name: "two.bin", size: 20 }] });
  });

  it("stores identical files once", async () => {
    const { upload, stored } = setup();
    const bytes = randomBytes(3 * CHUNK_BYTES);
    const first = await upload("room1", bytes);
    const second = await upload("room2", bytes, "copy.bin");
    expect(second.body.files[0]!.id).toBe(first.body.files[0]!.id);
    expect(stored()).toEqual({ files: 1, chunks: 3 });
  });

  it("refuses with one clear error, and keeps nothing of a refused upload", async () => {
    const { post, upload, stored } = setup({ maxFileBytes: CHUNK_BYTES });
    const big = await upload("room1", randomBytes(CHUNK_BYTES + 1));
    expect(big).toEqual({ status: 413, body: { error: `the file is over this instance's --max-file-size of ${CHUNK_BYTES} bytes` } as never });
    expect(await upload("room1", new Uint8Array(0))).toEqual({ status: 400, body: { error: "the file is empty" } as never });
    const cases: [FormData | string, Record<string, string>, number, string][] = [
      [form([["room", "room1"]]), {}, 400, "file is required"],
      [form([["file", new Blob(["x"]), "x"], ["room", "room1"]]), {}, 400, "the room field must come before the file"],
      [form([["room", "no spaces"], ["file", new Blob(["x"]), "x"]]), {}, 400, "room must be 1-64 letters, digits, '-', '_' or '.'"],
      [form([["room", "room1"], ["file", new Blob(["x"]), "x"], ["text", "y".repeat(17 * 1024)]]), {}, 413, "the message is over 16384 characters (it has 17408)"],
      [form([["room", "room1"], ["peer_id", "\u0001"], ["file", new Blob(["x"]), "x"]]), {}, 400, "peer_id must be 1-64 characters without control characters"],
      ['{"room":"room1"}', { "content-type": "application/json" }, 415, "Content-Type must be multipart/form-data"],
      ["--x\r\nbroken", { "content-type": "multipart/form-data; boundary=x" }, 400, "the multipart body is malformed: Unexpected end of form"],
    ];
    for (const [body, headers, status, error] of cases) {
      const res = await post(body, headers);
      expect({ status: res.status, body: await res.json() }).toEqual({ status, body: { error } });
    }
    expect(stored()).toEqual({ files: 0, chunks: 0 });
  });

  it("refuses a file the disk cannot take while keeping its margin", async () => {
    const { upload, stored } = setup({ freeDiskBytes: () => 1024 ** 3 + CHUNK_BYTES });
    const res = await upload("room1", randomBytes(2 * CHUNK_BYTES));
    expect(res).toEqual({ status: 413, body: { error: "the disk is nearly full: the file does not fit" } as never });
    expect(stored()).toEqual({ files: 0, chunks: 0 });
    expect((await upload("room1", randomBytes(100))).status).toBe(200);
  });
});

describe("GET /files/<id>", () => {
  it("serves byte ranges: from-to, from, the last n; 416 past the end; several ranges as the whole file", async () => {
    const { request, upload } = setup();
    const bytes = randomBytes(CHUNK_BYTES + 5000);
    const { body } = await upload("room1", bytes);
    const id = body.files[0]!.id;
    const get = (range: string) => request(`/files/${id}`, { headers: { range } });
    const cases: [string, number, number][] = [
      ["bytes=0-9", 0, 9],
      [`bytes=${CHUNK_BYTES - 3}-${CHUNK_BYTES + 3}`, CHUNK_BYTES - 3, CHUNK_BYTES + 3],
      [`bytes=${CHUNK_BYTES}-`, CHUNK_BYTES, bytes.byteLength - 1],
      ["bytes=-100", bytes.byteLength - 100, bytes.byteLength - 1],
      [`bytes=10-${bytes.byteLength + 500}`, 10, bytes.byteLength - 1],
    ];
    for (const [range, start, end] of cases) {
      const res = await get(range);
      expect(res.status).toBe(206);
      expect(res.headers.get("content-range")).toBe(`bytes ${start}-${end}/${bytes.byteLength}`);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(start, end + 1))).toBe(true);
    }
    const past = await get(`bytes=${bytes.byteLength}-`);
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${bytes.byteLength}`);
    expect(await past.json()).toEqual({ error: `the file has ${bytes.byteLength} bytes; that range is not in it` });
    const several = await get("bytes=0-1,5-6");
    expect(several.status).toBe(200);
    expect((await several.arrayBuffer()).byteLength).toBe(bytes.byteLength);
  });

  it("serves HTML and SVG as attachments that run nothing, raster images inline, names escaped", async () => {
    const { request, upload } = setup();
    const html = await upload("room1", new TextEncoder().encode("<script>parent.pwned=1</script>"), "page.html", "text/html");
    const svg = await upload("room1", new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), '"><img src=x onerror=alert(1)>.svg', "image/svg+xml");
    const png = await upload("room1", randomBytes(64), "photo.png", "image/png");
    const sneaky = await upload("room1", randomBytes(8), "../../etc/passwd", "text/html; charset=utf-8");
    expect(sneaky.body.files[0]).toMatchObject({ name: "passwd", type: "text/html" });
    const headersOf = async (id: string) => Object.fromEntries((await request(`/files/${id}`)).headers);
    for (const upload of [html, svg, sneaky]) {
      const h = await headersOf(upload.body.files[0]!.id);
      expect(h["content-type"]).toBe("application/octet-stream");
      expect(h["content-disposition"]).toStartWith("attachment; ");
      expect(h["x-content-type-options"]).toBe("nosniff");
      expect(h["content-security-policy"]).toContain("sandbox");
      expect(h["content-security-policy"]).toContain("default-src 'none'");
    }
    // The browser's form encoding sends `"` as %22; the name is kept as sent and escaped on the way out.
    const svgName = svg.body.files[0]!.name;
    expect(svgName).toBe("%22><img src=x onerror=alert(1)>.svg");
    expect((await headersOf(svg.body.files[0]!.id))["content-disposition"]).toBe(
      `attachment; filename="_22><img src=x onerror=alert(1)>.svg"; filename*=UTF-8''${encodeURIComponent(svgName)}`,
    );
    const p = await headersOf(png.body.files[0]!.id);
    expect(p["content-type"]).toBe("image/png");
    expect(p["content-disposition"]).toBe(`inline; filename="photo.png"; filename*=UTF-8''photo.png`);
    expect(p["content-security-policy"]).toContain("sandbox");
  });

  it("404 for a file not here, 400 for an id that is none", async () => {
    const { request } = setup();
    expect((await request(`/files/${"0".repeat(64)}`)).status).toBe(404);
    const bad = await request("/files/not-an-id");
    expect({ status: bad.status, body: await bad.json() }).toEqual({ status: 400, body: { error: "a file id is 64 hex digits" } });
  });
});

describe("guests and files", () => {
  const asGuest = { "x-test-client": GUEST };

  it("a guest uploads and downloads only in a room it holds the key of; the file is not reachable through another room", async () => {
    const { request, upload, post, node, stored } = setup();
    const secret = node.join("secret", "k".repeat(43));
    node.join("lobby");
    const owners = await upload("secret", randomBytes(1000));
    const id = owners.body.files[0]!.id;
    // Without the key: refused before anything is stored.
    const before = stored();
    const refused = await post(form([["room", "secret"], ["file", new Blob([randomBytes(5000)]), "x.bin"]]), asGuest);
    expect(refused.status).toBe(403);
    expect(stored()).toEqual(before);
    const withKey = await post(form([["room", "secret"], ["key", secret.key!], ["file", new Blob([randomBytes(10)]), "g.bin"]]), asGuest);
    expect(withKey.status).toBe(200);
    const [, guestMessage] = (await (await request(`/history?room=secret`)).json()) as { guest?: boolean }[];
    expect(guestMessage!.guest).toBe(true);

    expect((await request(`/files/${id}`, { headers: asGuest })).status).toBe(403);
    expect((await request(`/files/${id}?room=secret`, { headers: asGuest })).status).toBe(403);
    expect((await request(`/files/${id}?room=secret&key=${"x".repeat(43)}`, { headers: asGuest })).status).toBe(403);
    expect((await request(`/files/${id}?room=lobby`, { headers: asGuest })).status).toBe(404);
    expect((await request(`/files/${id}?room=lobby`)).status).toBe(404);
    const ok = await request(`/files/${id}?room=secret&key=${secret.key}`, { headers: asGuest });
    expect(ok.status).toBe(200);
    expect((await ok.arrayBuffer()).byteLength).toBe(1000);
  });
});

describe("safe names and types", () => {
  it("a download's name cannot break out of its header: quotes, backslashes and non-ASCII are replaced in the fallback", async () => {
    const { contentDisposition } = await import("../../../src/routes/files.ts");
    expect(contentDisposition("attachment", 'a"b\\c;d%e\u00e9.txt')).toBe(`attachment; filename="a_b_c_d_e_.txt"; filename*=UTF-8''a%22b%5Cc%3Bd%25e%C3%A9.txt`);
  });

  it("keeps a name's last part without control characters, and a type without parameters", async () => {
    const { safeFileName, safeFileType } = await import("../../../src/domain/files.ts");
    expect(safeFileName("..\\..\\boot.ini")).toBe("boot.ini");
    expect(safeFileName("a\u0000b\u001fc\u007f.txt")).toBe("abc.txt");
    expect(safeFileName("..")).toBe("file");
    expect(safeFileName(undefined)).toBe("file");
    expect([...safeFileName("é".repeat(300))]).toHaveLength(255);
    expect(safeFileType("Text/HTML; charset=utf-8")).toBe("text/html");
    expect(safeFileType("nonsense")).toBe("application/octet-stream");
    expect(safeFileType('image/png"><script>')).toBe("application/octet-stream");
  });
});

describe("the page's attach form (POST /rooms/<room>/files)", () => {
  const pageUpload = (t: ReturnType<typeof setup>, room: string, body: FormData, headers: Record<string, string> = {}, query = "?peer_id=ann") =>
    t.request(`/rooms/${room}/files${query}`, { method: "POST", body, headers });

  it("without script: stores the file under the name in its query and goes back to the room (303)", async () => {
    const t = setup();
    t.node.join("room1");
    const res = await pageUpload(t, "room1", form([["file", new Blob([randomBytes(100)]), "a.txt"]]));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/?room=room1&peer_id=ann");
    const [message] = (await (await t.request("/history?room=room1")).json()) as { peer_id: string; files: { name: string }[] }[];
    expect(message).toMatchObject({ peer_id: "ann", files: [{ name: "a.txt" }] });
  });

  it("for the page's script: answers the message as JSON; a room field in the body does not move it elsewhere", async () => {
    const t = setup();
    t.node.join("room1");
    const res = await pageUpload(t, "room1", form([["room", "room2"], ["file", new Blob([randomBytes(100)]), "b.txt"]]), { accept: "application/json" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: string; files: { name: string }[] };
    expect(body.id).toEndWith(":room1");
    expect(body.files[0]!.name).toBe("b.txt");
    expect(await (await t.request("/history?room=room2")).json()).toEqual([]);
  });

  it("a refusal is JSON for the script and the room's page with the error without it; nothing is kept", async () => {
    const t = setup({ maxFileBytes: 1000 });
    t.node.join("room1");
    const big = () => form([["file", new Blob([randomBytes(2000)]), "big.bin"]]);
    const json = await pageUpload(t, "room1", big(), { accept: "application/json" });
    expect(json.status).toBe(413);
    expect(((await json.json()) as { error: string }).error).toContain("--max-file-size");
    const page = await pageUpload(t, "room1", big());
    expect(page.status).toBe(413);
    expect(page.headers.get("content-type")).toStartWith("text/html");
    const html = await page.text();
    expect(html).toContain("--max-file-size");
    expect(html).toContain('id="attach"');
    expect(t.stored()).toEqual({ files: 0, chunks: 0 });
  });

  it("a guest without the room's key is refused and nothing is stored", async () => {
    const t = setup();
    t.node.join("secret", "k".repeat(43));
    const res = await pageUpload(t, "secret", form([["file", new Blob([randomBytes(5000)]), "x.bin"]]), { accept: "application/json", "x-test-client": GUEST });
    expect(res.status).toBe(403);
    expect(t.stored()).toEqual({ files: 0, chunks: 0 });
  });
});

describe("a file's progress on the room's live stream", () => {
  it("goes out as a 'file' event without an id; the owner sees how far it got at each member, a guest does not", async () => {
    const t = setup();
    const { body } = await t.upload("lobby", randomBytes(1000), "notes.txt", "text/plain");
    const id = body.files[0]!.id;
    const owner = new SseReader(await t.request("/rooms/lobby/events?since=" + body.timestamp));
    const guest = new SseReader(await t.request("/rooms/lobby/events?since=" + body.timestamp, { headers: { "x-test-client": GUEST } }));
    t.node.files.peerHas(id, "b".repeat(32), 1000);
    const [ownerEvent] = await owner.until(1);
    const [guestEvent] = await guest.until(1);
    for (const event of [ownerEvent!, guestEvent!]) {
      expect(event.event).toBe("file");
      expect(event.id).toBeNull();
      expect(event.data).toContain(`data-file="${id}"`);
      expect(event.data).toContain(`href="/files/${id}?room=lobby"`);
    }
    expect(ownerEvent!.data).toContain("instance bbbbbbbb ✓");
    expect(guestEvent!.data).not.toContain("delivery");
    await owner.cancel();
    await guest.cancel();
  });
});
