import type { ServiceSpec } from '../model/service.js';
import type { ParallelPlan, RequestStrategy } from './plan.js';
import { invalidOption } from '../errors/epara-error.js';
import { assertDeviceKind, assertRate, assertService, budgetMs, type DeviceKindSpec } from './validate-input.js';
import { resolveStrategyOptions, usableMemoryBytes, type StrategyOptions } from './strategy-options.js';
import { bestPackRate, singleDeviceModel } from './plan-search.js';
import { finishPlan, fmt, infeasible, type PlanOutcome } from './plan-outcome.js';
import { planBatching } from './batching.js';
import { defaultRate, packPlan } from './multi-frame.js';

/** Input of {@link planDataParallel}. */
export interface DataParallelInput {
  readonly service: ServiceSpec;
  readonly device: DeviceKindSpec;
  /** Items/s the replicas together must serve (for a frequency service, the sum of stream rates). */
  readonly demandPerSec: number;
  /** Request-level strategy of each replica. @default 'batching' for latency services, 'multi-frame' for frequency */
  readonly requestStrategy?: RequestStrategy;
  readonly options?: Partial<StrategyOptions>;
}

/**
 * Data parallelism (DESIGN.md §1): `d = ceil(demand / capacityOfOneDevice)` replicas, each running the
 * per-replica plan recomputed for `demand / d`. For batching the per-replica plan does not depend on demand;
 * for multi-frame `capacityOfOneDevice` is the best rate one device sustains within the staleness limit at any
 * pack size, and if the pack search at `F / d` is infeasible `d` grows (up to
 * {@link StrategyOptions.maxReplicas}). Frames are striped over the replicas and re-ordered by sequence.
 *
 * @throws EparaError `INVALID_OPTIONS` for an invalid service, device, demand or option.
 */
export function planDataParallel(input: DataParallelInput): PlanOutcome {
  const { service, device } = input;
  assertService(service);
  assertDeviceKind(device);
  assertRate('demandPerSec', input.demandPerSec);
  const strategy = input.requestStrategy ?? (service.sensitivity === 'latency' ? 'batching' : 'multi-frame');
  if (strategy !== 'batching' && strategy !== 'multi-frame') invalidOption('requestStrategy', strategy, "'batching' or 'multi-frame'");
  const o = resolveStrategyOptions(input.options);
  return strategy === 'batching' ? batchedReplicas(service, device, input.demandPerSec, o) : framedReplicas(service, device, input.demandPerSec, o);
}

function batchedReplicas(service: ServiceSpec, device: DeviceKindSpec, demand: number, o: StrategyOptions): PlanOutcome {
  const one = planBatching({ service, device, options: o });
  if (!one.feasible) return one;
  const d = Math.max(1, Math.ceil(demand / one.plan.capacityPerSec));
  if (d > o.maxReplicas) return tooMany(d, o);
  return replicate(one.plan, d, demand, `${d} replicas × ${fmt(one.plan.capacityPerSec)}/s for ${fmt(demand)}/s`);
}

function framedReplicas(service: ServiceSpec, device: DeviceKindSpec, demand: number, o: StrategyOptions): PlanOutcome {
  const profile = service.profiles[device.kind];
  if (profile === undefined) return infeasible('profile', `no latency profile for device kind ${device.kind}`);
  const usable = usableMemoryBytes(device.memoryBytes, o);
  const { weightsBytes, perItemBytes } = service.memory;
  if (weightsBytes + perItemBytes > usable) return infeasible('memory', 'one replica does not fit the device');
  const limit = Math.min(o.maxBatch, perItemBytes > 0 ? Math.floor((usable - weightsBytes) / perItemBytes) : o.maxBatch);
  const model = singleDeviceModel(profile);
  const best = bestPackRate(model, budgetMs(service), limit);
  if (best.rate === 0) return infeasible('staleness', `L(1) exceeds S = ${fmt(budgetMs(service))} ms`);
  const F = defaultRate(service, demand);
  let last: PlanOutcome = infeasible('replicas', 'no replica count tried');
  for (let d = Math.max(1, Math.ceil(F / best.rate)); d <= o.maxReplicas; d++) {
    last = packPlan(service, device.kind, model, { rateHz: F / d, demand: F / d, limit, options: o });
    if (last.feasible) return replicate(last.plan, d, demand, `${d} replicas, frames striped: F/d = ${fmt(F / d)}/s each`);
  }
  return last.feasible ? last : tooMany(Math.ceil(F / best.rate), o, last.reason);
}

function replicate(per: ParallelPlan, d: number, demand: number, note: string): PlanOutcome {
  const plan = finishPlan(
    {
      serviceId: per.serviceId,
      deviceKind: per.deviceKind,
      requestStrategy: per.requestStrategy,
      serviceStrategy: 'data-parallel',
      devices: d,
      batchSize: per.batchSize,
      capacityPerSec: per.capacityPerSec * d,
      memoryPerDeviceBytes: per.memoryPerDeviceBytes,
      expectedLatencyMs: per.expectedLatencyMs,
      runMs: per.runMs,
      notes: [note, ...per.notes],
    },
    demand,
  );
  return { feasible: true, plan };
}

function tooMany(d: number, o: StrategyOptions, why?: string): PlanOutcome {
  return infeasible('replicas', `needs ${d} replicas or more, maxReplicas is ${o.maxReplicas}${why === undefined ? '' : ` (${why})`}`);
}
