import { insertSorted, removeSorted } from './sorted-prefix.js';
import { invalidOption } from '../errors/epara-error.js';

/** Options of {@link LatencyErrorTracker}. */
export interface LatencyErrorOptions {
  /** Most recent observations kept. @default 64 */
  readonly window: number;
  /** Quantile of actual/predicted used to inflate estimates (0.9 guards against nine in ten overruns). @default 0.9 */
  readonly quantile: number;
  /** Smallest factor ever returned: 1 never makes an estimate optimistic. @default 1 */
  readonly minFactor: number;
  /** Largest factor ever returned (one pathological run must not stop the device). @default 4 */
  readonly maxFactor: number;
  /** Observations needed before anything learned is used (before: `minFactor`, 0 ms). @default 8 */
  readonly minSamples: number;
  /** Largest excess ever returned, ms. @default 1000 */
  readonly maxExcessMs: number;
}

/** Defaults of {@link LatencyErrorOptions}. */
export const DEFAULT_LATENCY_ERROR_OPTIONS: LatencyErrorOptions = Object.freeze({ window: 64, quantile: 0.9, minFactor: 1, maxFactor: 4, minSamples: 8, maxExcessMs: 1000 });

/**
 * The launch rule's learned guard: how much longer batches of one instance really take than predicted (from
 * their expected start to their end: interference from a shared device, messaging, timers firing late). It
 * keeps the last `window` observations and answers a high quantile of them in two forms: {@link factor}
 * (actual / predicted, for errors that grow with the run: a device shared by several batches at once, long
 * generations) and {@link excessMs} (actual − predicted, for errors that do not: messaging, a host thread that
 * runs late). Both windows are kept sorted (a binary search and one shift per observation, O(window)), so a
 * read is O(1) — the launch rule reads them once per decision.
 *
 * @example
 * ```ts
 * const err = new LatencyErrorTracker();
 * err.observe(5, 6.1);          // predicted 5 ms, took 6.1 ms
 * const guarded = 5 * err.factor;
 * const guardMs = 1 + err.excessMs;
 * ```
 */
export class LatencyErrorTracker {
  readonly #o: LatencyErrorOptions;
  // The ring of the last `window` observations, in arrival order, and the same values kept sorted.
  readonly #ratios: Float64Array;
  readonly #excess: Float64Array;
  readonly #sortedRatios: Float64Array;
  readonly #sortedExcess: Float64Array;
  #count = 0;
  #next = 0;

  constructor(options: Partial<LatencyErrorOptions> = {}) {
    this.#o = resolveLatencyErrorOptions(options);
    this.#ratios = new Float64Array(this.#o.window);
    this.#excess = new Float64Array(this.#o.window);
    this.#sortedRatios = new Float64Array(this.#o.window);
    this.#sortedExcess = new Float64Array(this.#o.window);
  }

  /** Records one batch: predicted and actual run time, ms. Ignores non-positive or non-finite values. */
  observe(predictedMs: number, actualMs: number): void {
    if (!(predictedMs > 0) || !(actualMs >= 0) || !Number.isFinite(actualMs) || !Number.isFinite(predictedMs)) return;
    const ratio = actualMs / predictedMs;
    const excess = actualMs - predictedMs;
    const i = this.#next;
    let n = this.#count;
    if (n === this.#ratios.length) {
      removeSorted(this.#sortedRatios, n, this.#ratios[i]!);
      removeSorted(this.#sortedExcess, n, this.#excess[i]!);
      n--;
    }
    insertSorted(this.#sortedRatios, n, ratio);
    insertSorted(this.#sortedExcess, n, excess);
    this.#ratios[i] = ratio;
    this.#excess[i] = excess;
    this.#next = (i + 1) % this.#ratios.length;
    this.#count = n + 1;
  }

  /** Observations held (at most `window`). */
  get samples(): number {
    return this.#count;
  }

  /** The factor to multiply predictions by: the quantile of actual/predicted, clamped to `minFactor…maxFactor`. */
  get factor(): number {
    const q = this.#quantile(this.#sortedRatios);
    return q === undefined ? this.#o.minFactor : Math.min(this.#o.maxFactor, Math.max(this.#o.minFactor, q));
  }

  /** The margin to add to predictions, ms: the quantile of actual − predicted, clamped to `0…maxExcessMs`. */
  get excessMs(): number {
    const q = this.#quantile(this.#sortedExcess);
    return q === undefined ? 0 : Math.min(this.#o.maxExcessMs, Math.max(0, q));
  }

  #quantile(sorted: Float64Array): number | undefined {
    const n = this.#count;
    if (n < this.#o.minSamples || n === 0) return undefined;
    return sorted[Math.min(n - 1, Math.floor(this.#o.quantile * n))]!;
  }
}


/**
 * Fills and validates {@link LatencyErrorOptions}.
 * @throws EparaError `INVALID_OPTIONS` naming the field.
 */
export function resolveLatencyErrorOptions(options: Partial<LatencyErrorOptions> = {}): LatencyErrorOptions {
  const o = { ...DEFAULT_LATENCY_ERROR_OPTIONS, ...options };
  if (!(Number.isInteger(o.window) && o.window >= 1)) invalidOption('window', o.window, 'an integer >= 1');
  if (!(o.quantile >= 0 && o.quantile <= 1)) invalidOption('quantile', o.quantile, 'a number in [0, 1]');
  if (!(o.minFactor > 0 && Number.isFinite(o.minFactor))) invalidOption('minFactor', o.minFactor, 'a positive finite number');
  if (!(o.maxFactor >= o.minFactor)) invalidOption('maxFactor', o.maxFactor, `a number >= minFactor (${o.minFactor})`);
  if (!(Number.isInteger(o.minSamples) && o.minSamples >= 0)) invalidOption('minSamples', o.minSamples, 'an integer >= 0');
  if (!(o.maxExcessMs >= 0)) invalidOption('maxExcessMs', o.maxExcessMs, 'a number >= 0');
  return Object.freeze(o);
}
