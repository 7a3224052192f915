import { latencyAt, type LatencyProfile } from '@epara/core';

/**
 * Batching rule of DESIGN.md §1: the largest `b ≤ maxBatch` with `2·L(b) ≤ D` (a request may wait for one
 * running batch, then run in the next). Returns 1 when even `b = 1` does not fit (the batcher then drops
 * what cannot make it).
 */
export function batchSizeForDeadline(profile: LatencyProfile, budgetMs: number, maxBatch: number): number {
  let best = 1;
  for (let b = 1; b <= maxBatch; b++) {
    if (2 * latencyAt(profile, b) <= budgetMs) best = b;
    else break;
  }
  return best;
}

/**
 * Multi-frame rule of DESIGN.md §1 for a total rate `rateHz` on one device: the smallest `n` with
 * `n / L(n) ≥ F` subject to `(n−1)/F + L(n) ≤ S`. `feasible` is false when no such `n ≤ maxBatch` exists
 * (the service is compute-bound multi and needs data parallelism); `n` is then the pack with the best
 * throughput among those that are not stale (at least 1).
 */
export function packSizeForRate(
  profile: LatencyProfile,
  o: { rateHz: number; stalenessMs: number; maxBatch: number },
): { n: number; feasible: boolean } {
  let fallback = 1;
  let bestRate = 0;
  for (let n = 1; n <= o.maxBatch; n++) {
    const l = latencyAt(profile, n);
    const fresh = ((n - 1) * 1000) / o.rateHz + l <= o.stalenessMs;
    if (!fresh) break;
    const rate = (n * 1000) / l;
    if (rate >= o.rateHz) return { n, feasible: true };
    if (rate > bestRate) {
      bestRate = rate;
      fallback = n;
    }
  }
  return { n: fallback, feasible: false };
}
