import type { LatencyProfile } from '../profiles/latency-profile.js';
import { latencyAt } from '../profiles/latency-profile.js';
import { invalidOption } from '../errors/epara-error.js';

/** Options of {@link streamCapacity}. */
export interface StreamCapacityOptions {
  /** `S`: the staleness budget a frame has on the device (the SLO's staleness less its network budget), ms. */
  readonly stalenessMs: number;
  /** Largest pack the device runs (the caller's memory and profile caps already applied). */
  readonly maxBatch: number;
  /**
   * Profiled ÷ real time of a pack of `n` on the device (1: the profile's time; 1/3: packs of `n` hold it three
   * times their profile). A pack of `n` holds the device `L(n) / speed(n)`.
   * @default () => 1
   */
  readonly speed?: (n: number) => number;
}

/** Result of {@link streamCapacity}. */
export interface StreamCapacity {
  /** Frames/s the device serves within `S`; 0 when not even one frame fits. */
  readonly ratePerSec: number;
  /** The pack size that reaches it; 0 when none fits. */
  readonly packSize: number;
}

/**
 * The rate of stream frames one device serves without letting a frame go stale: `n / H(n)` at the largest pack
 * `n ≤ maxBatch` with `2·H(n) ≤ S`, where `H(n) = L(n) / speed(n)` is the time a pack of `n` really holds the
 * device. Under a backlog the device's packs grow to that size; at its rate packs run back to back and a frame
 * waits at most for the pack running when it arrives, then runs in the next: the multi-frame rule (`(n−1)/F +
 * L(n) ≤ S` at `F = n / L(n)`, docs/concepts.md) with a whole pack's wait instead of the `(n−1)/n` of one a pack
 * takes to fill, which leaves room for packs that run long. This is the device's stream capacity, not the rate
 * of the pack a multi-frame plan chose for its own `F` (the smallest pack that keeps up with it: a pack of 1 for
 * a light stream), which is all the device serves only if packs never grow. The largest fresh pack is priced,
 * not the best rate over all sizes: a learned speed of a size that no longer runs drifts back toward the profile,
 * and the best over sizes would pick that stale, optimistic figure. `speed` is learned per size, so `H` need not
 * be monotone: sizes are checked from `maxBatch` down.
 *
 * @throws EparaError `INVALID_OPTIONS` for a non-positive `stalenessMs` or a `maxBatch` below 1.
 * @example
 * ```ts
 * const profile = createProfile('cpu', [{ batch: 1, ms: 10 }, { batch: 4, ms: 16 }]);
 * streamCapacity(profile, { stalenessMs: 40, maxBatch: 4 }); // { ratePerSec: 250, packSize: 4 }: 2 × 16 ms ≤ 40 ms
 * ```
 */
export function streamCapacity(profile: LatencyProfile, o: StreamCapacityOptions): StreamCapacity {
  if (!(o.stalenessMs > 0)) invalidOption('stalenessMs', o.stalenessMs, 'a positive number');
  if (!(o.maxBatch >= 1)) invalidOption('maxBatch', o.maxBatch, 'a number >= 1');
  for (let n = Math.floor(o.maxBatch); n >= 1; n--) {
    const holdMs = latencyAt(profile, n) / (o.speed === undefined ? 1 : o.speed(n));
    if (holdMs > 0 && 2 * holdMs <= o.stalenessMs) return { ratePerSec: (n * 1000) / holdMs, packSize: n };
  }
  return { ratePerSec: 0, packSize: 0 };
}
