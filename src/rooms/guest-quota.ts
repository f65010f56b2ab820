/**
 * What guests may upload: each guest (an IPv4 address, an IPv6 /64) so many bytes in 24 hours, and all guests of a
 * room together so many, as the owner set them (RoomFiles settings). Bytes count as they stream in, across a guest's
 * uploads at once, so two uploads together cannot pass the quota; what a refused upload sent is given back.
 */
import { formatBytes, type FileSettings } from "../domain/files.ts";
import type { FileSettingsStore } from "../storage/file-settings.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** An upload over what a guest, or a room's guests, may still send today: 413 past what is left, 429 with nothing left. */
export class QuotaError extends Error {
  override name = "QuotaError";
  constructor(
    readonly status: 413 | 429,
    message: string,
  ) {
    super(message);
  }
}

/** One guest's upload to a room, counted as it comes. */
export interface QuotaCharge {
  /** Passes the pieces on, counting them; throws QuotaError once past what was left. */
  through(stream: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>;
  /** The upload was posted: its bytes count for the day. */
  commit(): void;
  /** The upload was refused: its bytes are given back. */
  release(): void;
}

/** A time as the page's clock shows it: 14:05 UTC. */
const clock = (ms: number) => `${new Date(ms).toISOString().slice(11, 16)} UTC`;

export class GuestQuota {
  /** Bytes streaming in now, per guest and per room. */
  readonly #live = { guests: new Map<string, number>(), rooms: new Map<string, number>() };

  constructor(
    private readonly store: FileSettingsStore,
    private readonly settings: () => FileSettings,
  ) {}

  /** Opens an upload of `guest` to `room`: throws QuotaError (429) when either has nothing left today. */
  open(guest: string, room: string, now = Date.now()): QuotaCharge {
    const { guest_day_bytes: perGuest, guest_room_day_bytes: perRoom } = this.settings();
    const since = now - DAY_MS;
    const mine = this.store.guestUploads(guest, since);
    const theirs = this.store.roomGuestUploads(room, since);
    const used = () => ({ guest: mine.bytes + (this.#live.guests.get(guest) ?? 0), room: theirs.bytes + (this.#live.rooms.get(room) ?? 0) });
    const again = (first: number | null) => (first === null ? "once an upload under way ends" : `after ${clock(first + DAY_MS)}`);
    if (used().guest >= perGuest) {
      throw new QuotaError(429, `a guest may upload ${formatBytes(perGuest)} a day here, and you have; try again ${again(mine.first)}`);
    }
    if (used().room >= perRoom) {
      throw new QuotaError(429, `guests may upload ${formatBytes(perRoom)} a day to this room, and they have; try again ${again(theirs.first)}`);
    }
    const left = { guest: perGuest - used().guest, room: perRoom - used().room };
    let counted = 0;
    let done = false;
    const add = (bytes: number) => {
      counted += bytes;
      this.#live.guests.set(guest, (this.#live.guests.get(guest) ?? 0) + bytes);
      this.#live.rooms.set(room, (this.#live.rooms.get(room) ?? 0) + bytes);
    };
    const giveBack = () => {
      if (done) return;
      done = true;
      add(-counted);
      if (this.#live.guests.get(guest) === 0) this.#live.guests.delete(guest);
      if (this.#live.rooms.get(room) === 0) this.#live.rooms.delete(room);
    };
    return {
      through: async function* (stream) {
        for await (const piece of stream) {
          add(piece.byteLength);
          const sum = used();
          if (sum.guest > perGuest) {
            throw new QuotaError(413, `the file is over what you may still upload here today: ${formatBytes(left.guest)} of the ${formatBytes(perGuest)} a guest may upload a day`);
          }
          if (sum.room > perRoom) {
            throw new QuotaError(413, `the file is over what guests may still upload to this room today: ${formatBytes(left.room)} of the ${formatBytes(perRoom)} they may upload a day`);
          }
          yield piece;
        }
      },
      commit: () => {
        if (done) return;
        this.store.recordGuestUpload(guest, room, counted);
        giveBack();
      },
      release: giveBack,
    };
  }
}
