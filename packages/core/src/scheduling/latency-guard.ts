import { invalidOption } from '../errors/epara-error.js';
import { RecentWindow } from './recent-window.js';

/** Options of {@link LatencyGuard}. */
export interface LatencyGuardOptions {
  /** Most recent batches kept per size class (and over all sizes). @default 128 */
  readonly window: number;
  /** Quantile of actual − predicted answered. @default 0.98 */
  readonly quantile: number;
  /** Observations older than this are forgotten, ms: a stall cannot keep the margin up once nothing runs. @default 2000 */
  readonly maxAgeMs: number;
  /** Recent observations over all sizes needed before anything learned is used (before: 0 ms). @default 8 */
  readonly minSamples: number;
  /** Recent observations a size class needs before its own quantile is used (before: all sizes'). @default 16 */
  readonly minClassSamples: number;
  /** Largest margin ever returned, ms. @default 1000 */
  readonly maxExcessMs: number;
}

/**
 * Defaults of {@link LatencyGuardOptions}: a 0.98 quantile of the last 128 batches of each size class within
 * 2 s — a batch launched at the edge of its deadline ends late about once in fifty (most of its items have
 * more slack than its head). A lower quantile keeps a narrower margin (more throughput near capacity) but
 * ignores stalls rarer than `1 − quantile` of the batches.
 */
export const DEFAULT_LATENCY_GUARD_OPTIONS: LatencyGuardOptions = Object.freeze({ window: 128, quantile: 0.98, maxAgeMs: 2000, minSamples: 8, minClassSamples: 16, maxExcessMs: 1000 });

/**
 * The learned guard per batch size: a high quantile of how much later than predicted batches really end
 * (`actual − predicted`, ms), kept per size class (1, 2–3, 4–7, 8–15, …: a batch of 16 overruns by more
 * milliseconds than a batch of 1 when the error grows with the run) and over all sizes, fed back from every
 * completed batch. {@link excessMs} answers for a batch of `n` from its class once the class has
 * `minClassSamples` recent observations, else from all sizes; the single largest observation never decides
 * alone (one stall among a few batches says little). Observations age out after `maxAgeMs`: a margin
 * learned from a stall cannot reject work forever once nothing runs to replace it. The host adds the margin
 * to its guard when it decides whether an item can still finish in time, so that late service stays about as
 * rare as `1 − quantile` of the batches launched at the edge of their deadline, whatever makes runs late (a
 * shared or throttled device, messaging, garbage collection, timers firing late). Pure: the caller passes the
 * time; each observation (and each one ageing out) is a binary insertion into (or removal from) a window kept
 * sorted, so an answer is O(1) and a stale one costs only the observations that moved.
 *
 * @example
 * ```ts
 * const guard = new LatencyGuard();
 * guard.observe({ n: 8, predictedMs: 12, actualMs: 13.5, at: 1000 }); // a batch of 8 took 1.5 ms longer
 * const marginMs = 1 + guard.excessMs(8, 1001);
 * ```
 */
export class LatencyGuard {
  readonly #o: LatencyGuardOptions;
  readonly #all: RecentWindow;
  readonly #classes: (RecentWindow | undefined)[] = [];
  // The last answer and what it was asked for (size class, time, quantile), until the next observation: a host
  // planning a launch asks for the batch it shrank to and then, deciding, for the same batch again.
  #askedClass = -1;
  #askedNow = Number.NaN;
  #askedQ = Number.NaN;
  #answer = 0;

  constructor(options: Partial<LatencyGuardOptions> = {}) {
    this.#o = resolveLatencyGuardOptions(options);
    this.#all = new RecentWindow(this.#o.window, this.#o.maxAgeMs);
  }

  /** Records a batch of `n` that ended at `at`: predicted and actual time from its planned start to its end, ms. */
  observe(o: { readonly n: number; readonly predictedMs: number; readonly actualMs: number; readonly at: number }): void {
    const excess = o.actualMs - o.predictedMs;
    if (!Number.isFinite(excess) || !Number.isFinite(o.at)) return;
    this.#askedClass = -1;
    this.#all.push(o.at, excess);
    (this.#classes[sizeClass(o.n)] ??= new RecentWindow(this.#o.window, this.#o.maxAgeMs)).push(o.at, excess);
  }

  /** The margin for a batch of `n` at time `now`, ms: the quantile of its size class's recent excess (or of all sizes). */
  excessMs(n: number, now: number): number {
    return this.quantileMs(n, now, this.#o.quantile);
  }

  /**
   * Any quantile `q` of the recent excess for a batch of `n` at `now`, ms, by the same rules as {@link excessMs}
   * (its size class once it has `minClassSamples`, else all sizes; 0 before `minSamples`; clamped to
   * `0…maxExcessMs`; never the single largest of several). The median says how late such a batch *typically*
   * ends — what a host adds to decide whether an item is more likely late than not — where the default high
   * quantile is the margin that keeps late ends rare. O(1) while no observation arrives or ages out.
   */
  quantileMs(n: number, now: number, q: number): number {
    const c = sizeClass(n);
    // The answer depends only on the observations, the class, the time and the quantile: asked again, it is the same.
    if (c === this.#askedClass && now === this.#askedNow && q === this.#askedQ) return this.#answer;
    const own = this.#classes[c];
    const mine = own === undefined ? undefined : this.#quantile(own, now, this.#o.minClassSamples, q);
    const answer = mine ?? this.#quantile(this.#all, now, this.#o.minSamples, q) ?? 0;
    this.#askedClass = c;
    this.#askedNow = now;
    this.#askedQ = q;
    this.#answer = answer;
    return answer;
  }

  /** Observations over all sizes still within `maxAgeMs` of `now`. */
  samples(now: number): number {
    let k = 0;
    for (let i = 0; i < this.#all.count; i++) if (this.#all.at[i]! >= now - this.#o.maxAgeMs) k++;
    return k;
  }

  #quantile(r: RecentWindow, now: number, minSamples: number, q: number): number | undefined {
    if (now >= r.validUntil) r.refresh(now);
    const k = r.sortedCount;
    if (k < Math.max(1, minSamples)) return undefined;
    // Never the largest of several alone: one stall among a few batches is no evidence that one in fifty stalls.
    const i = Math.min(Math.floor(Math.min(1, Math.max(0, q)) * k), k > 1 ? k - 2 : 0);
    return Math.min(this.#o.maxExcessMs, Math.max(0, r.sorted[i]!));
  }
}

/** Size class of a batch of `n`: ⌊log2 n⌋ (1 → 0, 2–3 → 1, 4–7 → 2, …). */
function sizeClass(n: number): number {
  // Batch sizes are integers: their bit length says it without a logarithm (the same class, Math.log2 being exact at powers of two).
  if ((n | 0) === n && n >= 1) return 31 - Math.clz32(n);
  return n >= 1 ? Math.floor(Math.log2(n)) : 0;
}

/**
 * Fills and validates {@link LatencyGuardOptions}.
 * @throws EparaError `INVALID_OPTIONS` naming the field.
 */
export function resolveLatencyGuardOptions(options: Partial<LatencyGuardOptions> = {}): LatencyGuardOptions {
  const o = { ...DEFAULT_LATENCY_GUARD_OPTIONS, ...options };
  if (!(Number.isInteger(o.window) && o.window >= 1)) invalidOption('window', o.window, 'an integer >= 1');
  if (!(o.quantile >= 0 && o.quantile <= 1)) invalidOption('quantile', o.quantile, 'a number in [0, 1]');
  if (!(o.maxAgeMs > 0)) invalidOption('maxAgeMs', o.maxAgeMs, 'a number > 0');
  if (!(Number.isInteger(o.minSamples) && o.minSamples >= 0)) invalidOption('minSamples', o.minSamples, 'an integer >= 0');
  if (!(Number.isInteger(o.minClassSamples) && o.minClassSamples >= 0)) invalidOption('minClassSamples', o.minClassSamples, 'an integer >= 0');
  if (!(o.maxExcessMs >= 0)) invalidOption('maxExcessMs', o.maxExcessMs, 'a number >= 0');
  return Object.freeze(o);
}
