/** What the time-share check needs to know about one item on a device. */
export interface CycleItem {
  /** Run time of one batch at the item's batch size, ms (`L_k(b_k)`). */
  readonly runMs: number;
  /**
   * Run time of one batch while the device is shared with other services (interference), ms. The duty cycle of
   * a shared device uses it. @default runMs
   */
  readonly sharedRunMs?: number;
  /** Items per batch (`b_k`). */
  readonly batchSize: number;
  /** Items/s the item is assigned on this device. */
  readonly capacityPerSec: number;
  /** `D_k`: deadline (latency) or staleness limit (frequency) minus the network budget, ms. */
  readonly cycleBudgetMs: number;
  /** Frequency items: a pack of `b_k` fills at the assigned rate before it can run. @default false */
  readonly fillsPacks?: boolean;
}

/** Relative slack for floating-point comparisons of times and memory. */
export const PLACEMENT_TOLERANCE = 1e-9;

/**
 * The longest round-robin cycle `C` an item tolerates: its assigned rate needs `b / C ≥ rate`; a latency item
 * needs `C + L(b) ≤ D` (a request may just miss its turn, wait one full cycle, then run); a frequency item needs
 * `(b − 1) / rate + C + L(b) ≤ S` (its pack fills, waits a cycle, runs) — the same rule as the allocator's
 * `checkMultiTask`.
 */
export function cycleLimitMs(item: CycleItem): number {
  const rateLimit = (1000 * item.batchSize) / item.capacityPerSec;
  const fillMs = item.fillsPacks ? ((item.batchSize - 1) * 1000) / item.capacityPerSec : 0;
  return Math.min(rateLimit, item.cycleBudgetMs - sharedRun(item) - fillMs);
}

/** An item's run time on a shared device (with interference). */
export function sharedRun(item: CycleItem): number {
  return item.sharedRunMs ?? item.runMs;
}

/**
 * Multi-task duty-cycle check of docs/concepts.md for the single-device items sharing one device: with the cycle
 * `C = Σ L_k(b_k)` (each run lengthened by interference, {@link CycleItem.sharedRunMs}), every latency item meets `C + L_k(b_k) ≤ D_k`, every frequency item its staleness (see
 * {@link cycleLimitMs}) and every item's rate is within `b_k / C`. Placement carries plans' `runMs`, so it
 * checks here rather than through the allocator's profile-based `checkMultiTask` (same rule).
 * A lone item is accepted as its plan was computed for a whole device (its capacity is what the allocator
 * derived for that device).
 */
export function dutyCycleFits(items: readonly CycleItem[]): boolean {
  if (items.length <= 1) return true;
  let cycle = 0;
  let limit = Number.POSITIVE_INFINITY;
  for (const it of items) {
    cycle += sharedRun(it);
    limit = Math.min(limit, cycleLimitMs(it));
  }
  return cycle <= limit * (1 + PLACEMENT_TOLERANCE);
}

/** Fraction of a device's time an item keeps busy at its assigned rate: `rate × L(b) / b`. */
export function timeShare(item: CycleItem): number {
  return (item.capacityPerSec * item.runMs) / (1000 * item.batchSize);
}
