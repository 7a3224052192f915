import { resolveLatencyErrorOptions, type LatencyErrorOptions } from '@epara/core/scheduling';

/** What the world reads of an instance's run-time error guard (core `LatencyErrorTracker`'s surface). */
export interface LatencyErrorGuard {
  observe(predictedMs: number, actualMs: number): void;
  readonly samples: number;
  readonly factor: number;
  readonly excessMs: number;
}

/**
 * Core `LatencyErrorTracker`'s exact answers at O(window) per observation and O(1) per read (a field): besides the ring
 * of the last `window` observations it keeps both windows sorted (one binary search and one shift per
 * insertion and removal), so a read never sorts. The tracker sorts a copy of the window on the first read
 * after each observation, which the simulator does once per launched batch. Same options, same quantile
 * (the sorted window's element `min(n − 1, ⌊quantile × n⌋)`), same clamps: checked against core on random
 * streams by latency-window.test.ts.
 */
export class SortedLatencyWindow implements LatencyErrorGuard {
  readonly #o: LatencyErrorOptions;
  readonly #ratios: Float64Array;
  readonly #excess: Float64Array;
  readonly #sortedRatios: Float64Array;
  readonly #sortedExcess: Float64Array;
  #count = 0;
  #next = 0;
  /** Both answers, recomputed at each observation (O(1) on the sorted windows): reads outnumber observations. */
  #factor: number;
  #excessMs = 0;

  constructor(options: Partial<LatencyErrorOptions> = {}) {
    this.#o = resolveLatencyErrorOptions(options);
    this.#ratios = new Float64Array(this.#o.window);
    this.#excess = new Float64Array(this.#o.window);
    this.#sortedRatios = new Float64Array(this.#o.window);
    this.#sortedExcess = new Float64Array(this.#o.window);
    this.#factor = this.#o.minFactor;
  }

  /** Records one batch: predicted and actual run time, ms. Ignores non-positive or non-finite values. */
  observe(predictedMs: number, actualMs: number): void {
    if (!(predictedMs > 0) || !(actualMs >= 0) || !Number.isFinite(actualMs) || !Number.isFinite(predictedMs)) return;
    const ratio = actualMs / predictedMs;
    const excess = actualMs - predictedMs;
    const i = this.#next;
    let n = this.#count;
    if (n === this.#ratios.length) {
      remove(this.#sortedRatios, n, this.#ratios[i]!);
      remove(this.#sortedExcess, n, this.#excess[i]!);
      n--;
    }
    insert(this.#sortedRatios, n, ratio);
    insert(this.#sortedExcess, n, excess);
    this.#ratios[i] = ratio;
    this.#excess[i] = excess;
    this.#next = (i + 1) % this.#ratios.length;
    this.#count = n + 1;
    const q = this.#quantile(this.#sortedRatios);
    this.#factor = q === undefined ? this.#o.minFactor : Math.min(this.#o.maxFactor, Math.max(this.#o.minFactor, q));
    const e = this.#quantile(this.#sortedExcess);
    this.#excessMs = e === undefined ? 0 : Math.min(this.#o.maxExcessMs, Math.max(0, e));
  }

  /** Observations held (at most `window`). */
  get samples(): number {
    return this.#count;
  }

  /** The quantile of actual/predicted, clamped to `minFactor…maxFactor` (`minFactor` until `minSamples`). */
  get factor(): number {
    return this.#factor;
  }

  /** The quantile of actual − predicted, ms, clamped to `0…maxExcessMs` (0 until `minSamples`). */
  get excessMs(): number {
    return this.#excessMs;
  }

  #quantile(sorted: Float64Array): number | undefined {
    const n = this.#count;
    if (n < this.#o.minSamples || n === 0) return undefined;
    return sorted[Math.min(n - 1, Math.floor(this.#o.quantile * n))]!;
  }
}

/** Inserts `x` into the ascending prefix `a[0..n)` (after equal values). */
function insert(a: Float64Array, n: number, x: number): void {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  if (lo < n) a.copyWithin(lo + 1, lo, n);
  a[lo] = x;
}

/** Removes one value equal to `x` from the ascending prefix `a[0..n)` (it is there). */
function remove(a: Float64Array, n: number, x: number): void {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo < n - 1) a.copyWithin(lo, lo + 1, n);
}
