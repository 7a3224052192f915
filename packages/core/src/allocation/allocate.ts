import type { DeviceKind } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { totalDemandRate, type ServiceDemand } from '../model/demand.js';
import type { Category, ParallelPlan, RequestStrategy } from './plan.js';
import { invalidOption } from '../errors/epara-error.js';
import { assertRate, type DeviceKindSpec } from './validate-input.js';
import { resolveStrategyOptions, usableMemoryBytes, type StrategyOptions } from './strategy-options.js';
import { classify, singleCapacity, type Classification } from '../categories/classify.js';
import type { PlanOutcome } from './plan-outcome.js';
import { planBatching } from './batching.js';
import { defaultRate, planMultiFrame } from './multi-frame.js';
import { planDataParallel } from './data-parallel.js';
import { planModelParallel, type StageProfiles } from './model-parallel.js';

/** The strategy a candidate plan was built with. */
export type AllocationStrategy = RequestStrategy | 'data-parallel' | 'model-parallel';

/** Input of {@link allocate}. */
export interface AllocateInput {
  readonly service: ServiceSpec;
  /** Items/s for the service: a number, or a {@link ServiceDemand} (its requests plus stream rates are summed). */
  readonly demand: number | ServiceDemand;
  /** Available device kinds (see {@link deviceKindsOf}). */
  readonly deviceKinds: readonly DeviceKindSpec[];
  /** Measured pipeline-stage profiles by device kind, then stage count (model parallelism). */
  readonly stageProfiles?: Readonly<Record<DeviceKind, StageProfiles>>;
  readonly options?: Partial<StrategyOptions>;
}

/** A strategy ruled out on a device kind, and why. */
export interface InfeasibleCandidate {
  readonly deviceKind: DeviceKind;
  readonly memoryBytes: number;
  readonly strategy: AllocationStrategy;
  readonly reason: string;
}

/** Result of {@link allocate}. */
export interface Allocation {
  readonly category: Category;
  readonly classification: Classification;
  /** Candidate plans, best first: goodput per device descending, then less total memory, then more capacity per device. */
  readonly plans: readonly ParallelPlan[];
  /** Candidates that were considered and ruled out (ordinary infeasibility: no exception). */
  readonly infeasible: readonly InfeasibleCandidate[];
}

/**
 * Allocates one service: classifies it, then for every device kind builds the candidate plans its category
 * calls for — the single-device plan of its request strategy (batching for latency services, multi-frame for
 * frequency services), data-parallel replicas when the demand exceeds one device, and model-parallel pipelines
 * when the model does not fit one device (or always, with `modelParallelCandidates: 'always'`). Multi-task
 * co-location is decided by placement ({@link checkMultiTask}). Placement picks among the ranked plans.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field and value of invalid input.
 * @example
 * ```ts
 * const { category, plans } = allocate({ service, demand: 80, deviceKinds: deviceKindsOf(servers) });
 * const best = plans[0]; // e.g. { requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 8, … }
 * ```
 */
export function allocate(input: AllocateInput): Allocation {
  const { service, deviceKinds } = input;
  const demand = demandRate(input.demand, service);
  const o = resolveStrategyOptions(input.options);
  const classification = classify({ service, demandPerSec: demand, deviceKinds, options: o });
  const plans: ParallelPlan[] = [];
  const infeasible: InfeasibleCandidate[] = [];
  const record = (device: DeviceKindSpec, strategy: AllocationStrategy, out: PlanOutcome): ParallelPlan | undefined => {
    if (out.feasible) plans.push(out.plan);
    else infeasible.push({ deviceKind: device.kind, memoryBytes: device.memoryBytes, strategy, reason: out.reason });
    return out.feasible ? out.plan : undefined;
  };
  const strategy: RequestStrategy = service.sensitivity === 'latency' ? 'batching' : 'multi-frame';
  for (const device of deviceKinds) {
    if (service.profiles[device.kind] === undefined) {
      infeasible.push({ deviceKind: device.kind, memoryBytes: device.memoryBytes, strategy, reason: `no latency profile for device kind ${device.kind}` });
      continue;
    }
    const fits = service.memory.weightsBytes + service.memory.perItemBytes <= usableMemoryBytes(device.memoryBytes, o);
    const stageProfiles = input.stageProfiles?.[device.kind];
    if (fits) {
      const single = strategy === 'batching'
        ? planBatching({ service, device, demandPerSec: demand, options: o })
        : planMultiFrame({ service, device, rateHz: defaultRate(service, demand), demandPerSec: demand, options: o });
      const plan = record(device, strategy, single);
      const overloaded = plan !== undefined ? demand > plan.capacityPerSec : !single.feasible && single.constraint === 'rate';
      if (overloaded && strategy === 'multi-frame') {
        const part = wholeStreamsPlan(service, device, o);
        if (part !== undefined) plans.push(part);
      }
      if (overloaded) record(device, 'data-parallel', planDataParallel({ service, device, demandPerSec: demand, requestStrategy: strategy, options: o }));
      if (o.modelParallelCandidates === 'always') {
        record(device, 'model-parallel', planModelParallel({ service, device, demandPerSec: demand, stageProfiles, minStages: 2, options: o }));
      }
    } else {
      infeasible.push({ deviceKind: device.kind, memoryBytes: device.memoryBytes, strategy, reason: 'the model does not fit one device' });
      record(device, 'model-parallel', planModelParallel({ service, device, demandPerSec: demand, stageProfiles, options: o }));
    }
  }
  plans.sort(comparePlans);
  return { category: classification.category, classification, plans, infeasible };
}

/**
 * Frequency services whose streams together overload one device: the single-device plan for as many whole
 * streams (at the SLO rate) as one device keeps up with, so placement can spread the streams over several
 * single-device instances instead of striping them (striping is only needed when one stream exceeds a device).
 */
function wholeStreamsPlan(service: ServiceSpec, device: DeviceKindSpec, o: StrategyOptions): ParallelPlan | undefined {
  if (service.slo.kind !== 'frequency') return undefined;
  const perStream = service.slo.rateHz;
  const best = singleCapacity(service, device, o);
  for (let k = Math.floor(best / perStream); k >= 1; k--) {
    const out = planMultiFrame({ service, device, rateHz: k * perStream, demandPerSec: k * perStream, options: o });
    if (out.feasible) return { ...out.plan, notes: [`serves ${k} whole stream(s) of ${perStream}/s; place several instances for the rest`, ...out.plan.notes] };
  }
  return undefined;
}

/** Ranking order: goodput per device desc, then less total memory, then more capacity per device, then kind. */
export function comparePlans(a: ParallelPlan, b: ParallelPlan): number {
  const eps = 1e-9 * Math.max(1, Math.abs(a.goodputPerDevice), Math.abs(b.goodputPerDevice));
  if (Math.abs(a.goodputPerDevice - b.goodputPerDevice) > eps) return b.goodputPerDevice - a.goodputPerDevice;
  const memA = a.memoryPerDeviceBytes * a.devices;
  const memB = b.memoryPerDeviceBytes * b.devices;
  if (memA !== memB) return memA - memB;
  const capA = a.capacityPerSec / a.devices;
  const capB = b.capacityPerSec / b.devices;
  if (capA !== capB) return capB - capA;
  return a.deviceKind < b.deviceKind ? -1 : a.deviceKind > b.deviceKind ? 1 : a.devices - b.devices;
}

function demandRate(demand: number | ServiceDemand, service: ServiceSpec): number {
  if (typeof demand === 'number') {
    assertRate('demand', demand);
    return demand;
  }
  if (typeof demand !== 'object' || demand === null) invalidOption('demand', demand, 'a number or a ServiceDemand');
  if (demand.serviceId !== service?.id) invalidOption('demand.serviceId', demand.serviceId, `the service id ${String(service?.id)}`);
  const rate = totalDemandRate(demand);
  assertRate('demand (total rate)', rate);
  return rate;
}
