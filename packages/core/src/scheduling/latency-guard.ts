import { invalidOption } from '../errors/epara-error.js';
import { LatencyErrorTracker, type LatencyErrorOptions } from './latency-error.js';

/** Options of {@link LatencyGuard}: those of each {@link LatencyErrorTracker} it keeps. */
export interface LatencyGuardOptions extends LatencyErrorOptions {
  /**
   * Observations a batch-size class needs before its own quantile is used; before that the guard answers
   * the quantile over all sizes. @default 16
   */
  readonly minClassSamples: number;
}

/**
 * Defaults of {@link LatencyGuardOptions}: a 0.98 quantile over the last 128 batches of each size class — a
 * served item at the edge of its deadline finishes late about once in fifty, and one stall of the host ages
 * out after 128 batches.
 */
export const DEFAULT_LATENCY_GUARD_OPTIONS: LatencyGuardOptions = Object.freeze({ window: 128, quantile: 0.98, minFactor: 1, maxFactor: 4, minSamples: 8, maxExcessMs: 1000, minClassSamples: 16 });

/**
 * The learned guard per batch size: a high quantile of how much later than predicted batches really end
 * (`actual − predicted`, ms), kept per size class (1, 2–3, 4–7, 8–15, …: a batch of 16 overruns by more
 * milliseconds than a batch of 1 when the error grows with the run) and over all sizes, fed back from every
 * completed batch. {@link excessMs} answers for a batch of `n` from its class once the class has
 * `minClassSamples` observations, else from all sizes. The host adds it to its guard when it decides whether
 * an item can still finish in time, so that late service stays about as rare as `1 − quantile` of the
 * batches launched at the edge of their deadline, whatever makes runs late (a shared or throttled device,
 * messaging, garbage collection, timers firing late). Pure; O(1) per observation.
 *
 * @example
 * ```ts
 * const guard = new LatencyGuard();
 * guard.observe(8, 12, 13.5); // a batch of 8, predicted 12 ms, took 13.5 ms from its planned start
 * const marginMs = 1 + guard.excessMs(8);
 * ```
 */
export class LatencyGuard {
  readonly #o: LatencyGuardOptions;
  readonly #all: LatencyErrorTracker;
  readonly #classes: (LatencyErrorTracker | undefined)[] = [];

  constructor(options: Partial<LatencyGuardOptions> = {}) {
    this.#o = resolveLatencyGuardOptions(options);
    this.#all = new LatencyErrorTracker(this.#o);
  }

  /** Records a batch of `n`: predicted and actual time from its planned start to its end, ms. */
  observe(n: number, predictedMs: number, actualMs: number): void {
    this.#all.observe(predictedMs, actualMs);
    const c = sizeClass(n);
    (this.#classes[c] ??= new LatencyErrorTracker(this.#o)).observe(predictedMs, actualMs);
  }

  /** The margin for a batch of `n`, ms: the quantile of actual − predicted of its size class (or of all). */
  excessMs(n: number): number {
    const own = this.#classes[sizeClass(n)];
    return own !== undefined && own.samples >= this.#o.minClassSamples ? own.excessMs : this.#all.excessMs;
  }

  /** Batches observed over all sizes (at most `window`). */
  get samples(): number {
    return this.#all.samples;
  }
}

/** Size class of a batch of `n`: ⌊log2 n⌋ (1 → 0, 2–3 → 1, 4–7 → 2, …). */
function sizeClass(n: number): number {
  return n >= 1 ? Math.floor(Math.log2(n)) : 0;
}

/**
 * Fills and validates {@link LatencyGuardOptions}.
 * @throws EparaError `INVALID_OPTIONS` naming the field.
 */
export function resolveLatencyGuardOptions(options: Partial<LatencyGuardOptions> = {}): LatencyGuardOptions {
  const o = { ...DEFAULT_LATENCY_GUARD_OPTIONS, ...options };
  if (!(Number.isInteger(o.minClassSamples) && o.minClassSamples >= 0)) invalidOption('minClassSamples', o.minClassSamples, 'an integer >= 0');
  // The tracker's own fields are checked when the first one is built: do it now so that a bad option fails here.
  void new LatencyErrorTracker(o);
  return Object.freeze(o);
}
