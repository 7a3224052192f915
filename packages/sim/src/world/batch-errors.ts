import { LatencyErrorTracker, LatencyGuard } from '@epara/core/scheduling';

/** Batch-size classes: 1, 2–3, 4–7, …, 2¹⁵ and more. */
const CLASSES = 16;

/**
 * The learned guard of one instance (core `LatencyErrorTracker`), kept either for all its batches together or
 * per batch-size class (powers of two). The error of a batch is not the same at every size: an LLM batch runs
 * as long as its longest answer, so a batch of one overruns its profile by up to the answers' spread while a
 * batch of 50 is close to its profile (which already counts the expected longest answer). One pooled factor
 * learned from small batches (what an instance that fell behind launches) inflates the estimate of every large
 * one, so the launch rule keeps shrinking batches: by size class, a class starts at the profile and learns its
 * own error.
 */
export class BatchErrors {
  readonly #bySize: boolean;
  readonly #trackers: (LatencyErrorTracker | undefined)[] = [];
  /** With `core`: the runtime's guard (core `LatencyGuard`), an additive margin per size class and no factor. */
  readonly #guard: LatencyGuard | null;

  constructor(bySize: boolean, core = false) {
    this.#bySize = bySize;
    this.#guard = core ? new LatencyGuard() : null;
  }

  /** True when the margin comes from core's `LatencyGuard` (then ask {@link excessMs} per batch size). */
  get core(): boolean {
    return this.#guard !== null;
  }

  /** Records one batch of `n` items that ended at `at`: predicted and actual run time, ms. */
  observe(n: number, predictedMs: number, actualMs: number, at = 0): void {
    if (this.#guard !== null) return this.#guard.observe({ n, predictedMs, actualMs, at });
    const k = this.#classOf(n);
    let t = this.#trackers[k];
    if (t === undefined) this.#trackers[k] = t = new LatencyErrorTracker();
    t.observe(predictedMs, actualMs);
  }

  /** The factor to multiply the prediction of a batch of `n` by (1 before its class has learned anything). */
  factor(n: number): number {
    if (this.#guard !== null) return 1;
    return this.#trackers[this.#classOf(n)]?.factor ?? 1;
  }

  /** The additive margin learned for batches of `n` (at `now`, for core's guard, whose observations age out), ms. */
  excessMs(n: number, now = 0): number {
    if (this.#guard !== null) return this.#guard.excessMs(n, now);
    return this.#trackers[this.#classOf(n)]?.excessMs ?? 0;
  }

  #classOf(n: number): number {
    return this.#bySize ? Math.min(CLASSES - 1, 31 - Math.clz32(Math.max(1, n))) : 0;
  }
}
