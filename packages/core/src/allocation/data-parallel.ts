import type { ServiceSpec } from '../model/service.js';
import type { ParallelPlan, RequestStrategy } from './plan.js';
import { invalidOption } from '../errors/epara-error.js';
import { assertDeviceKind, assertRate, assertService, budgetMs, type DeviceKindSpec } from './validate-input.js';
import { batchCap, itemsThatFit, resolveStrategyOptions, type StrategyOptions } from './strategy-options.js';
import { bestPackRate, singleDeviceModel } from './plan-search.js';
import { preparePlan } from './plan-basis.js';
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
 * Data parallelism (docs/concepts.md): `d = ceil(demand / capacityOfOneDevice)` replicas, each running the
 * per-replica plan recomputed for `demand / d`. For batching the per-replica plan does not depend on demand;
 * for multi-frame `capacityOfOneDevice` is the best rate one device sustains within the staleness limit at any
 * pack size, and if the pack search at `F / d` is infeasible `d` grows. `d` never exceeds
 * {@link StrategyOptions.maxReplicas} nor the devices of this kind one server holds (`device.maxPerServer`):
 * when more would be needed, the plan is a group of that many replicas serving part of the demand (placement
 * places several groups), each multi-frame replica at the best rate it sustains. Frames are striped over the
 * replicas and re-ordered by sequence.
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
  const cap = one.plan.capacityPerSec;
  const needed = Math.max(1, Math.ceil(demand / cap));
  const maxD = replicaLimit(device, o);
  if (needed <= maxD) return replicate(one.plan, needed, demand, `${needed} replicas × ${fmt(cap)}/s for ${fmt(demand)}/s`);
  if (maxD < 2) return tooMany(needed, maxD);
  return replicate(one.plan, maxD, demand, partialNote(needed, maxD, cap * maxD, demand));
}

function framedReplicas(service: ServiceSpec, device: DeviceKindSpec, demand: number, o: StrategyOptions): PlanOutcome {
  const basis = preparePlan(service, device, o);
  if (basis.feasible !== 'basis') return basis;
  const { profile, usable, weightsBytes, perItemBytes } = basis;
  if (weightsBytes + perItemBytes > usable) return infeasible('memory', 'one replica does not fit the device');
  const limit = itemsThatFit(usable, weightsBytes, perItemBytes, batchCap(profile, o));
  const model = singleDeviceModel(profile);
  const best = bestPackRate(model, budgetMs(service), limit);
  if (best.rate === 0) return infeasible('staleness', `L(1) exceeds S = ${fmt(budgetMs(service))} ms`);
  const F = defaultRate(service, demand);
  const needed = Math.max(1, Math.ceil(F / best.rate));
  const maxD = replicaLimit(device, o);
  for (let d = needed; d <= maxD; d++) {
    const per = packPlan(service, device.kind, model, { rateHz: F / d, demand: F / d, limit, options: o });
    if (per.feasible) return replicate(per.plan, d, demand, `${d} replicas, frames striped: F/d = ${fmt(F / d)}/s each`);
  }
  if (maxD < 2) return tooMany(needed, maxD);
  // Too few devices for all of F: each replica runs at the best rate it sustains (feasible by construction).
  const per = packPlan(service, device.kind, model, { rateHz: best.rate, demand: best.rate, limit, options: o });
  if (!per.feasible) return per;
  return replicate(per.plan, maxD, demand, partialNote(needed, maxD, per.plan.capacityPerSec * maxD, demand));
}

/** Most replicas one instance may use: the option, and the devices of this kind one server holds. */
function replicaLimit(device: DeviceKindSpec, o: StrategyOptions): number {
  return Math.min(o.maxReplicas, device.maxPerServer ?? Number.POSITIVE_INFINITY);
}

function partialNote(needed: number, d: number, capacity: number, demand: number): string {
  return `${d} replicas (limit) serve ${fmt(capacity)} of ${fmt(demand)}/s; all of it needs ${needed}: place several groups`;
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

function tooMany(needed: number, maxD: number): PlanOutcome {
  return infeasible('replicas', `needs ${needed} replicas, at most ${maxD} allowed (maxReplicas, devices of this kind per server)`);
}
