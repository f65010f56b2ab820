/** Every address known for a peer, best first (src/transport/links/address-book.ts). */
import { expect, it } from "bun:test";
import { AddressBook, DROP_AFTER } from "../../../src/transport/links/address-book.ts";

const GIVEN = { http: "http://203.0.113.100:8080", ws: "ws://203.0.113.100:9000" };
const PRIVATE = { http: "http://10.1.0.2:8080", ws: "ws://10.1.0.2:9000" };

it("keeps the address the user gave ahead of the one the peer advertises, whichever came first", () => {
  const later = new AddressBook("n");
  later.learn(GIVEN, "given");
  expect(later.learn(PRIVATE, "advertised")).toBe(false);
  expect(later.current).toEqual({ nodeId: "n", ...GIVEN });

  const earlier = new AddressBook("n");
  earlier.learn(PRIVATE, "advertised");
  expect(earlier.learn(GIVEN, "given")).toBe(true);
  expect(earlier.current).toEqual({ nodeId: "n", ...GIVEN });
});

it("a failed dial tries the tier's next address next time; an address a link was made through goes first for good", () => {
  const book = new AddressBook("n");
  book.learn(PRIVATE, "advertised");
  book.learn({ ws: GIVEN.ws }, "given");
  expect(book.current.ws).toBe(GIVEN.ws);
  book.failed("websocket", false);
  expect(book.current.ws).toBe(PRIVATE.ws);
  // Only the fields that tier dials move: http stays.
  expect(book.current.http).toBe(PRIVATE.http);
  book.worked("websocket");
  book.learn({ ws: "ws://198.51.100.7:9000" }, "given");
  expect(book.current.ws).toBe(PRIVATE.ws);
});

it("drops an advertised address that keeps failing while the peer is linked otherwise, for good; keeps it while the peer is reachable no other way", () => {
  const book = new AddressBook("n");
  book.learn({ ws: GIVEN.ws }, "given");
  book.learn({ ws: PRIVATE.ws }, "advertised");
  // Unlinked: the peer may be restarting; nothing is dropped however often it fails.
  for (let i = 0; i < 2 * DROP_AFTER * 2; i++) book.failed("websocket", false);
  expect(book.hasAlternative("websocket")).toBe(true);
  // Linked on another tier: the private address fails DROP_AFTER times and goes; the given one never does.
  for (let i = 0; i < 4 * DROP_AFTER; i++) book.failed("websocket", true);
  expect(book.hasAlternative("websocket")).toBe(false);
  expect(book.current.ws).toBe(GIVEN.ws);
  // The peer's next hello advertises it again: still not dialled. Given by the user: dialled again.
  book.learn({ ws: PRIVATE.ws }, "advertised");
  expect(book.hasAlternative("websocket")).toBe(false);
  book.learn({ ws: PRIVATE.ws }, "given");
  expect(book.current.ws).toBe(PRIVATE.ws);
});

it("drops an address where another node answered, and keeps only a few per field", () => {
  const book = new AddressBook("n");
  book.learn({ ws: GIVEN.ws }, "given");
  book.learn({ ws: PRIVATE.ws }, "advertised");
  expect(book.hasAlternative("websocket")).toBe(true);
  book.notThisPeer("websocket");
  expect(book.current.ws).toBe(PRIVATE.ws);
  expect(book.hasAlternative("websocket")).toBe(false);
  for (let i = 0; i < 50; i++) book.learn({ ws: `ws://10.0.0.${i}:9000` }, "advertised");
  let seen = 0;
  for (const first = book.current.ws; seen < 60; seen++) {
    book.failed("websocket", false);
    if (book.current.ws === first) break;
  }
  expect(seen + 1).toBeLessThanOrEqual(4);
});
