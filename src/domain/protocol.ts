/**
 * The version of the protocol between instances. It is checked once, in the link handshake, and announced by
 * `/mesh/info`; an instance that speaks another version is refused before any frame of sync crosses.
 */
export const PROTOCOL_VERSION = 5;
// 2: rooms are known by ids derived from their keys (src/domain/rooms.ts), never by name.
// 3: a message text is limited to 16384 characters (UTF-16 code units, up to 48 KiB), not 16 KiB of UTF-8.
// 4: the websocket tier carries a frame as pieces of up to 64 KiB, each led by a byte saying whether the frame ends
//    there; before the secure handshake a far end may send frames of at most 64 KiB (src/transport/limits.ts).
//    Vectors carry a digest of each author's messages (an author that signed two messages with one sequence number
//    is found out); a message's date is within years 1970 to 9999.
// 5: mailbox frames (`box-push`, `box-pushed`, `box-get`, `box-items`) and a room's mailboxes (`mailboxes`); a message
//    carries its author's person and that person's certificate of its origin, under its signature.
