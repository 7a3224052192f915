import { latencyAt, type LatencyProfile } from '@epara/core';
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
 * The host thread's own time per batch the plan prices beside the profile's `L(b)`, ms: posting the run message
 * and reading its answer, planning, settling (0.5 ms to send and 0.25 ms to settle, the figures
 * `settled-batch-model.test.ts` models the bench's host with). A batch of `b` is priced at `b / (L(b) + 0.75)`
 * items per ms: on a flat profile the larger batches then win by the cost they amortize, not by a few hundredths
 * of a ms of measurement noise in one point (plans of 2–10 from one profile's reruns, now the largest the
 * deadline allows). Not device time: the device scheduler's overload rule and the capacity figures keep `L(b)`.
 */
export const HOST_MS_PER_BATCH = 0.75;

/**
 * The deadline rule's batch priced with the host's per-batch cost: among the `b` with `2·L(b) ≤ D`, the largest
 * whose `b / (L(b) + HOST_MS_PER_BATCH)` is within {@link AMORTIZE_SHARE} of the best such rate (the best itself,
 * ties to the larger, when no larger one is).
 */
function amortizedBatch(profile: LatencyProfile, budgetMs: number, maxBatch: number): number {
  const largest = batchSizeForDeadline(profile, budgetMs, { maxBatch, choice: 'largest' });
  let best = 1;
  let top = 0;
  for (let b = 1; b <= largest; b++) {
    const r = pricedRate(profile, b);
    if (r >= top) [best, top] = [b, r];
  }
  const floor = AMORTIZE_SHARE * top;
  for (let b = largest; b > best; b--) if (pricedRate(profile, b) >= floor) return b;
  return best;
}

/** Items per ms of a batch of `b`, its run and the host's per-batch work together. */
function pricedRate(profile: LatencyProfile, b: number): number {
  return b / (latencyAt(profile, b) + HOST_MS_PER_BATCH);
}
