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
   * fits the SLO; goodput becomes a bipartite max-flow, so instances go where demand enters. Applies only when
   * the input has `delaysMs` (measured delays); without them every instance serves any demand of its service, as
   * with `false`. @default true
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
   * permitting). `false` gives every instance whole devices. `'auto'`: whole devices, unless that leaves a
   * service with demand without any instance while sharing places it (more services than devices, or too few
   * of the kinds a service runs on); then the co-located placement is used. Measured in the simulator's edge
   * world, co-location costs goodput wherever whole devices serve every service, even priced with the profiled
   * slowdown (docs/simulator.md, E7); on a cluster with fewer devices than services it is the only way to serve
   * them all; the mesh's placement coordinator and the simulator's EPARA use it (`EPARA_PLACEMENT_OPTIONS`, `@epara/core/internal`).
   * @default true
   */
  readonly multiTask?: boolean | 'auto';
  /**
   * Time shares a single-device instance may claim when multi-task is on: capacity `share × plan capacity`.
   * Levels below ¼ are used on clusters of at most 256 healthy devices (on larger ones they triple the gain
   * evaluations for little goodput). @default [1, 0.5, 0.25, 0.125]
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
   * the best result is kept. `'auto'`: 6 when there are at most 20 000 concrete candidate items (small and
   * medium clusters; 3 stopped short on 5 of 24 mid-size instances), else 0 (the lazy greedy alone keeps large
   * clusters fast). @default 'auto'
   */
  readonly restarts?: number | 'auto';
  /**
   * How a served item is valued. `'offered-load'`: every service with demand is worth the same when fully served
   * (an item is worth `weight × mean demand ÷ the service's demand`), so an expensive service with little demand
   * counts as much as a cheap popular one, at a cost in total items/s. `'per-item'`: an item is worth its
   * service's `weight` (weighted items/s; with the floor below, no service with demand is abandoned). The
   * default is `'offered-load'`: maximising raw items/s let a cheap popular service crowd out an expensive one
   * (the simulator measured the worst service's attainment at 0.15 with `'per-item'`, 0.88 with this).
   * `'floors-by-load'`: items within the floor (`minServedShare`) valued per offered load as above, bonus included,
   * items beyond it per item: every service's floor in the offered-load order, the rest to the most items per
   * device (with `minServedShare: 1` the floor is each service's whole demand up to its equal share of the
   * devices). Measured, it serves 1.17–1.20× a static placement's items on the scale bench and does not win at
   * every point of the simulator's sweeps (docs/placement.md). @default 'offered-load'
   */
  readonly valueWeighting?: 'offered-load' | 'per-item' | 'floors-by-load';
  /**
   * Value of an item of headroom — demand beyond the forecast, when the input's `demandHeadroom` says the demand
   * includes a planning margin — as a fraction of an item of forecast demand. Below 1, the greedy serves every
   * service's forecast before any service's headroom (as far as the value per device allows), so a cheap
   * service's margin for bursts that may not arrive does not take devices from an expensive service's expected
   * demand. The value stays a concave non-decreasing function of each service's served items, so the objective
   * stays monotone submodular. In [0, 1]; 1 = headroom worth as much as forecast (no discount). @default 1
   */
  readonly headroomValue?: number;
  /**
   * Floor: the first `minServedShare` of every service's demand is worth `1 + floorBonus` times more, so no service
   * with demand is left unplaced while another is served beyond its floor (when placing it is possible at all;
   * placement is still greedy, so this holds as far as the greedy finds room).
   * 0 disables the floor. @default 0.5
   */
  readonly minServedShare?: number;
  /**
   * Extra value of an item within the floor, as a multiple of its weight. The default makes the floor come first
   * in practice (a floor item beats any surplus item unless the surplus serves a million times more items per
   * device); a small bonus (e.g. 10) only prefers floors. @default 1e6
   */
  readonly floorBonus?: number;
  /**
   * Caps each service's floor at what its equal share of the healthy devices would serve (every device on the
   * service's best plan for its kind, divided by the number of services with demand). Without the cap, a service
   * that serves few items per device (an LLM: ~2 requests/s per GPU) claims as many devices as half its demand
   * needs before any other service's surplus counts, however short the devices are; with it, its floor takes at
   * most its share, and the surplus is valued by `valueWeighting` as for everyone. The cap never binds when the
   * devices are plentiful (each service's share then serves more than its floor). @default true
   */
  readonly floorFairShare?: boolean;
  /**
   * Interference when single-device instances share a device: each batch runs `1 + colocationSlowdown` times
   * longer than profiled alone (the duty cycle and the shared rate use the slower run), so co-location is chosen
   * only when it still pays. A service's `colocationSlowdown` (profiled) overrides it. 0 = no interference.
   * @default 0.1
   */
  readonly colocationSlowdown?: number;
  /**
   * With locality, among items of a service that tie on gain per cost (every server reaches the same demand),
   * prefer the server closest to where the service's demand enters: the lowest demand-weighted round trip
   * `Σ rate_a × rtt(a, s) ÷ Σ rate_a`, as a share of the service's SLO. Servers within `nearDemandTolerance` of
   * each other in that share keep server order, so a service whose SLO dwarfs the delays (an LLM) does not take
   * the devices near a hot spot from the tight ones. Only the order among equal items changes; the objective does
   * not. With co-location the services whose demand enters at the same hot spot can all crowd its server (which
   * service reaches it first is still the greedy's order). Measured in the simulator's edge world it pays with one
   * service per device, and with co-location at most load points (docs/placement.md). `false` keeps server order
   * among equal items. @default true
   */
  readonly nearDemandFirst?: boolean;
  /** Shares of the SLO (see `nearDemandFirst`) closer than this count as equally near. @default 0.02 */
  readonly nearDemandTolerance?: number;
  /**
   * With locality and the input's `arrivalSlackMs`, among items of a service that tie on gain per cost, prefer
   * the server where the most of the service's items would still be served in time: per access server `a`, the
   * share of its items whose slack on arrival covers `rtt(a, s)` + the plan's run (`runMs`: the least an item needs
   * there, so an item that fails it is lost wherever it runs), weighted by `a`'s rate, as a share of the service's
   * demand in steps of `nearDemandTolerance`; `nearDemandFirst`'s order (then
   * server order) decides within a step. Items that reach a hot spot late fit only near it, so the service whose
   * items there still fit nearby gets the near server, and a service whose items there fit nowhere goes where its
   * items still fit. Only the order among equal items changes, not the objective (bounds and guarantees
   * unchanged); with every item arriving with its whole SLO left (or no `arrivalSlackMs`) it places as without it.
   * Measured in the simulator's edge world it does not win (docs/placement.md), so it is off. @default false
   */
  readonly arrivalSlack?: boolean;
  /**
   * The swap rule: with locality, after the greedy (and its restarts), a local search over the servers of the new
   * instances swaps two of them between servers, or moves one to free room on another server, when that raises
   * the items the moved instances would serve in time — per access server the share of a service's items whose
   * slack on arrival (the input's `arrivalSlackMs`; without it, the whole SLO) covers the round trip plus the
   * plan's run, weighted by its rate and by the share of the service's demand the instance serves — or, on a tie,
   * lowers their demand-weighted round trip. A step is kept only when every device still fits (the greedy's
   * constraints) and the objective does not fall; kept instances never move. Bounded: at most 64 steps, 512
   * trials and 2 million scored pairs, skipped above 512 new instances, nothing without locality. `stats.swaps` counts its work. @default false
   */
  readonly serverSwap?: boolean;
  /**
   * With locality and the input's `arrivalSlackMs`, the reach test reads each item's slack on arrival instead of
   * the whole SLO: a service's demand at an access server is split by its slack (one demand node per distinct
   * slack, in steps of `nearDemandTolerance` of the SLO), and an instance reaches a node when that slack covers
   * the round trip (plus `transferMs`) and the plan's worst-case latency. Items that reach a hot spot late then
   * count only where a near, fast instance still answers them. `G` keeps its form (a max-flow over more demand
   * nodes). @default false
   */
  readonly slackReach?: boolean;
  /**
   * The price of co-locating a latency service on a shared, non-preemptive device: beside the round-robin duty
   * cycle, a latency item sharing a device needs `B + L_k(b_k) ≤ D_k × (1 − ρ_o)`, where `B` is the longest batch
   * on the device (a request may arrive just after any co-located batch or step started and cannot preempt it),
   * `L_k(b_k)` its own run and `ρ_o` the device share the co-located items keep busy at their claimed rates. So a
   * latency service shares a device only with short or light work, and gets one of its own when the others'
   * batches or load would eat its budget. A constraint, not a term of the objective: the objective stays
   * monotone submodular (docs/placement.md). `false` keeps the round-robin rule alone. @default true
   */
  readonly residualBlocking?: boolean;
  /**
   * The shortage switch. `false`: one placement with `valueWeighting`. `'switch'`: place first with whole-demand
   * floors valued by load (`valueWeighting: 'floors-by-load'`, `minServedShare: 1`, the other options as given);
   * when that placement leaves some service's forecast (demand ÷ `demandHeadroom`, plus backlog) unmet the devices
   * are short, and it is kept; otherwise everything fits and the placement is made again with the options as given.
   * `'estimate'`: places with the options as given; where that leaves a forecast unmet, also with the whole-demand
   * floors by load, and keeps the latter only when it too leaves a forecast unmet and its predicted items/s exceed
   * the other's by more than 2 %, both in all and within the forecast (`Σ min(served, forecast)`). Costs one or two
   * placements' work (`stats.evaluations` counts both); measured in docs/placement.md. @default false
   */
  readonly shortage?: false | 'switch' | 'estimate';
}

/** {@link ResolvedPlacementOptions} of one greedy run: co-location decided (see {@link PlacementOptions.multiTask}). */
export type PlacementRunOptions = Omit<ResolvedPlacementOptions, 'multiTask'> & { readonly multiTask: boolean };

/** {@link PlacementOptions} with every field filled. */
export interface ResolvedPlacementOptions {
  readonly switchWeight: number;
  readonly periodMs: number;
  readonly locality: boolean;
  readonly reserveFraction: number;
  readonly epsilon: number;
  readonly lazy: boolean;
  readonly multiTask: boolean | 'auto';
  readonly shareLevels: readonly number[];
  readonly costModel: 'resource' | 'unit';
  readonly safeguard: boolean;
  readonly batchVariants: number;
  readonly restarts: number | 'auto';
  readonly valueWeighting: 'offered-load' | 'per-item' | 'floors-by-load';
  readonly headroomValue: number;
  readonly minServedShare: number;
  readonly floorBonus: number;
  readonly floorFairShare: boolean;
  readonly colocationSlowdown: number;
  readonly nearDemandFirst: boolean;
  readonly nearDemandTolerance: number;
  readonly arrivalSlack: boolean;
  readonly serverSwap: boolean;
  readonly slackReach: boolean;
  readonly residualBlocking: boolean;
  readonly shortage: false | 'switch' | 'estimate';
}

/** The defaults of {@link PlacementOptions}. */
export const DEFAULT_PLACEMENT_OPTIONS: ResolvedPlacementOptions = {
  switchWeight: 1,
  periodMs: 30_000,
  locality: true,
  reserveFraction: 0.1,
  epsilon: 1e-9,
  lazy: true,
  multiTask: true,
  shareLevels: [1, 0.5, 0.25, 0.125],
  costModel: 'resource',
  safeguard: true,
  batchVariants: 2,
  restarts: 'auto',
  valueWeighting: 'offered-load',
  headroomValue: 1,
  minServedShare: 0.5,
  floorBonus: 1e6,
  floorFairShare: true,
  colocationSlowdown: 0.1,
  nearDemandFirst: true,
  nearDemandTolerance: 0.02,
  arrivalSlack: false,
  serverSwap: false,
  slackReach: false,
  residualBlocking: true,
  shortage: false,
};

/**
 * The placement policy EPARA deploys, over {@link DEFAULT_PLACEMENT_OPTIONS}: what the mesh's placement coordinator
 * passes to {@link placeServices} unless the host sets these fields, and what the simulator's EPARA measures. One
 * service per device unless that leaves a service with demand without an instance (`multiTask: 'auto'`): in the
 * simulator's edge world co-location cost goodput at every load where whole devices served every service, while
 * on a cluster with fewer devices than services (three servers of one device each) whole devices left one or two
 * of five services unserved. Where the devices are short, the whole-demand floors by load when they predict
 * clearly more items (`shortage: 'estimate'`): measured, it wins or ties at every point of the simulator's
 * sweeps (seeds 1–5) and serves 1.17× a static placement's items on the scale bench (docs/placement.md). Where the
 * placer knows the slack items arrive with (`arrivalSlackMs`, the simulator's EPARA), a tight latency service's
 * reach reads it (`slackReach`): at the quick mixed and latency points of seeds 6–10, held out, it gained up to
 * +24 % and lost at one (−0.01 %); at those of seeds 1–5 it lost at eight light-load points (up to −2.2 %) and gained
 * up to +13 % (frequency points are unchanged; docs/placement.md).
 */
export const EPARA_PLACEMENT_OPTIONS: Readonly<PlacementOptions> = Object.freeze({ multiTask: 'auto', shortage: 'estimate', slackReach: true });

/**
 * The options a run uses for an input: locality is on only when the input carries a delay model (`delaysMs`).
 * Without measured delays the max-flow would treat every server as next to every other, at a higher cost.
 */
export function effectivePlacementOptions(resolved: ResolvedPlacementOptions, input: { readonly delaysMs?: unknown }): ResolvedPlacementOptions {
  return resolved.locality && input.delaysMs === undefined ? { ...resolved, locality: false } : resolved;
}

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
  const valueWeighting = options.valueWeighting ?? d.valueWeighting;
  if (valueWeighting !== 'offered-load' && valueWeighting !== 'per-item' && valueWeighting !== 'floors-by-load') invalidOption('valueWeighting', valueWeighting, "'offered-load', 'per-item' or 'floors-by-load'");
  const headroomValue = options.headroomValue ?? d.headroomValue;
  if (!(typeof headroomValue === 'number' && headroomValue >= 0 && headroomValue <= 1)) invalidOption('headroomValue', headroomValue, 'a number in [0, 1]');
  const minServedShare = options.minServedShare ?? d.minServedShare;
  if (!(typeof minServedShare === 'number' && minServedShare >= 0 && minServedShare <= 1)) invalidOption('minServedShare', minServedShare, 'a number in [0, 1]');
  const floorBonus = options.floorBonus ?? d.floorBonus;
  if (!(Number.isFinite(floorBonus) && floorBonus >= 0)) invalidOption('floorBonus', floorBonus, 'a finite number ≥ 0');
  const colocationSlowdown = options.colocationSlowdown ?? d.colocationSlowdown;
  if (!(Number.isFinite(colocationSlowdown) && colocationSlowdown >= 0)) invalidOption('colocationSlowdown', colocationSlowdown, 'a finite number ≥ 0');
  const nearDemandTolerance = options.nearDemandTolerance ?? d.nearDemandTolerance;
  if (!(Number.isFinite(nearDemandTolerance) && nearDemandTolerance >= 0)) invalidOption('nearDemandTolerance', nearDemandTolerance, 'a finite number ≥ 0');
  const shortage = options.shortage ?? d.shortage;
  if (shortage !== false && shortage !== 'switch' && shortage !== 'estimate') invalidOption('shortage', shortage, "false, 'switch' or 'estimate'");
  return {
    shortage,
    nearDemandFirst: bool('nearDemandFirst', options.nearDemandFirst, d.nearDemandFirst),
    nearDemandTolerance,
    arrivalSlack: bool('arrivalSlack', options.arrivalSlack, d.arrivalSlack),
    serverSwap: bool('serverSwap', options.serverSwap, d.serverSwap),
    slackReach: bool('slackReach', options.slackReach, d.slackReach),
    residualBlocking: bool('residualBlocking', options.residualBlocking, d.residualBlocking),
    valueWeighting,
    headroomValue,
    minServedShare,
    floorBonus,
    floorFairShare: bool('floorFairShare', options.floorFairShare, d.floorFairShare),
    colocationSlowdown,
    switchWeight,
    periodMs,
    locality: bool('locality', options.locality, d.locality),
    reserveFraction,
    epsilon,
    lazy: bool('lazy', options.lazy, d.lazy),
    multiTask: multiTaskOf(options.multiTask, d.multiTask),
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

function multiTaskOf(value: boolean | 'auto' | undefined, fallback: boolean | 'auto'): boolean | 'auto' {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean' && value !== 'auto') invalidOption('multiTask', value, "a boolean or 'auto'");
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
