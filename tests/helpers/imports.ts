/**
 * The import map of src/: every relative import between the rooms that docs/architecture.md's "who may import whom"
 * table names (tests/layers.test.ts checks it against the table). `bun tests/helpers/imports.ts` prints the map.
 */
import { Glob } from "bun";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

export const REPO = resolve(import.meta.dir, "../..");
const SRC = join(REPO, "src");

/** One row of the table: a room (a folder ending in `/`, or a file), and which rooms it may import, fully or types only. */
export interface Room {
  name: string;
  imports: Set<string>;
  typesOnly: Set<string>;
  /** `everything`: the composition root. */
  everything: boolean;
}

/** An import of one source file: where it points, and whether only types come through it. */
export interface Import {
  from: string;
  to: string;
  typeOnly: boolean;
}

/** The rows of the table under the heading "Layers, and who may import whom" in docs/architecture.md. */
export function readRooms(page = join(REPO, "docs/architecture.md")): Room[] {
  const text = readFileSync(page, "utf8");
  const section = text.slice(text.indexOf("## Layers, and who may import whom"));
  const body = section.slice(0, section.indexOf("\n## ", 3));
  const rooms: Room[] = [];
  for (const line of body.split("\n")) {
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const name = /^`src\/([^`]+)`$/.exec(cells[1] ?? "")?.[1];
    if (!name || cells.length < 5) continue;
    const may = cells[3]!;
    const room: Room = { name, imports: new Set(), typesOnly: new Set(), everything: may.startsWith("everything") };
    for (const m of may.matchAll(/`([^`]+)`( types)?/g)) (m[2] ? room.typesOnly : room.imports).add(m[1]!);
    rooms.push(room);
  }
  return rooms;
}

/** The room a source file (relative to src/) lives in: the longest name that holds it. */
export function roomOf(file: string, rooms: Room[]): Room | undefined {
  let best: Room | undefined;
  for (const room of rooms) {
    const holds = room.name.endsWith("/") ? file.startsWith(room.name) : file === room.name;
    if (holds && (!best || room.name.length > best.name.length)) best = room;
  }
  return best;
}

/** Every file under src/, relative to it. */
export function sourceFiles(): string[] {
  return [...new Glob("**/*.{ts,tsx}").scanSync(SRC)].sort();
}

const STATEMENT = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s+["']([^"']+)["']/g;

/** The relative imports of one file, resolved to files under src/ (paths relative to it). */
export function importsOf(file: string): Import[] {
  const text = readFileSync(join(SRC, file), "utf8");
  const out: Import[] = [];
  for (const m of text.matchAll(STATEMENT)) {
    const spec = m[4] ?? m[5] ?? m[6]!;
    if (!spec.startsWith(".")) continue;
    const clause = m[3] ?? "";
    const named = /^\{([\s\S]*)\}$/.exec(clause.trim())?.[1];
    const allTypes = named !== undefined && named.split(",").map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith("type "));
    const typeOnly = m[4] !== undefined && (m[2] !== undefined || allTypes);
    let to = relative(SRC, resolve(dirname(join(SRC, file)), spec));
    if (!/\.(ts|tsx|js|json)$/.test(to)) to = join(to, "index.ts");
    out.push({ from: file, to, typeOnly });
  }
  return out;
}

/** The arrows between rooms that the code has: "from → to", with whether every import behind it is types only. */
export function arrows(rooms: Room[]): Map<string, { typeOnly: boolean; count: number }> {
  const map = new Map<string, { typeOnly: boolean; count: number }>();
  for (const file of sourceFiles()) {
    const from = roomOf(file, rooms);
    for (const imp of importsOf(file)) {
      const to = roomOf(imp.to, rooms);
      if (!from || !to || from === to) continue;
      const key = `${from.name} → ${to.name}`;
      const seen = map.get(key);
      map.set(key, { typeOnly: (seen?.typeOnly ?? true) && imp.typeOnly, count: (seen?.count ?? 0) + 1 });
    }
  }
  return map;
}

/** The bare name a room is called by in the table's "may import" column: its path without `/` or extension. */
export const shortName = (room: Room) => room.name.replace(/\/$/, "").replace(/\.tsx?$/, "");

if (import.meta.main) {
  const rooms = readRooms(process.argv[2]);
  const map = arrows(rooms);
  for (const [key, { typeOnly, count }] of [...map].sort()) console.log(`${key}${typeOnly ? " (types)" : ""}  ×${count}`);
  console.log(`${rooms.length} rooms, ${map.size} arrows (${[...map.values()].filter((a) => a.typeOnly).length} types only)`);
}
