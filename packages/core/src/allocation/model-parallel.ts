import type { ServiceSpec } from '../model/service.js';
import type { ParallelPlan, RequestStrategy } from './plan.js';
import { invalidOption } from '../errors/epara-error.js';
import { latencyAt, type LatencyProfile } from '../profiles/latency-profile.js';
import { assertDeviceKind, assertRate, assertService, budgetMs, type DeviceKindSpec } from './validate-input.js';
import { batchCap, itemsThatFit, resolveStrategyOptions, type StrategyOptions } from './strategy-options.js';
import { bestRateBatch, largestBatchWithin, rateAt, worstCaseMs, type RunModel } from './plan-search.js';
import { preparePlan } from './plan-basis.js';
import { finishPlan, fmt, fmtBytes, infeasible, type PlanOutcome } from './plan-outcome.js';
import { defaultRate, packPlan } from './multi-frame.js';

/** Measured per-stage profiles by stage count: `stageProfiles[d]` holds the `d` stages' profiles in order. */
export type StageProfiles = Readonly<Record<number, readonly LatencyProfile[]>>;

/** Input of {@link planModelParallel}. */
export interface ModelParallelInput {
  readonly service: ServiceSpec;
  readonly device: DeviceKindSpec;
  /** Items/s to serve (goodput; for a frequency service also the rate `F` the pipeline must keep up with). @default 0 */
  readonly demandPerSec?: number;
  /** @default 'batching' for latency services, 'multi-frame' for frequency */
  readonly requestStrategy?: RequestStrategy;
  /** Measured stage profiles (used for a stage count when present; otherwise the even split). */
  readonly stageProfiles?: StageProfiles;
  /** Smallest stage count to try (the allocator's alternatives start at 2). @default the memory minimum d_min */
  readonly minStages?: number;
  readonly options?: Partial<StrategyOptions>;
}

/**
 * Model parallelism (docs/concepts.md): `d_min = ceil((weights + perItem) / usable)` stages; the smallest
 * `d ≥ d_min` (up to {@link StrategyOptions.maxStages} and the devices of this kind one server holds,
 * `device.maxPerServer`) whose pipeline meets the SLO. Stage latency comes from
 * measured `stageProfiles[d]` when given (plus `commPerStageMs` per stage for the hand-off), else from the even
 * split `L(b)/(d·e) + commPerStageMs`. Throughput is limited by the slowest stage: capacity `b / max stage`.
 * An item waits for the first stage to free (`(waitFactor − 1)·max stage`) then crosses every stage
 * (`Σ stages`): for batching that worst case must fit `D`; for multi-frame, `(n−1)/F + Σ stages ≤ S` and
 * `n / max stage ≥ F`. Each stage holds `1/d` of the weights plus the working memory of a whole batch
 * (`weights/d + b·perItem`): with a batch in flight at every stage, a stage keeps boundary activations and its
 * layers' KV cache for pipelined batches, so splitting the working memory by `d` would under-count it.
 *
 * @throws EparaError `INVALID_OPTIONS` for an invalid service, device, demand, stage profiles or option.
 */
export function planModelParallel(input: ModelParallelInput): PlanOutcome {
  const { service, device } = input;
  assertService(service);
  assertDeviceKind(device);
  const demand = input.demandPerSec ?? 0;
  assertRate('demandPerSec', demand);
  const strategy = input.requestStrategy ?? (service.sensitivity === 'latency' ? 'batching' : 'multi-frame');
  if (strategy !== 'batching' && strategy !== 'multi-frame') invalidOption('requestStrategy', strategy, "'batching' or 'multi-frame'");
  const o = resolveStrategyOptions(input.options);
  const basis = preparePlan(service, device, o);
  if (basis.feasible !== 'basis') return basis;
  const { profile, usable, weightsBytes, perItemBytes } = basis;
  const dMin = Math.max(1, Math.ceil((weightsBytes + perItemBytes) / usable));
  const start = Math.max(dMin, input.minStages ?? dMin);
  const maxD = Math.min(o.maxStages, device.maxPerServer ?? Number.POSITIVE_INFINITY);
  if (start > maxD) {
    return infeasible('stages', `needs ${start} stages for ${fmtBytes(weightsBytes + perItemBytes)}, at most ${maxD} allowed (maxStages, devices of this kind per server)`);
  }
  let last: PlanOutcome = infeasible('stages', 'no stage count tried');
  for (let d = start; d <= maxD; d++) {
    const model = stageModel(profile, d, input.stageProfiles?.[d], o);
    const limit = itemsThatFit(usable, weightsBytes / d, perItemBytes, batchCap(profile, o));
    if (limit < 1) {
      last = infeasible('memory', `${d} stages: ${fmtBytes(weightsBytes / d + perItemBytes)} per stage at batch 1 exceeds usable ${fmtBytes(usable)}`);
      continue;
    }
    last = strategy === 'batching' ? batchedPipeline(service, device.kind, model, limit, o) : framedPipeline(service, device.kind, model, limit, demand, o);
    if (last.feasible) return { feasible: true, plan: asPipeline(last.plan, d, service, demand, dMin) };
  }
  return infeasible(last.feasible ? 'stages' : last.constraint, `no stage count in [${start}, ${maxD}] meets the SLO${last.feasible ? '' : `: ${last.reason}`}`);
}

function stageModel(profile: LatencyProfile, d: number, stages: readonly LatencyProfile[] | undefined, o: StrategyOptions): RunModel {
  const c = o.commPerStageMs;
  if (stages === undefined) {
    const stage = (b: number): number => latencyAt(profile, b) / (d * o.modelParallelEfficiency) + c;
    return { intervalMs: stage, latencyMs: (b) => d * stage(b), breakpoints: profile.points.map((p) => p.batch) };
  }
  if (!Array.isArray(stages) || stages.length !== d) invalidOption(`stageProfiles[${d}]`, stages, `an array of ${d} stage profiles`);
  return {
    intervalMs: (b) => stages.reduce((m, p) => Math.max(m, latencyAt(p, b) + c), 0),
    latencyMs: (b) => stages.reduce((s, p) => s + latencyAt(p, b) + c, 0),
  };
}

function batchedPipeline(service: ServiceSpec, kind: string, model: RunModel, limit: number, o: StrategyOptions): PlanOutcome {
  const D = budgetMs(service);
  const bMax = largestBatchWithin(model, D, o.batchingWaitFactor, limit);
  if (bMax === 0) return infeasible('deadline', `worst case at batch 1 is ${fmt(worstCaseMs(model, 1, o.batchingWaitFactor))} ms > D = ${fmt(D)} ms`);
  const b = o.batchChoice === 'largest' ? bMax : bestRateBatch(model, bMax);
  const plan = finishPlan(
    {
      serviceId: service.id,
      deviceKind: kind,
      requestStrategy: 'batching',
      serviceStrategy: 'single',
      devices: 1,
      batchSize: b,
      capacityPerSec: rateAt(model, b),
      memoryPerDeviceBytes: 0,
      expectedLatencyMs: worstCaseMs(model, b, o.batchingWaitFactor),
      runMs: model.latencyMs(b),
      notes: [`batch ≤ ${bMax} keeps the pipeline worst case within D = ${fmt(D)} ms`],
    },
    0,
  );
  return { feasible: true, plan };
}

function framedPipeline(service: ServiceSpec, kind: string, model: RunModel, limit: number, demand: number, o: StrategyOptions): PlanOutcome {
  const F = defaultRate(service, demand);
  return packPlan(service, kind, model, { rateHz: F, demand: F, limit, options: o });
}

function asPipeline(per: ParallelPlan, d: number, service: ServiceSpec, demand: number, dMin: number): ParallelPlan {
  const { weightsBytes, perItemBytes } = service.memory;
  const { goodputPerDevice: _g, utilization: _u, ...core } = per;
  return finishPlan(
    {
      ...core,
      serviceStrategy: 'model-parallel',
      devices: d,
      stages: d,
      memoryPerDeviceBytes: weightsBytes / d + per.batchSize * perItemBytes,
      notes: [`${d} pipeline stages (memory needs ≥ ${dMin}); slowest stage ${fmt((per.batchSize * 1000) / per.capacityPerSec)} ms`, ...per.notes],
    },
    demand,
  );
}
