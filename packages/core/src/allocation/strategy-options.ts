import type { LatencyProfile } from '../profiles/latency-profile.js';
import { invalidOption } from '../errors/epara-error.js';

/**
 * Every constant the strategy calculators ({@link planBatching}, {@link planMultiFrame},
 * {@link checkMultiTask}, {@link planDataParallel}, {@link planModelParallel}), {@link classify} and
 * {@link allocate} use. Pass a partial object; {@link resolveStrategyOptions} fills in
 * {@link DEFAULT_STRATEGY_OPTIONS}.
 */
export interface StrategyOptions {
  /**
   * Fraction of each device's memory kept free (allocator fragmentation, runtime buffers):
   * usable memory = `memoryBytes × (1 − reserveFraction)`.
   * @default 0.1
   */
  readonly reserveFraction: number;
  /**
   * Largest batch or pack size searched. Profiles extrapolate linearly past their last measured point, so
   * keep this near the largest batch you profiled.
   * @default 256
   */
  readonly maxBatch: number;
  /**
   * How far past the largest measured batch a plan may go, as a multiple of it: a profile extrapolates
   * linearly beyond its last point, which is a guess, and a plan's batch should be one the machine was seen
   * to run (large-activation models on a CPU get slower per item past batch ~8). 1 keeps plans within the
   * measured range; `Infinity` trusts the extrapolation up to {@link StrategyOptions.maxBatch}.
   * @default 1
   */
  readonly profileExtrapolation: number;
  /**
   * The factor `k` in the batching rule `k·L(b) ≤ D`: a request may wait for one running batch and then run
   * in the next, so 2 is the safe value; 1 assumes requests never wait (only for idle devices).
   * @default 2
   */
  readonly batchingWaitFactor: number;
  /**
   * Which feasible batch size batching uses (among those with `k·L(b) ≤ D` that fit memory): `'throughput'`
   * (the highest `b / L(b)`, ties to the larger — the same as the largest for profiles whose per-item cost does
   * not grow with the batch) or `'largest'` (the design's literal rule).
   * @default 'throughput'
   */
  readonly batchChoice: 'throughput' | 'largest';
  /**
   * Which feasible pack size multi-frame uses: `'min'` (smallest `n` that keeps up: least staleness) or
   * `'max'` (largest `n` within the staleness limit: most spare rate).
   * @default 'min'
   */
  readonly packChoice: 'min' | 'max';
  /**
   * Model parallelism, even split: parallel efficiency `e` in `L_stage(b) = L(b)/(d·e) + commPerStageMs`.
   * Used only when no measured stage profiles are given.
   * @default 0.9
   */
  readonly modelParallelEfficiency: number;
  /**
   * Model parallelism, even split: communication time added to every stage (activation hand-off), ms.
   * @default 1
   */
  readonly commPerStageMs: number;
  /** Model parallelism: most pipeline stages (devices) tried. @default 8 */
  readonly maxStages: number;
  /** Data parallelism: most replicas one plan may use. @default 64 */
  readonly maxReplicas: number;
  /**
   * Multi-task: latency multiplier for each co-located service's batch (interference when services share a
   * device). 1 means pure time-sharing with no interference.
   * @default 1
   */
  readonly interferenceFactor: number;
  /**
   * Allocator: also offer model-parallel plans for services that fit one device (they can shorten the
   * worst-case wait); `'memory-bound'` offers them only when the model does not fit.
   * @default 'memory-bound'
   */
  readonly modelParallelCandidates: 'memory-bound' | 'always';
}

/** Defaults of {@link StrategyOptions}. */
export const DEFAULT_STRATEGY_OPTIONS: StrategyOptions = Object.freeze({
  reserveFraction: 0.1,
  maxBatch: 256,
  profileExtrapolation: 1,
  batchingWaitFactor: 2,
  batchChoice: 'throughput',
  packChoice: 'min',
  modelParallelEfficiency: 0.9,
  commPerStageMs: 1,
  maxStages: 8,
  maxReplicas: 64,
  interferenceFactor: 1,
  modelParallelCandidates: 'memory-bound',
});

const RESOLVED = Symbol('epara.resolvedStrategyOptions');
let resolvedDefaults: StrategyOptions | undefined;

/**
 * Fills and validates {@link StrategyOptions} once. Already-resolved options pass through untouched, so the
 * calculators can call it cheaply on every call.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field and value of the first invalid option.
 */
export function resolveStrategyOptions(options?: Partial<StrategyOptions>): StrategyOptions {
  if (options === undefined) return resolvedDefaults ??= resolveStrategyOptions({});
  if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
  if ((options as Record<symbol, unknown>)[RESOLVED] === true) return options as StrategyOptions;
  const o = { ...DEFAULT_STRATEGY_OPTIONS, ...stripUndefined(options) };
  fraction('reserveFraction', o.reserveFraction, true);
  integerAtLeast('maxBatch', o.maxBatch, 1);
  if (!(typeof o.profileExtrapolation === 'number' && o.profileExtrapolation >= 1)) {
    invalidOption('profileExtrapolation', o.profileExtrapolation, 'a number >= 1 (Infinity allowed)');
  }
  if (!(typeof o.batchingWaitFactor === 'number' && o.batchingWaitFactor >= 1 && Number.isFinite(o.batchingWaitFactor))) {
    invalidOption('batchingWaitFactor', o.batchingWaitFactor, 'a finite number >= 1');
  }
  if (o.batchChoice !== 'throughput' && o.batchChoice !== 'largest') invalidOption('batchChoice', o.batchChoice, "'throughput' or 'largest'");
  if (o.packChoice !== 'min' && o.packChoice !== 'max') invalidOption('packChoice', o.packChoice, "'min' or 'max'");
  if (!(typeof o.modelParallelEfficiency === 'number' && o.modelParallelEfficiency > 0 && o.modelParallelEfficiency <= 1)) {
    invalidOption('modelParallelEfficiency', o.modelParallelEfficiency, 'a number in (0, 1]');
  }
  if (!(typeof o.commPerStageMs === 'number' && o.commPerStageMs >= 0 && Number.isFinite(o.commPerStageMs))) {
    invalidOption('commPerStageMs', o.commPerStageMs, 'a finite number >= 0');
  }
  integerAtLeast('maxStages', o.maxStages, 1);
  integerAtLeast('maxReplicas', o.maxReplicas, 1);
  if (!(typeof o.interferenceFactor === 'number' && o.interferenceFactor >= 1 && Number.isFinite(o.interferenceFactor))) {
    invalidOption('interferenceFactor', o.interferenceFactor, 'a finite number >= 1');
  }
  if (o.modelParallelCandidates !== 'memory-bound' && o.modelParallelCandidates !== 'always') {
    invalidOption('modelParallelCandidates', o.modelParallelCandidates, "'memory-bound' or 'always'");
  }
  Object.defineProperty(o, RESOLVED, { value: true });
  return Object.freeze(o);
}

/**
 * Largest batch a plan may use on a profile: `maxBatch`, and at most `profileExtrapolation ×` the largest
 * measured batch.
 */
export function batchCap(profile: LatencyProfile, options: StrategyOptions): number {
  const measured = profile.points[profile.points.length - 1]!.batch;
  return Math.max(1, Math.min(options.maxBatch, Math.floor(measured * options.profileExtrapolation)));
}

/** Device memory a plan may use: `memoryBytes × (1 − reserveFraction)`. */
export function usableMemoryBytes(memoryBytes: number, options: StrategyOptions): number {
  return memoryBytes * (1 - options.reserveFraction);
}

/**
 * Most items whose working memory fits next to the weights: the largest `b ≤ cap` with
 * `weightsBytes + b·perItemBytes ≤ usableBytes` (exact under floating point: the division only seeds the
 * answer, the inequality itself decides). `cap` when items need no memory; 0 when not even one fits.
 */
export function itemsThatFit(usableBytes: number, weightsBytes: number, perItemBytes: number, cap: number): number {
  if (weightsBytes > usableBytes) return 0;
  if (perItemBytes <= 0) return cap;
  const estimate = Math.floor((usableBytes - weightsBytes) / perItemBytes);
  // Beyond the cap (or beyond float precision) the exact boundary does not matter.
  if (!(estimate < cap)) return cap;
  let b = Math.max(0, estimate);
  if (b + 1 <= cap && weightsBytes + (b + 1) * perItemBytes <= usableBytes) b++;
  if (b > 0 && weightsBytes + b * perItemBytes > usableBytes) b--;
  return b;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out as Partial<T>;
}

function fraction(field: string, value: unknown, allowZero: boolean): void {
  const ok = typeof value === 'number' && value < 1 && (allowZero ? value >= 0 : value > 0);
  if (!ok) invalidOption(field, value, allowZero ? 'a number in [0, 1)' : 'a number in (0, 1)');
}

function integerAtLeast(field: string, value: unknown, min: number): void {
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= min)) {
    invalidOption(field, value, `an integer >= ${min}`);
  }
}
