// The map cannot drift: every import in src/ is one docs/architecture.md's "who may import whom" table allows, every
// file of src/ is in a room of it, and every path the page and the README name exists.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { arrows, readRooms, REPO, roomOf, shortName, sourceFiles } from "./helpers/imports.ts";

const rooms = readRooms();
const byName = new Map(rooms.map((room) => [shortName(room), room]));

describe("the import map of docs/architecture.md", () => {
  test("the table has its rooms", () => {
    expect(rooms.length).toBeGreaterThan(10);
    for (const room of rooms) expect(existsSync(join(REPO, "src", room.name))).toBe(true);
  });

  test("every name the table allows is a room of it", () => {
    const unknown = rooms.flatMap((room) => [...room.imports, ...room.typesOnly].filter((name) => !byName.has(name)).map((name) => `${room.name}: ${name}`));
    expect(unknown).toEqual([]);
  });

  test("every file of src/ is in a room", () => {
    expect(sourceFiles().filter((file) => !roomOf(file, rooms))).toEqual([]);
  });

  test("every import between rooms is one the table allows", () => {
    const refused: string[] = [];
    for (const [key, { typeOnly }] of arrows(rooms)) {
      const [from, to] = key.split(" → ").map((name) => rooms.find((room) => room.name === name)!);
      if (from!.everything || from!.imports.has(shortName(to!)) || (typeOnly && from!.typesOnly.has(shortName(to!)))) continue;
      refused.push(`${key}${typeOnly ? " (types only)" : ""}`);
    }
    expect(refused).toEqual([]);
  });

  test("every arrow the table allows is used (a rule no code needs is dropped)", () => {
    const used = new Set([...arrows(rooms).keys()].map((key) => key.split(" → ").map((name) => shortName(rooms.find((room) => room.name === name)!)).join(" → ")));
    const unused = rooms.flatMap((room) => [...room.imports, ...room.typesOnly].filter((to) => !used.has(`${shortName(room)} → ${to}`)).map((to) => `${shortName(room)} → ${to}`));
    expect(unused).toEqual([]);
  });

  test("every path the page and the README name exists", () => {
    // A path is written from the repository's root, or from a folder the text is about (links/peer.ts, sync/frames.ts).
    const bases = ["", "src", "src/transport", "src/transport/signaling", "src/transport/webrtc", "src/sync", "src/reach", "src/rooms", "src/routes", "src/storage", "src/views", "scripts", "tests"];
    const missing: string[] = [];
    for (const page of ["docs/architecture.md", "README.md"]) {
      for (const m of readFileSync(join(REPO, page), "utf8").matchAll(/(?<![\w./-])(?:[\w.-]+\/)+[\w.-]+\.(?:ts|tsx|js|md)\b/g)) {
        if (/^(?:\.\.\/shared|node_modules|dist|https?:)/.test(m[0])) continue;
        if (!bases.some((base) => existsSync(join(REPO, base, m[0])))) missing.push(`${page}: ${m[0]}`);
      }
    }
    expect([...new Set(missing)]).toEqual([]);
  });
});
