import { invalidOption } from '../errors/epara-error.js';

/** Options of {@link placeServices}. Every field is optional; defaults are in {@link DEFAULT_PLACEMENT_OPTIONS}. */
export interface PlacementOptions {
  /**
   * μ: weight of the switching cost. A new instance costs `μ × weight × min(demand, capacity) × loadTimeMs /
   * periodMs` (goodput, in items/s averaged over the period, forgone while it loads). 0 = stateless.
   * @default 1
   */
  readonly switchWeight?: number;
  /** Placement period, ms: the horizon over which load time and backlog are averaged. @default 30000 */
  readonly periodMs?: number;
  /**
   * Locality: an instance serves an access server's demand only if `delay(a→s) + delay(s→a) + plan latency`
   * fits the SLO; goodput becomes a bipartite max-flow. Off: any instance serves any demand of its service.
   * @default false
   */
  readonly locality?: boolean;
  /** Fraction of each device's memory kept free (fragmentation, runtime overhead); as the allocator's. @default 0.1 */
  readonly reserveFraction?: number;
  /** Greedy stops adding items whose net marginal gain is at most this (items/s). @default 1e-9 */
  readonly epsilon?: number;
  /** Lazy greedy (priority queue of stale upper bounds). `false` re-evaluates everything each step. @default true */
  readonly lazy?: boolean;
  /**
   * Multi-task: single-device instances of different services may share a device (memory and duty cycle
   * permitting). `false` gives every instance whole devices. @default true
   */
  readonly multiTask?: boolean;
  /**
   * Time shares a single-device instance may claim when multi-task is on: capacity `share × plan capacity`.
   * @default [1, 0.5, 0.25, 0.125]
   */
  readonly shareLevels?: readonly number[];
  /**
   * Greedy ratio: `'resource'` divides the gain by the fraction of device memory/time used (cost-benefit);
   * `'unit'` counts one per item (plain greedy on gain). @default 'resource'
   */
  readonly costModel?: 'resource' | 'unit';
  /** Also try the best single item first and keep the better result (knapsack safeguard). @default true */
  readonly safeguard?: boolean;
  /**
   * Multi-task batch variants: for each single-device batching plan whose service has a profile for the device
   * kind, also offer this many halvings of its batch size (`b/2`, `b/4`, …). The allocator's batch fills the
   * deadline alone (`2·L(b) ≤ D`); a smaller batch leaves room in the round-robin cycle for co-located services.
   * 0 places the allocator's plans only. @default 2
   */
  readonly batchVariants?: number;
  /**
   * Extra greedy runs, each started from one of the next-best single items (partial enumeration of size one);
   * the best result is kept. `'auto'`: 3 when there are at most 20 000 concrete candidate items (small and
   * medium clusters), else 0 (the lazy greedy alone keeps large clusters fast). @default 'auto'
   */
  readonly restarts?: number | 'auto';
}

/** {@link PlacementOptions} with every field filled. */
export interface ResolvedPlacementOptions {
  readonly switchWeight: number;
  readonly periodMs: number;
  readonly locality: boolean;
  readonly reserveFraction: number;
  readonly epsilon: number;
  readonly lazy: boolean;
  readonly multiTask: boolean;
  readonly shareLevels: readonly number[];
  readonly costModel: 'resource' | 'unit';
  readonly safeguard: boolean;
  readonly batchVariants: number;
  readonly restarts: number | 'auto';
}

/** The defaults of {@link PlacementOptions}. */
export const DEFAULT_PLACEMENT_OPTIONS: ResolvedPlacementOptions = {
  switchWeight: 1,
  periodMs: 30_000,
  locality: false,
  reserveFraction: 0.1,
  epsilon: 1e-9,
  lazy: true,
  multiTask: true,
  shareLevels: [1, 0.5, 0.25, 0.125],
  costModel: 'resource',
  safeguard: true,
  batchVariants: 2,
  restarts: 'auto',
};

/**
 * Fills defaults and validates once.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field, its value and what was expected.
 */
export function resolvePlacementOptions(options: PlacementOptions = {}): ResolvedPlacementOptions {
  if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
  const d = DEFAULT_PLACEMENT_OPTIONS;
  const switchWeight = options.switchWeight ?? d.switchWeight;
  if (!Number.isFinite(switchWeight) || switchWeight < 0) invalidOption('switchWeight', switchWeight, 'a finite number ≥ 0');
  const periodMs = options.periodMs ?? d.periodMs;
  if (!Number.isFinite(periodMs) || periodMs <= 0) invalidOption('periodMs', periodMs, 'a finite number > 0');
  const reserveFraction = options.reserveFraction ?? d.reserveFraction;
  if (!(reserveFraction >= 0 && reserveFraction < 1)) invalidOption('reserveFraction', reserveFraction, 'a number in [0, 1)');
  const epsilon = options.epsilon ?? d.epsilon;
  if (!Number.isFinite(epsilon) || epsilon < 0) invalidOption('epsilon', epsilon, 'a finite number ≥ 0');
  const batchVariants = options.batchVariants ?? d.batchVariants;
  if (!Number.isInteger(batchVariants) || batchVariants < 0) invalidOption('batchVariants', batchVariants, 'an integer ≥ 0');
  const restarts = options.restarts ?? d.restarts;
  if (restarts !== 'auto' && !(Number.isInteger(restarts) && restarts >= 0)) invalidOption('restarts', restarts, "an integer ≥ 0 or 'auto'");
  const costModel = options.costModel ?? d.costModel;
  if (costModel !== 'resource' && costModel !== 'unit') invalidOption('costModel', costModel, "'resource' or 'unit'");
  return {
    switchWeight,
    periodMs,
    locality: bool('locality', options.locality, d.locality),
    reserveFraction,
    epsilon,
    lazy: bool('lazy', options.lazy, d.lazy),
    multiTask: bool('multiTask', options.multiTask, d.multiTask),
    shareLevels: resolveShares(options.shareLevels ?? d.shareLevels),
    costModel,
    safeguard: bool('safeguard', options.safeguard, d.safeguard),
    batchVariants,
    restarts,
  };
}

function bool(field: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalidOption(field, value, 'a boolean');
  return value;
}

function resolveShares(levels: readonly number[]): readonly number[] {
  if (!Array.isArray(levels) || levels.length === 0) invalidOption('shareLevels', levels, 'a non-empty array');
  for (const [i, s] of levels.entries()) {
    if (!(typeof s === 'number' && s > 0 && s <= 1)) invalidOption(`shareLevels[${i}]`, s, 'a number in (0, 1]');
  }
  // Largest first: on equal gain per cost the greedy prefers fewer, larger instances.
  return [...new Set(levels)].sort((a, b) => b - a);
}
