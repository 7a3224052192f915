import { LatencyGuard } from '@epara/core/scheduling';

/**
 * The learned margins start from three batches (core's default waits for eight): a host that sees every
 * completion 20 ms late would otherwise serve the first eight batches of a fresh executor unguarded, all of
 * them late. Never the largest of several still holds: with three, the margin is their median.
 */
const MIN_SAMPLES = 3;

/** Compute error grows with the batch: kept per size class. */
const COMPUTE_OPTIONS = { minSamples: MIN_SAMPLES } as const;

/** The host-side delay does not depend on the batch size: one class over all sizes, so every batch teaches it. */
const DELIVERY_OPTIONS = { minSamples: MIN_SAMPLES, minClassSamples: Number.MAX_SAFE_INTEGER } as const;

/**
 * How recently a batch must have ended for the typical lateness to be trusted, ms. A typical lateness that
 * makes every request look late lets no batch run to correct it: past this, it reads 0 until a batch ends
 * again (one item at a time is served as a probe) instead of every request being refused until the
 * observations age out.
 */
const TYPICAL_CONFIRM_MS = 250;

/**
 * The quantile of the host-side delay a launch keeps as margin by default: the same high quantile as the compute
 * error's. See {@link LaneLateness}'s `hostDelayQuantile`.
 */
export const DEFAULT_HOST_DELAY_QUANTILE = 0.98;

/** Size classes memoized per `ahead`: one per leading bit of a 32-bit size. */
const MEMO_CLASSES = 32;

/** One completed batch, as {@link LaneLateness.observe} takes it (read at once, not kept). */
export interface BatchEnd {
  readonly n: number;
  /** The run time predicted at dispatch, ms. */
  readonly expectedMs: number;
  /** When the batch was expected to start on the device, clock ms. */
  readonly plannedStart: number;
  /** When the host had its outputs, clock ms. */
  readonly end: number;
  /** Compute time inside the device, ms, when the lane reports it. */
  readonly runMs: number | undefined;
  /** Sent behind a running batch (its start also carries that batch's overrun). */
  readonly ahead: boolean;
}

/**
 * What one device learned of how late one lane's batches end, in two parts learned apart (core's
 * {@link LatencyGuard} each): the **compute error** (device time − prediction, per batch-size class: it grows
 * with the batch) and the **host-side delay** (from the planned start to the moment the host has the outputs,
 * minus the compute: messaging, a host thread running late, garbage collection, a batch sent ahead waiting
 * behind one that overran — the same for every size, so every batch teaches it; learned apart for batches sent
 * ahead). A lane that does not report its compute time puts the whole excess in the host-side part.
 */
export class LaneLateness {
  readonly #hostQuantile: number;
  readonly #compute = new LatencyGuard(COMPUTE_OPTIONS);
  readonly #direct = new LatencyGuard(DELIVERY_OPTIONS);
  readonly #ahead = new LatencyGuard(DELIVERY_OPTIONS);
  #lastEnd = Number.NEGATIVE_INFINITY;
  /** The observation handed to the guards (they read it at once): refilled per batch. */
  readonly #seen = { n: 0, predictedMs: 0, actualMs: 0, at: 0 };
  /**
   * {@link marginMs} answered at {@link #memoNow}, per `ahead` × size class (`[ahead ? 1 : 0][31 − clz32(n)]`), valid
   * where its stamp is {@link #memoGen}. A planning pass asks the margin of every batch size it weighs — core's
   * launch rule shrinks a batch one item at a time, asking at each size — and both guards answer per size class,
   * so one pass's answers repeat; each asked anew made three heap numbers (the two guards' quantiles and their
   * sum). A new clock reading or a new observation starts a new generation.
   */
  readonly #memo = new Float64Array(2 * MEMO_CLASSES);
  readonly #memoStamp = new Uint32Array(2 * MEMO_CLASSES);
  #memoGen = 1;
  #memoNow = Number.NaN;

  /**
   * `hostDelayQuantile`: the quantile of the host-side delay in {@link marginMs} (the compute error's is 0.98). A
   * host thread that hears every answer late (a saturated or shared machine: collections, other processes) learns
   * a high quantile of that delay in the tens of milliseconds; kept whole at every launch, against deadlines of a
   * few tens, it makes every head due on arrival, and an idle device runs each alone. A lower quantile keeps the
   * batches and serves more late. @default {@link DEFAULT_HOST_DELAY_QUANTILE}
   */
  constructor(hostDelayQuantile = DEFAULT_HOST_DELAY_QUANTILE) {
    this.#hostQuantile = hostDelayQuantile;
  }

  observe(b: BatchEnd): void {
    const delivery = b.ahead ? this.#ahead : this.#direct;
    const total = b.end - b.plannedStart;
    const seen = this.#seen;
    seen.n = b.n;
    seen.at = b.end;
    if (b.runMs === undefined || !Number.isFinite(b.runMs)) this.#observe(delivery, b.expectedMs, total);
    else {
      this.#observe(this.#compute, b.expectedMs, b.runMs);
      // Beyond what the prediction left room for: a prediction that already counts the hand-offs (learned
      // device hold time) leaves a negative compute error, which the guard clamps to 0; the hand-offs must not
      // count a second time here.
      this.#observe(delivery, Math.max(b.runMs, b.expectedMs), total);
    }
    this.#lastEnd = b.end;
    this.#forget();
  }

  #observe(guard: LatencyGuard, predictedMs: number, actualMs: number): void {
    this.#seen.predictedMs = predictedMs;
    this.#seen.actualMs = actualMs;
    guard.observe(this.#seen);
  }

  /**
   * The margin for a batch of `n`, ms: the high quantile (0.98) of the compute error of its size class plus
   * the `hostDelayQuantile` of the host-side delay (by default the same 0.98) — a batch launched with it at the
   * edge of its head's deadline ends late rarely, whichever part runs over.
   */
  marginMs(n: number, ahead: boolean, now: number): number {
    // Integral sizes from 1 have a size class by their leading bit (core's); any other is asked anew.
    if (!((n | 0) === n && n >= 1)) return this.#marginNow(n, ahead, now);
    if (now !== this.#memoNow) {
      this.#forget();
      this.#memoNow = now;
    }
    const k = (ahead ? MEMO_CLASSES : 0) + 31 - Math.clz32(n);
    if (this.#memoStamp[k] === this.#memoGen) return this.#memo[k]!;
    const m = this.#marginNow(n, ahead, now);
    this.#memo[k] = m;
    this.#memoStamp[k] = this.#memoGen;
    return m;
  }

  #marginNow(n: number, ahead: boolean, now: number): number {
    return this.#compute.excessMs(n, now) + this.#delivery(ahead, now).quantileMs(n, now, this.#hostQuantile);
  }

  /** Every memoized margin is stale (a stamp wraps only after 2³² generations; it restarts the stamps then). */
  #forget(): void {
    if (++this.#memoGen === 0x1_0000_0000) {
      this.#memoStamp.fill(0);
      this.#memoGen = 1;
    }
  }

  /**
   * How late a batch of `n` typically ends, ms: the medians of both parts; 0 when no batch ended within
   * {@link TYPICAL_CONFIRM_MS}. An item this lateness would make miss its deadline even alone is more likely
   * late than not.
   */
  typicalMs(n: number, ahead: boolean, now: number): number {
    if (!(now - this.#lastEnd <= TYPICAL_CONFIRM_MS)) return 0;
    return this.#compute.quantileMs(n, now, 0.5) + this.#delivery(ahead, now).quantileMs(n, now, 0.5);
  }

  /** Too few batches sent ahead yet: what direct launches taught. */
  #delivery(ahead: boolean, now: number): LatencyGuard {
    return ahead && this.#ahead.samples(now) >= MIN_SAMPLES ? this.#ahead : this.#direct;
  }
}
