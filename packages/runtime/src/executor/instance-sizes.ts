import type { LatencyProfile } from '@epara/core';
import { throughputAt } from '@epara/core/internal';
import { batchSizeForDeadline, packSizeForRate } from '@epara/core/scheduling';
import type { ExecutorServiceOptions } from './executor-options.js';

/** What an instance's batch sizes depend on. */
export interface SizingInputs {
  readonly service: ExecutorServiceOptions;
  /** The plan's batch size, when it fixes one. */
  readonly planBatchSize: number | undefined;
  readonly profile: () => LatencyProfile;
  readonly batchable: boolean;
  /** Sum of the rates of the streams sending to the instance, items/s. */
  readonly streamRateHz: number;
  readonly devices: number;
}

/** An instance's batch sizes (see `ModelInstance.batchSize` and `maxBatchSize`). */
export interface InstanceSizes {
  readonly batchSize: number;
  readonly maxBatchSize: number;
}

/**
 * The plan's batch size (latency: the deadline rule; frequency: the pack size for the rate over the devices)
 * and the largest batch a backlog may grow to (`L(b) ≤ D`, at least the plan's); both 1 when unbatchable.
 */
export function instanceSizes(i: SizingInputs): InstanceSizes {
  if (!i.batchable) return { batchSize: 1, maxBatchSize: 1 };
  const s = i.service;
  // Batches stop at the largest one the profile measured, as core's plans do (`profileExtrapolation` 1): past its
  // last point a profile is a straight-line guess, and large-activation models run slower per item there.
  const measured = i.profile().points.at(-1)?.batch ?? 1;
  const maxBatch = Math.max(1, Math.min(s.maxBatch ?? 32, measured));
  const net = s.networkBudgetMs ?? 0;
  let batchSize: number;
  if (i.planBatchSize !== undefined) batchSize = i.planBatchSize;
  else if (s.slo.kind === 'latency') batchSize = amortizedBatch(i.profile(), s.slo.deadlineMs - net, maxBatch);
  else {
    const rateHz = Math.max(i.streamRateHz, s.slo.rateHz) / i.devices;
    batchSize = packSizeForRate(i.profile(), { rateHz, stalenessMs: s.slo.stalenessMs - net, maxBatch }).n;
  }
  const budget = (s.slo.kind === 'latency' ? s.slo.deadlineMs : s.slo.stalenessMs) - net;
  const largest = batchSizeForDeadline(i.profile(), budget, { maxBatch, waitFactor: 1, choice: 'largest' });
  return { batchSize, maxBatchSize: Math.max(batchSize, largest) };
}

/**
 * Throughput a batch must keep, as a share of the best one's, to be preferred for being larger — by the plan's
 * batch size here, and by the device scheduler's launch rule under a backlog (core's `amortizeShare`). A compute
 * profile does not contain the executor's per-batch host cost (messaging the worker, stacking, settling), which
 * only larger batches amortize: where the profile is flat (a CPU model running about as many items per second
 * at batch 2 as at 16), its best batch is decided by measurement noise and is often the smallest, and the host
 * then pays its per-batch cost for every two items.
 */
export const AMORTIZE_SHARE = 0.95;

/**
 * The deadline rule's batch (the highest-throughput `b` with `2·L(b) ≤ D`, core's `batchSizeForDeadline`), or
 * the largest batch under the same rule whose profiled throughput is within {@link AMORTIZE_SHARE} of it.
 */
function amortizedBatch(profile: LatencyProfile, budgetMs: number, maxBatch: number): number {
  const best = batchSizeForDeadline(profile, budgetMs, { maxBatch });
  const largest = batchSizeForDeadline(profile, budgetMs, { maxBatch, choice: 'largest' });
  const floor = AMORTIZE_SHARE * throughputAt(profile, best);
  for (let b = largest; b > best; b--) if (throughputAt(profile, b) >= floor) return b;
  return best;
}
