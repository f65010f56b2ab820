/**
 * The one event convention of this code base: `on*(handler)` adds a handler and returns the function that removes it;
 * handlers run in the order they were added.
 */
export class Handlers<Args extends unknown[]> {
  readonly #handlers = new Set<(...args: Args) => void>();

  /** Adds a handler; the returned function removes it (calling it twice is harmless). */
  add(handler: (...args: Args) => void): () => void {
    // Wrapped, so the same function added twice runs twice and each removal removes one.
    const entry = (...args: Args) => handler(...args);
    this.#handlers.add(entry);
    return () => void this.#handlers.delete(entry);
  }

  /**
   * Calls every handler with `args`; a handler added or removed meanwhile takes effect from the next call. A handler
   * that throws does not keep the others from running: the first error is thrown once they all ran.
   */
  emit(...args: Args): void {
    let failure: { error: unknown } | undefined;
    for (const handler of [...this.#handlers]) {
      try {
        handler(...args);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }

  get size(): number {
    return this.#handlers.size;
  }

  clear(): void {
    this.#handlers.clear();
  }
}
