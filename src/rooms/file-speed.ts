/**
 * How fast each file comes in, for the page's progress line: the bytes held as they were told over the last few
 * seconds, so a speed and a time left can be shown (and stay steady between chunks).
 */

/** The span of samples a speed is measured over. */
const WINDOW_MS = 4000;
/** A speed is told only once samples span this much. */
const MIN_SPAN_MS = 700;
/** Files tracked at most (the ones coming in now are few). */
const MAX_FILES = 64;

export class FileSpeeds {
  readonly #samples = new Map<string, { at: number; bytes: number }[]>();

  /** The file has `bytes` here now. */
  note(id: string, bytes: number, now = Date.now()): void {
    let samples = this.#samples.get(id);
    if (!samples) {
      samples = [];
      this.#samples.set(id, samples);
      if (this.#samples.size > MAX_FILES) this.#samples.delete(this.#samples.keys().next().value!);
    }
    // Bytes that went back (a fetch cancelled and begun again) start the measure afresh.
    if (samples.length > 0 && bytes < samples.at(-1)!.bytes) samples.length = 0;
    samples.push({ at: now, bytes });
    while (samples.length > 2 && now - samples[0]!.at > WINDOW_MS) samples.shift();
  }

  /** Bytes a second lately, or null when too little is known (or nothing came for a while). */
  rate(id: string, now = Date.now()): number | null {
    const samples = this.#samples.get(id);
    if (!samples || samples.length < 2) return null;
    const first = samples[0]!;
    const last = samples.at(-1)!;
    if (last.at - first.at < MIN_SPAN_MS || now - last.at > WINDOW_MS) return null;
    return ((last.bytes - first.bytes) * 1000) / (now - first.at);
  }

  /** The file stopped coming (whole, cancelled): forget its samples. */
  forget(id: string): void {
    this.#samples.delete(id);
  }
}
