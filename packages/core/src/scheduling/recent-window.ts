import { insertSorted, removeSorted, replaceSorted } from './sorted-prefix.js';

/**
 * The last `window` observations of one class of {@link LatencyGuard}, with when they were made, and the values
 * of those still within `maxAgeMs` kept sorted as observations arrive and age out: a refresh moves only the
 * observations that entered or left the age limit (binary search and a shift each) instead of sorting the
 * window again. The sorted values are the numbers sorting the recent observations gives, in the same order, so
 * every quantile read from it is identical (a `-0` may sit among the `+0`s elsewhere than a sort puts it; the
 * guard clamps its answers at `0`, which makes both `+0`).
 *
 * While observation times arrive in order (the usual case: the caller's clock), the ones past the age limit
 * are a prefix of the ring, so a refresh walks only the observations that crossed it. An observation earlier
 * than the one before it falls back to the plain scan and sort until it has left the window.
 *
 * @internal
 */
export class RecentWindow {
  readonly at: Float64Array;
  readonly excess: Float64Array;
  /** The observations within `maxAgeMs` at the last refresh, sorted; `sortedCount` of them. */
  readonly sorted: Float64Array;
  sortedCount = 0;
  count = 0;
  next = 0;
  /** The sorted snapshot stays valid until an observation arrives or the oldest one it counted ages out. */
  validUntil = Number.NEGATIVE_INFINITY;
  /** Age limit of the current snapshot: the observations at or after it are in `sorted`. */
  #since = Number.NEGATIVE_INFINITY;
  /** In-order mode: how many of the oldest observations (ring order) are past `#since` (not in `sorted`). */
  #dead = 0;
  /** Pushes left before an out-of-order observation has left the window (0: in order, `sorted` maintained). */
  #disorder = 0;
  /** False until a full refresh has built `sorted` for the in-order mode (again after a disorder). */
  #built = false;
  #lastAt = Number.NEGATIVE_INFINITY;
  readonly #maxAgeMs: number;

  constructor(window: number, maxAgeMs: number) {
    this.at = new Float64Array(window);
    this.excess = new Float64Array(window);
    this.sorted = new Float64Array(window);
    this.#maxAgeMs = maxAgeMs;
  }

  /** Slot of the `j`-th oldest observation. */
  #slot(j: number): number {
    const w = this.at.length;
    const s = this.next - this.count + j;
    return s < 0 ? s + w : s;
  }

  push(at: number, excess: number): void {
    const w = this.at.length;
    if (at < this.#lastAt) {
      this.#disorder = w;
      this.#built = false;
    } else if (this.#disorder > 0 && --this.#disorder === 0) this.#built = false;
    this.#lastAt = at;
    if (this.#built) {
      const enters = !(at < this.#since);
      if (this.count === w && this.#dead === 0 && enters) {
        // A full window in order: the oldest observation gives its place to the arriving one, in one shift.
        replaceSorted(this.sorted, this.sortedCount, this.excess[this.next]!, excess);
      } else {
        if (this.count === w) {
          // The oldest observation leaves the window.
          if (this.#dead > 0) this.#dead--;
          else this.sortedCount = removeSorted(this.sorted, this.sortedCount, this.excess[this.next]!);
        }
        if (enters) this.sortedCount = insertSorted(this.sorted, this.sortedCount, excess);
        else this.#dead++; // in order: every observation before it is past the limit too
      }
    }
    this.at[this.next] = at;
    this.excess[this.next] = excess;
    this.next = (this.next + 1) % w;
    if (this.count < w) this.count++;
    this.validUntil = Number.NEGATIVE_INFINITY;
  }

  /** Brings `sorted` to the observations within `maxAgeMs` of `now`, and `validUntil` to when that changes. */
  refresh(now: number): void {
    const since = now - this.#maxAgeMs;
    if (this.#disorder > 0 || !this.#built) this.#rebuild(since);
    else if (since !== this.#since) this.#move(since);
    // Valid until the oldest observation counted ages out (or a new one arrives).
    const k = this.sortedCount;
    this.validUntil = k > 0 ? this.#oldest() + this.#maxAgeMs : Number.POSITIVE_INFINITY;
  }

  /** Oldest time among the observations in `sorted` (there is at least one). */
  #oldest(): number {
    if (this.#disorder === 0) return this.at[this.#slot(this.#dead)]!;
    let oldest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.count; i++) {
      const at = this.at[i]!;
      if (!(at < this.#since) && at < oldest) oldest = at;
    }
    return oldest;
  }

  /** In order: moves the observations that crossed the age limit out of (or back into) `sorted`. */
  #move(since: number): void {
    while (this.#dead < this.count) {
      const s = this.#slot(this.#dead);
      if (!(this.at[s]! < since)) break;
      this.sortedCount = removeSorted(this.sorted, this.sortedCount, this.excess[s]!);
      this.#dead++;
    }
    while (this.#dead > 0) {
      const s = this.#slot(this.#dead - 1);
      if (this.at[s]! < since) break;
      this.sortedCount = insertSorted(this.sorted, this.sortedCount, this.excess[s]!);
      this.#dead--;
    }
    this.#since = since;
  }

  /** Scans and sorts the whole window (the reference), and counts the prefix past the limit for the in-order mode. */
  #rebuild(since: number): void {
    let k = 0;
    let dead = 0;
    for (let i = 0; i < this.count; i++) {
      const at = this.at[i]!;
      if (at < since) {
        dead++;
        continue;
      }
      this.sorted[k++] = this.excess[i]!;
    }
    this.sorted.subarray(0, k).sort();
    this.sortedCount = k;
    this.#since = since;
    this.#dead = dead;
    this.#built = this.#disorder === 0;
  }
}
