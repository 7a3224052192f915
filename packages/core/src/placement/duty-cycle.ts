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
  /**
   * A latency item priced for the residual blocking of a shared device (see {@link sharedWaitFits}): its requests
   * wait behind whatever non-preemptible batch is running and behind the co-located items' work. @default false
   */
  readonly blocking?: boolean;
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
 * {@link cycleLimitMs}) and every item's rate is within `b_k / C`; and every latency item priced for blocking
 * ({@link CycleItem.blocking}) meets {@link sharedWaitFits}. Placement carries plans' `runMs`, so it
 * checks here rather than through the allocator's profile-based `checkMultiTask` (same rule).
 * A lone item is accepted as its plan was computed for a whole device (its capacity is what the allocator
 * derived for that device).
 */
export function dutyCycleFits(items: readonly CycleItem[]): boolean {
  return roundRobinFits(items) && sharedWaitFits(items);
}

/** The round-robin part of {@link dutyCycleFits} alone (cycle, deadlines, staleness and rates; no blocking price). */
export function roundRobinFits(items: readonly CycleItem[]): boolean {
  if (items.length <= 1) return true;
  let cycle = 0;
  let limit = Number.POSITIVE_INFINITY;
  for (const it of items) {
    cycle += sharedRun(it);
    limit = Math.min(limit, cycleLimitMs(it));
  }
  return cycle <= limit * (1 + PLACEMENT_TOLERANCE);
}

/** Fraction of a shared device's time an item keeps busy at its assigned rate: `rate × L_shared(b) / b`. */
export function sharedTimeShare(item: CycleItem): number {
  return (item.capacityPerSec * sharedRun(item)) / (1000 * item.batchSize);
}

/**
 * The price of co-location for a latency item ({@link CycleItem.blocking}) on a shared, non-preemptive device.
 * A request may arrive just after a batch started — its own service's or any co-located item's, none of which
 * can be interrupted — so it first waits up to the longest run on the device `B = max_j L_j(b_j)` (residual
 * blocking), then runs `L_k(b_k)`; meanwhile the co-located items keep the share `ρ_o = Σ_{j≠k} rate_j × L_j / b_j`
 * of the device busy, which stretches that time by `1 / (1 − ρ_o)`. The item fits when
 * `B + L_k(b_k) ≤ D_k × (1 − ρ_o)`: its usable budget is `D_k(1 − ρ_o) − B`, left for its own batch. Alone
 * (`B = L_k`, `ρ_o = 0`) this is the allocator's half-SLO rule `2·L_k(b_k) ≤ D_k`, so a lone item always fits (its
 * plan was computed for a whole device). Removing an item never raises `B` or `ρ_o`: the feasible sets stay
 * closed under removal. `extra`, when given, is checked as one more item on the device.
 */
export function sharedWaitFits(items: readonly CycleItem[], extra?: CycleItem): boolean {
  if (items.length + (extra ? 1 : 0) <= 1) return true;
  // Plain loops, no closure: the greedy asks this for every candidate device.
  let longest = extra ? sharedRun(extra) : 0;
  let load = extra ? sharedTimeShare(extra) : 0;
  let priced = extra?.blocking === true;
  for (const it of items) {
    longest = Math.max(longest, sharedRun(it));
    load += sharedTimeShare(it);
    if (it.blocking) priced = true;
  }
  if (!priced) return true;
  if (extra && !waitFits(extra, longest, load)) return false;
  for (const it of items) if (!waitFits(it, longest, load)) return false;
  return true;
}

/** One item's part of {@link sharedWaitFits}, given the device's longest run and total share. */
function waitFits(it: CycleItem, longest: number, load: number): boolean {
  return !it.blocking || longest + sharedRun(it) <= it.cycleBudgetMs * (1 - (load - sharedTimeShare(it))) * (1 + PLACEMENT_TOLERANCE);
}

/**
 * The largest rate `items[i]` may claim while every blocking latency item on its device still fits
 * {@link sharedWaitFits} (a latency item's own claim does not enter its own wait); Infinity when nothing limits
 * it. What the share upgrades and merges grow within, on top of the round-robin `b / C`.
 */
export function sharedClaimLimit(items: readonly CycleItem[], i: number): number {
  if (items.length <= 1) return Number.POSITIVE_INFINITY;
  const me = items[i]!;
  let longest = 0;
  let load = 0;
  for (const it of items) {
    longest = Math.max(longest, sharedRun(it));
    load += sharedTimeShare(it);
  }
  const others = load - sharedTimeShare(me);
  let share = Number.POSITIVE_INFINITY;
  for (let j = 0; j < items.length; j++) {
    const k = items[j]!;
    if (j === i || !k.blocking) continue;
    // ρ of k's others = the rest (without k and me) + my share ≤ 1 − (B + L_k) / D_k.
    share = Math.min(share, 1 - (longest + sharedRun(k)) / k.cycleBudgetMs - (others - sharedTimeShare(k)));
  }
  if (share === Number.POSITIVE_INFINITY) return share;
  return Math.max(0, (share * 1000 * me.batchSize) / sharedRun(me));
}

/** Fraction of a device's time an item keeps busy at its assigned rate: `rate × L(b) / b`. */
export function timeShare(item: CycleItem): number {
  return (item.capacityPerSec * item.runMs) / (1000 * item.batchSize);
}
