/**
 * How many authors a room holds: every member's vector lists each, and sends it every few seconds. A room that holds
 * this many makes place for a newcomer at the expense of the authors brought by whoever brought the most
 * (src/storage/authors.ts), so a flood of invented authors displaces only itself, and never locks newcomers out.
 */
export const MAX_ROOM_AUTHORS = 10_000;
