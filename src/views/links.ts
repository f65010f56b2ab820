/** URLs of the page, built in one place so views and routes agree. */
export function roomHref(room: string, peerId: string, before?: number): string {
  const params = new URLSearchParams({ room, peer_id: peerId });
  if (before !== undefined) params.set("before", String(before));
  return `/?${params}`;
}

export function roomPath(room: string, rest: string): string {
  return `/rooms/${encodeURIComponent(room)}/${rest}`;
}
