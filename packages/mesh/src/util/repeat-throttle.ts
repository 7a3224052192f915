/**
 * Lets one line through per key and window: the first occurrence at once, then at most one per `windowMs`,
 * carrying how many were held back since. For warnings a misconfigured peer repeats on every dial (a wrong
 * key redials several times a second), so the log says it once and counts instead of flooding.
 */
export class RepeatThrottle {
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #last = new Map<string, { at: number; held: number }>();

  constructor(windowMs: number, now: () => number = () => performance.now()) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /**
   * Whether this occurrence of `key` should be logged, and how many were held back before it; `undefined`
   * when it is held back.
   */
  pass(key: string): { held: number } | undefined {
    const now = this.#now();
    const last = this.#last.get(key);
    if (last && now - last.at < this.#windowMs) {
      last.held++;
      return undefined;
    }
    const held = last?.held ?? 0;
    if (this.#last.size >= 1024 && !last) this.#last.clear(); // many distinct keys: forget rather than grow
    this.#last.set(key, { at: now, held: 0 });
    return { held };
  }
}
