import type { ServiceSpec } from '../model/service.js';
import { assertDeviceKind, assertRate, assertService, budgetMs, type DeviceKindSpec } from './validate-input.js';
import { batchCap, itemsThatFit, resolveStrategyOptions, type StrategyOptions } from './strategy-options.js';
import { rateAt, singleDeviceModel, worstCaseMs } from './plan-search.js';
import { chooseBatchSize } from '../scheduling/batch-size.js';
import { preparePlan } from './plan-basis.js';
import { finishPlan, fmt, fmtBytes, infeasible, type PlanOutcome } from './plan-outcome.js';

/** Input of {@link planBatching}. */
export interface BatchingInput {
  readonly service: ServiceSpec;
  /** The device kind and the memory of one device. */
  readonly device: DeviceKindSpec;
  /** Items/s the plan should serve (for goodput and utilization only). @default 0 */
  readonly demandPerSec?: number;
  readonly options?: Partial<StrategyOptions>;
}

/**
 * Batching on one device (the same rule as `batchSizeForDeadline` (`@epara/core/scheduling`)): the largest `b` with `2·L(b) ≤ D` (`D = deadline − networkBudget`;
 * the factor is {@link StrategyOptions.batchingWaitFactor}) and `weights + b·perItem ≤ usable memory`.
 * Among the batch sizes that satisfy both, the one with the highest throughput `b / L(b)` is chosen (ties to
 * the larger): for profiles whose per-item cost does not grow with the batch — the usual case — that is the
 * largest `b`; for profiles that slow down per item past some size it avoids a batch that would serve fewer
 * items per second (`batchChoice: 'largest'` keeps the design's literal rule). Capacity is `b / L(b)`.
 *
 * @throws EparaError `INVALID_OPTIONS` for an invalid service, device, demand or option.
 * @example
 * ```ts
 * const out = planBatching({ service, device: { kind: 'cpu-2t', memoryBytes: 4e9 }, demandPerSec: 50 });
 * if (out.feasible) console.log(out.plan.batchSize, out.plan.capacityPerSec);
 * ```
 */
export function planBatching(input: BatchingInput): PlanOutcome {
  const { service, device } = input;
  assertService(service);
  assertDeviceKind(device);
  const demand = input.demandPerSec ?? 0;
  assertRate('demandPerSec', demand);
  const o = resolveStrategyOptions(input.options);
  const basis = preparePlan(service, device, o);
  if (basis.feasible !== 'basis') return basis;
  const { profile, usable, weightsBytes, perItemBytes } = basis;
  const memLimit = itemsThatFit(usable, weightsBytes, perItemBytes, Number.MAX_SAFE_INTEGER);
  if (weightsBytes + perItemBytes > usable) {
    return infeasible('memory', `needs ${fmtBytes(weightsBytes + perItemBytes)} at batch 1, usable ${fmtBytes(usable)}`);
  }
  const cap = batchCap(profile, o);
  const limit = Math.min(cap, memLimit);
  const model = singleDeviceModel(profile);
  const D = budgetMs(service);
  const { batchSize: b, largest: bMax } = chooseBatchSize(model, D, { limit, waitFactor: o.batchingWaitFactor, choice: o.batchChoice });
  if (bMax === 0) {
    return infeasible('deadline', `${fmt(o.batchingWaitFactor)}·L(1) = ${fmt(o.batchingWaitFactor * model.latencyMs(1))} ms exceeds D = ${fmt(D)} ms`);
  }
  const runMs = model.latencyMs(b);
  const boundBy = bMax === memLimit && memLimit < cap ? 'memory' : bMax === cap ? (cap === o.maxBatch ? 'maxBatch' : 'the largest measured batch') : 'deadline';
  const notes = [`batch ≤ ${bMax} bound by ${boundBy} (D = ${fmt(D)} ms, ${fmt(o.batchingWaitFactor)}·L(b) ≤ D)`];
  if (b < bMax) notes.push(`batch ${b} chosen: it sustains more items/s than ${bMax}`);
  const plan = finishPlan(
    {
      serviceId: service.id,
      deviceKind: device.kind,
      requestStrategy: 'batching',
      serviceStrategy: 'single',
      devices: 1,
      batchSize: b,
      capacityPerSec: rateAt(model, b),
      memoryPerDeviceBytes: weightsBytes + b * perItemBytes,
      expectedLatencyMs: worstCaseMs(model, b, o.batchingWaitFactor),
      runMs,
      ...(b < bMax ? { largestBatchSize: bMax } : {}),
      notes,
    },
    demand,
  );
  return { feasible: true, plan };
}
