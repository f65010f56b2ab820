/**
 * The version of the protocol between instances. It is checked once, in the link handshake, and announced by
 * `/mesh/info`; an instance that speaks another version is refused before any frame of sync crosses.
 */
export const PROTOCOL_VERSION = 2;
// 2: rooms are known by ids derived from their keys (src/domain/rooms.ts), never by name.
