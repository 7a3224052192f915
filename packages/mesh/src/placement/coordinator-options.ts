import { invalidOption } from '@epara/core';
import type { PlacementOptions, ServiceDemand, ServiceSpec } from '@epara/core';
import { validateCostRatios, type CostRatios } from '@epara/core/scheduling';
import { validateDemandForecast } from './demand-forecast.js';
import type { DemandForecast } from './demand-forecast.js';

/** The node's `placement` option: core `placeServices` options plus what the coordinator itself uses. */
export interface CoordinatorOptions extends PlacementOptions {
  /** Demand floor per service so an idle service keeps an instance, items/s. @default 1 */
  readonly minDemandPerSec?: number;
  /**
   * The leader's first placement comes this long after `start()` — or later, once every alive server in its
   * view (at least one peer when the node has seeds) has reported its devices — instead of one whole
   * placement period later. @default 4 × syncPeriodMs
   */
  readonly initialDelayMs?: number;
  /**
   * The host's demand forecast for the next period (a list, or a function called at every run). Per service
   * and access server the leader uses the larger of the forecast and the arrival rate the view reports, so
   * a freshly started cluster is placed for the expected load before any request arrives. @default none
   */
  readonly demand?: DemandForecast;
  /**
   * Capacity is planned for the demand × this factor (≥ 1): a margin for bursts and for the time a pack takes to
   * fill, as the simulator's EPARA plans (1.25). Placement is told the factor (core `PlacementInput.demandHeadroom`),
   * so `headroomValue` can value the margin apart from the forecast. @default 1 (the forecast alone, no margin)
   */
  readonly demandHeadroom?: number;
  /**
   * Per service, what its batches really cost on the cluster's devices over what its profiles say (2.3: they hold a
   * device 2.3× their profile), as the host measures it — the runtime's backend or hold time over the profile; a
   * record, or a function called at every run. The leader plans with each service's profiles scaled by it (core's
   * `servicesAtMeasuredSpeed`), so a cluster whose devices run slower than profiled at start-up gets the instances
   * its demand needs there, and sends the plans back at the profiles' speed (an executor scales a plan by the speed
   * it learns itself). A service left out costs its profile. @default none (the profiles)
   */
  readonly costRatio?: CostRatios | (() => CostRatios);
}

/** {@link CoordinatorOptions} after defaults and validation. */
export interface ResolvedCoordinatorOptions {
  readonly minDemandPerSec: number;
  readonly initialDelayMs: number;
  /** Reads and validates the forecast (a function's result is validated at each call; it may throw). */
  readonly demand: (() => readonly ServiceDemand[]) | undefined;
  /** Factor the demand is planned for (≥ 1); absent: 1. */
  readonly demandHeadroom?: number;
  /** Reads the measured cost ratios (a function's result is validated at each call; it may throw). */
  readonly costRatio?: () => CostRatios;
  /** What goes to core `placeServices`. */
  readonly core: PlacementOptions;
}

/** Defaults of {@link CoordinatorOptions} (`initialDelayMs` is `initialDelaySyncPeriods × syncPeriodMs`). */
export const COORDINATOR_DEFAULTS = { minDemandPerSec: 1, initialDelaySyncPeriods: 4 } as const;

/**
 * Fills and validates the `placement` option of a node.
 *
 * @throws EparaError `INVALID_OPTIONS` naming `placement.<field>`, its value and what was expected.
 */
export function resolveCoordinatorOptions(o: CoordinatorOptions, ctx: { services: readonly ServiceSpec[]; syncPeriodMs: number }): ResolvedCoordinatorOptions {
  if (typeof o !== 'object' || o === null) invalidOption('placement', o, 'false or an object of placement options');
  const { minDemandPerSec = COORDINATOR_DEFAULTS.minDemandPerSec, initialDelayMs = COORDINATOR_DEFAULTS.initialDelaySyncPeriods * ctx.syncPeriodMs, demand, demandHeadroom, costRatio, ...core } = o;
  if (!(typeof minDemandPerSec === 'number' && Number.isFinite(minDemandPerSec) && minDemandPerSec >= 0)) {
    invalidOption('placement.minDemandPerSec', minDemandPerSec, 'a finite number >= 0 (items/s)');
  }
  if (!(typeof initialDelayMs === 'number' && Number.isFinite(initialDelayMs) && initialDelayMs >= 0)) {
    invalidOption('placement.initialDelayMs', initialDelayMs, 'a finite number >= 0 (ms)');
  }
  if (demandHeadroom !== undefined && !(typeof demandHeadroom === 'number' && Number.isFinite(demandHeadroom) && demandHeadroom >= 1)) {
    invalidOption('placement.demandHeadroom', demandHeadroom, 'a finite number >= 1 (the factor the demand is planned for)');
  }
  const ratios = resolveCostRatio(costRatio);
  return { minDemandPerSec, initialDelayMs, demand: resolveForecast(demand, new Set(ctx.services.map((s) => s.id))), ...(demandHeadroom === undefined ? {} : { demandHeadroom }), ...(ratios ? { costRatio: ratios } : {}), core };
}

function resolveCostRatio(costRatio: CoordinatorOptions['costRatio']): (() => CostRatios) | undefined {
  if (costRatio === undefined) return undefined;
  if (typeof costRatio === 'function') return () => validateCostRatios(costRatio(), 'placement.costRatio()');
  const fixed = validateCostRatios(costRatio, 'placement.costRatio');
  return () => fixed;
}

function resolveForecast(demand: DemandForecast | undefined, services: ReadonlySet<string>): ResolvedCoordinatorOptions['demand'] {
  if (demand === undefined) return undefined;
  if (typeof demand === 'function') return () => validateDemandForecast('placement.demand()', demand(), services);
  const fixed = validateDemandForecast('placement.demand', demand, services);
  return () => fixed;
}
