/** URLs of the page, built in one place so views and routes agree. */
export function roomHref(room: string, peerId: string, before?: number): string {
  const params = new URLSearchParams({ room, peer_id: peerId });
  if (before !== undefined) params.set("before", String(before));
  return `/?${params}`;
}

export function roomPath(room: string, rest: string): string {
  return `/rooms/${encodeURIComponent(room)}/${rest}`;
}

/** Where a reader of `room` downloads a file (a guest's key comes from its cookie). */
export function fileHref(id: string, room: string): string {
  return `/files/${id}?${new URLSearchParams({ room })}`;
}
