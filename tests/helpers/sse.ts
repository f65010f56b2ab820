export interface SseEvent {
  id: string | null;
  event: string | null;
  data: string;
}

/** The room stream's named events about state (not messages or files), which most tests read past. */
const STATE_EVENTS = new Set(["delivered", "rooms", "members", "peers", "alive"]);

/**
 * Reads server-sent events from a response the way a browser does (data lines joined with "\n"); keeps those `keep`
 * picks (by default messages and file events, not the stream's state events).
 */
export class SseReader {
  readonly #reader: { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(): Promise<void> };
  readonly #decoder = new TextDecoder();
  #buffer = "";
  readonly events: SseEvent[] = [];

  constructor(
    response: Response,
    private readonly keep: (event: SseEvent) => boolean = (e) => e.event === null || !STATE_EVENTS.has(e.event),
  ) {
    this.#reader = response.body!.getReader();
  }

  /** Reads until `count` events in all have arrived or `timeoutMs` passes. */
  async until(count: number, timeoutMs = 10000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.events.length} of ${count} events within ${timeoutMs} ms`);
      const chunk = await Promise.race([this.#reader.read(), Bun.sleep(left).then(() => null)]);
      if (chunk === null) continue;
      if (chunk.done) throw new Error(`stream ended after ${this.events.length} of ${count} events`);
      this.#buffer += this.#decoder.decode(chunk.value, { stream: true });
      this.#parse();
    }
    return this.events;
  }

  #parse() {
    let end: number;
    while ((end = this.#buffer.indexOf("\n\n")) >= 0) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const data: string[] = [];
      let id: string | null = null;
      let event: string | null = null;
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "data") data.push(value);
        else if (field === "id") id = value;
        else if (field === "event") event = value;
      }
      const parsed = { id, event, data: data.join("\n") };
      if ((data.length > 0 || id !== null) && this.keep(parsed)) this.events.push(parsed);
    }
  }

  async cancel() {
    await this.#reader.cancel().catch(() => {});
  }
}
