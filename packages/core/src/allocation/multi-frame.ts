import type { ServiceSpec } from '../model/service.js';
import { invalidOption } from '../errors/epara-error.js';
import { assertDeviceKind, assertRate, assertService, budgetMs, type DeviceKindSpec } from './validate-input.js';
import { batchCap, itemsThatFit, resolveStrategyOptions, type StrategyOptions } from './strategy-options.js';
import { packStalenessMs, rateAt, searchPack, singleDeviceModel, type RunModel } from './plan-search.js';
import { preparePlan } from './plan-basis.js';
import { finishPlan, fmt, fmtBytes, infeasible, type PlanOutcome } from './plan-outcome.js';

/** Input of {@link planMultiFrame}. */
export interface MultiFrameInput {
  readonly service: ServiceSpec;
  readonly device: DeviceKindSpec;
  /**
   * `F`, items/s to keep up with: the sum of the rates of the streams packed together.
   * @default the demand when positive, else the SLO's `rateHz` (one stream)
   */
  readonly rateHz?: number;
  /** Items/s the plan should serve (goodput and utilization). @default rateHz */
  readonly demandPerSec?: number;
  readonly options?: Partial<StrategyOptions>;
}

/**
 * Multi-frame packing on one device (docs/concepts.md): the smallest pack `n` with `n / L(n) ≥ F` (keeps up)
 * subject to `(n−1)/F + L(n) ≤ S` (not stale), where `S = stalenessMs − networkBudgetMs` (for a latency
 * service, its deadline stands in for `S`). With `packChoice: 'max'` the feasible `n` with the most spare rate
 * is used instead. Memory: `weights + n·perItem ≤ usable`. No feasible `n` means the service is compute-bound
 * on this device: use {@link planDataParallel}.
 *
 * The plan's capacity is `n / L(n)`: the pack keeps every rate in `[F, n/L(n)]` within `S`, because a higher
 * rate only fills the pack faster. Its expected latency is the staleness bound `(n−1)/F + L(n)`.
 *
 * @throws EparaError `INVALID_OPTIONS` for an invalid service, device, rate or option.
 */
export function planMultiFrame(input: MultiFrameInput): PlanOutcome {
  const { service, device } = input;
  assertService(service);
  assertDeviceKind(device);
  const rateHz = input.rateHz ?? defaultRate(service, input.demandPerSec ?? 0);
  if (!(typeof rateHz === 'number' && rateHz > 0 && Number.isFinite(rateHz))) invalidOption('rateHz', rateHz, 'a positive finite number');
  const demand = input.demandPerSec ?? rateHz;
  assertRate('demandPerSec', demand);
  const o = resolveStrategyOptions(input.options);
  const basis = preparePlan(service, device, o);
  if (basis.feasible !== 'basis') return basis;
  const { profile, usable, weightsBytes, perItemBytes } = basis;
  if (weightsBytes + perItemBytes > usable) {
    return infeasible('memory', `needs ${fmtBytes(weightsBytes + perItemBytes)} at pack 1, usable ${fmtBytes(usable)}`);
  }
  const limit = itemsThatFit(usable, weightsBytes, perItemBytes, batchCap(profile, o));
  return packPlan(service, device.kind, singleDeviceModel(profile), { rateHz, demand, limit, options: o });
}

/** The single-device multi-frame search on any run model; shared with data parallelism. */
export function packPlan(
  service: ServiceSpec,
  deviceKind: string,
  model: RunModel,
  p: { rateHz: number; demand: number; limit: number; options: StrategyOptions },
): PlanOutcome {
  const S = budgetMs(service);
  const found = searchPack(model, p.rateHz, S, p.limit, p.options.packChoice);
  if (!found.ok) {
    return found.constraint === 'staleness'
      ? infeasible('staleness', `L(1) = ${fmt(model.latencyMs(1))} ms exceeds S = ${fmt(S)} ms`)
      : infeasible('rate', `no pack ≤ ${found.nMax} (the most within S = ${fmt(S)} ms at this rate) keeps up with F = ${fmt(p.rateHz)}/s: best n/L(n) is ${fmt(found.bestRate)}/s`);
  }
  const n = found.n;
  const plan = finishPlan(
    {
      serviceId: service.id,
      deviceKind,
      requestStrategy: 'multi-frame',
      serviceStrategy: 'single',
      devices: 1,
      batchSize: n,
      capacityPerSec: rateAt(model, n),
      memoryPerDeviceBytes: service.memory.weightsBytes + n * service.memory.perItemBytes,
      expectedLatencyMs: packStalenessMs(model, n, p.rateHz),
      runMs: model.latencyMs(n),
      notes: [`pack ${n} keeps up with F = ${fmt(p.rateHz)}/s; packs ≤ ${found.nMax} stay within S = ${fmt(S)} ms`],
    },
    p.demand,
  );
  return { feasible: true, plan };
}

/** `F` when none is given: the demand when positive, else one stream at the SLO rate. */
export function defaultRate(service: ServiceSpec, demandPerSec: number): number {
  if (demandPerSec > 0) return demandPerSec;
  return service.slo.kind === 'frequency' ? service.slo.rateHz : 1;
}
