/**
 * URLs of the page, built in one place so views and routes agree. `writeAs` is the name a guest writes under, or the
 * owner's override of the name set in the page (`/?room=R&peer_id=P`); empty for the owner writing under that name,
 * which lives in chat.db, never in an address.
 */
export function roomHref(room: string, writeAs = "", before?: number): string {
  const params = new URLSearchParams({ room });
  if (writeAs !== "") params.set("peer_id", writeAs);
  if (before !== undefined) params.set("before", String(before));
  return `/?${params}`;
}

/** The `peer_id` query a page's own requests carry (nothing for the owner under the name set in the page). */
export function nameQuery(writeAs: string): Record<string, string> {
  return writeAs === "" ? {} : { peer_id: writeAs };
}

export function roomPath(room: string, rest: string): string {
  return `/rooms/${encodeURIComponent(room)}/${rest}`;
}

/** Where a reader of `room` downloads a file (a guest's key comes from its cookie). */
export function fileHref(id: string, room: string): string {
  return `/files/${id}?${new URLSearchParams({ room })}`;
}
