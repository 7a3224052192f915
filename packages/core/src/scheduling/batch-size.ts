import type { LatencyProfile } from '../profiles/latency-profile.js';
import { invalidOption } from '../errors/epara-error.js';
import { bestRateBatch, largestBatchWithin, searchPack, singleDeviceModel, type RunModel } from '../allocation/plan-search.js';

/** Options of {@link batchSizeForDeadline}. */
export interface BatchSizeOptions {
  /** Largest batch considered (the caller's memory and profile caps already applied). */
  readonly maxBatch: number;
  /**
   * The factor `k` in `k·L(b) ≤ D`: a request may wait for one running batch and then run in the next, so 2
   * is the safe value; 1 gives the largest batch whose run alone fits `D` (the backlog limit).
   * @default 2
   */
  readonly waitFactor?: number;
  /**
   * Among the sizes that fit, `'throughput'` takes the highest `b / L(b)` (ties to the larger; the largest for
   * profiles whose per-item cost does not grow), `'largest'` the largest.
   * @default 'throughput'
   */
  readonly choice?: 'throughput' | 'largest';
}

/** Result of {@link chooseBatchSize}. */
export interface BatchChoice {
  /** The chosen batch size; 0 when not even one item fits the budget. */
  readonly batchSize: number;
  /** The largest size that fits (`k·L(b) ≤ D` within the limit); 0 when none. */
  readonly largest: number;
}

/**
 * The one batching rule, on any run model: the largest `b ≤ limit` with `(k − 1)·interval(b) + L(b) ≤ D`,
 * then the throughput-best size up to it (or that largest one). The allocator's {@link planBatching} and the
 * runtime's per-instance batch size both call it.
 */
export function chooseBatchSize(model: RunModel, budgetMs: number, o: { readonly limit: number; readonly waitFactor: number; readonly choice: 'throughput' | 'largest' }): BatchChoice {
  const largest = largestBatchWithin(model, budgetMs, o.waitFactor, o.limit);
  if (largest === 0) return { batchSize: 0, largest };
  return { batchSize: o.choice === 'largest' ? largest : bestRateBatch(model, largest), largest };
}

/**
 * Batch size for a latency budget `budgetMs` on one device with profile `profile` ({@link chooseBatchSize}
 * with `k = waitFactor`). Returns 1 when even one item does not fit (the launch rule then drops what cannot
 * make it).
 *
 * @throws EparaError `INVALID_OPTIONS` for a `maxBatch` below 1 or a `waitFactor` below 1.
 * @example
 * ```ts
 * const b = batchSizeForDeadline(affineProfile('cpu-1t', { fixedMs: 2, perItemMs: 0.5, maxBatch: 32 }), 15, { maxBatch: 32 });
 * ```
 */
export function batchSizeForDeadline(profile: LatencyProfile, budgetMs: number, options: BatchSizeOptions): number {
  const waitFactor = options.waitFactor ?? 2;
  if (!(options.maxBatch >= 1)) invalidOption('maxBatch', options.maxBatch, 'a number >= 1');
  if (!(waitFactor >= 1)) invalidOption('waitFactor', waitFactor, 'a number >= 1');
  const limit = Math.floor(options.maxBatch);
  return Math.max(1, chooseBatchSize(singleDeviceModel(profile), budgetMs, { limit, waitFactor, choice: options.choice ?? 'throughput' }).batchSize);
}

/**
 * Multi-frame pack size for a total rate `rateHz` on one device: the smallest `n` with `n / L(n) ≥ F` subject
 * to `(n−1)/F + L(n) ≤ S` (the allocator's {@link planMultiFrame} rule). `feasible` is false when no such
 * `n ≤ maxBatch` exists (the service needs data parallelism); `n` is then the pack with the best throughput
 * among those that are not stale (at least 1).
 */
export function packSizeForRate(profile: LatencyProfile, o: { readonly rateHz: number; readonly stalenessMs: number; readonly maxBatch: number; readonly choice?: 'min' | 'max' }): { n: number; feasible: boolean } {
  const model = singleDeviceModel(profile);
  const found = searchPack(model, o.rateHz, o.stalenessMs, Math.max(1, Math.floor(o.maxBatch)), o.choice ?? 'min');
  if (found.ok) return { n: found.n, feasible: true };
  return { n: found.nMax > 0 ? bestRateBatch(model, found.nMax) : 1, feasible: false };
}
