import { latencyAt, type LatencyProfile } from '../profiles/latency-profile.js';

/**
 * How one instance runs a batch of `b` items: `latencyMs(b)` is the time an item spends running (the whole
 * pipeline for model parallelism), `intervalMs(b)` the time between batch launches (the slowest stage; equal
 * to `latencyMs` on one device). Both are non-decreasing in `b`.
 */
export interface RunModel {
  latencyMs(b: number): number;
  intervalMs(b: number): number;
  /**
   * Batch sizes where the model's slope may change, ascending. Between two of them `b / intervalMs(b)` is
   * monotone, so throughput maxima are found at these points; `undefined` means every size is checked.
   */
  readonly breakpoints?: readonly number[];
}

const singleModels = new WeakMap<LatencyProfile, RunModel>();

/** A {@link RunModel} for one device with a measured profile (cached per profile object: profiles are immutable). */
export function singleDeviceModel(profile: LatencyProfile): RunModel {
  let model = singleModels.get(profile);
  if (model === undefined) {
    const at = (b: number): number => latencyAt(profile, b);
    model = { latencyMs: at, intervalMs: at, breakpoints: profile.points.map((p) => p.batch) };
    singleModels.set(profile, model);
  }
  return model;
}

/** Items per second sustained at batch `b`. */
export function rateAt(model: RunModel, b: number): number {
  return (b * 1000) / model.intervalMs(b);
}

/**
 * The batch size in `[1, hi]` with the highest sustained rate (ties go to the larger batch). Uses the
 * model's breakpoints when it has them: between breakpoints the rate is monotone.
 */
export function bestRateBatch(model: RunModel, hi: number): number {
  let best = 1;
  let bestRate = rateAt(model, 1);
  const points = model.breakpoints;
  const last = points === undefined ? hi : points.length;
  // Candidates: every size 2..hi without breakpoints; else the breakpoints inside (1, hi), then hi itself.
  for (let i = 0; i <= last; i++) {
    const b = i === last ? hi : points === undefined ? i + 1 : points[i]!;
    if (b <= 1 || b > hi || (i < last && points !== undefined && b === hi)) continue;
    const r = rateAt(model, b);
    if (r > bestRate || (r >= bestRate * (1 - 1e-12) && b > best)) {
      best = b;
      bestRate = Math.max(bestRate, r);
    }
  }
  return best;
}

/** Largest batch whose worst case `(waitFactor − 1)·interval(b) + latency(b)` fits `budgetMs`. */
export function largestBatchWithin(model: RunModel, budgetMs: number, waitFactor: number, limit: number): number {
  if (limit < 1 || worstCaseMs(model, 1, waitFactor) > budgetMs) return 0;
  let lo = 1;
  let hi = limit;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (worstCaseMs(model, mid, waitFactor) <= budgetMs) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Worst-case latency of an item at batch `b`: it waits `(waitFactor − 1)` running batches, then runs. */
export function worstCaseMs(model: RunModel, b: number, waitFactor: number): number {
  return (waitFactor - 1) * model.intervalMs(b) + model.latencyMs(b);
}

/** Worst staleness of a pack of `n` at rate `rateHz`: the first item waits for the pack to fill, then runs. */
export function packStalenessMs(model: RunModel, n: number, rateHz: number): number {
  return ((n - 1) * 1000) / rateHz + model.latencyMs(n);
}

/** Result of {@link searchPack}. */
export type PackSearch =
  | { readonly ok: true; readonly n: number; readonly nMax: number }
  | { readonly ok: false; readonly constraint: 'staleness' | 'rate'; readonly nMax: number; readonly bestRate: number };

/**
 * Multi-frame pack search: `nMax` = largest `n` with `(n−1)/F + L(n) ≤ S`; then the smallest (`'min'`) or the
 * highest-rate (`'max'`) `n ≤ nMax` with `n / L(n) ≥ F`.
 */
export function searchPack(model: RunModel, rateHz: number, stalenessMs: number, limit: number, choice: 'min' | 'max'): PackSearch {
  const nMax = largestFreshPack(model, rateHz, stalenessMs, limit);
  if (nMax === 0) return { ok: false, constraint: 'staleness', nMax, bestRate: 0 };
  if (choice === 'max') {
    const n = bestRateBatch(model, nMax);
    const rate = rateAt(model, n);
    return rate >= rateHz ? { ok: true, n, nMax } : { ok: false, constraint: 'rate', nMax, bestRate: rate };
  }
  for (let n = 1; n <= nMax; n++) if (rateAt(model, n) >= rateHz) return { ok: true, n, nMax };
  return { ok: false, constraint: 'rate', nMax, bestRate: rateAt(model, bestRateBatch(model, nMax)) };
}

/** Largest `n ≤ limit` with `(n−1)/F + L(n) ≤ S` (monotone in `n`, so a binary search); 0 when none. */
function largestFreshPack(model: RunModel, rateHz: number, stalenessMs: number, limit: number): number {
  if (limit < 1 || packStalenessMs(model, 1, rateHz) > stalenessMs) return 0;
  let lo = 1;
  let hi = limit;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (packStalenessMs(model, mid, rateHz) <= stalenessMs) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The highest rate one instance sustains within staleness `S` at any pack size (running full packs
 * back-to-back: a pack of `n` fills in `(n−1)·interval(n)/n`), and the pack size that achieves it.
 */
export function bestPackRate(model: RunModel, stalenessMs: number, limit: number): { readonly rate: number; readonly n: number } {
  // Usable packs form a prefix [1, hi]: both terms grow with n.
  if (limit < 1 || model.latencyMs(1) > stalenessMs) return { rate: 0, n: 0 };
  let lo = 1;
  let top = limit;
  while (lo < top) {
    const mid = (lo + top + 1) >> 1;
    if (((mid - 1) * model.intervalMs(mid)) / mid + model.latencyMs(mid) <= stalenessMs) lo = mid;
    else top = mid - 1;
  }
  const hi = lo;
  const n = bestRateBatch(model, hi);
  return { rate: rateAt(model, n), n };
}
