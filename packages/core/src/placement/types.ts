import type { DeviceId, ServerId, ServerSpec, ServiceId } from '../model/device.js';
import type { ServiceDemand } from '../model/demand.js';
import type { ServiceSpec } from '../model/service.js';
import type { ParallelPlan } from '../allocation/plan.js';

/**
 * One placed instance: a plan of a service on devices of a server. The same shape describes the current
 * placement (input) and the next one (output), so the output of one run is the `current` of the next.
 */
export interface PlacedInstance {
  /** Unique across the placement. Kept instances keep their id; new ones get `service/server/devices`. */
  readonly instanceId: string;
  readonly serviceId: ServiceId;
  readonly plan: ParallelPlan;
  readonly serverId: ServerId;
  /** The devices it occupies on `serverId`; exactly `plan.devices` of them. */
  readonly deviceIds: readonly DeviceId[];
  /**
   * Items/s this instance is assigned: its share of the device time (multi-task co-location claims a fraction
   * of a device). @default plan.capacityPerSec
   */
  readonly capacityPerSec?: number;
  /** Items/s measured at run time; replaces the nominal capacity in the objective when present. */
  readonly measuredCapacityPerSec?: number;
  /** Items waiting in its queue now; they add `backlogItems / period` to the next period's demand. */
  readonly backlogItems?: number;
}

/**
 * One-way network delay between two servers in ms: a matrix `delays[from][to]` (a missing entry means
 * unreachable, a server to itself is 0) or a function.
 */
export type NetworkDelays =
  | Readonly<Record<ServerId, Readonly<Record<ServerId, number>>>>
  | ((from: ServerId, to: ServerId) => number);

/** Everything {@link placeServices} decides from. */
export interface PlacementInput {
  /** Servers and devices, with health. Unhealthy ones host nothing. */
  readonly servers: readonly ServerSpec[];
  readonly services: readonly ServiceSpec[];
  /** Candidate plans per service id (the output of `allocate`). A service without plans is not placed. */
  readonly plans: Readonly<Record<ServiceId, readonly ParallelPlan[]>>;
  /** Demand forecast for the next period, per service and access server. Missing service = no demand. */
  readonly demand: readonly ServiceDemand[];
  /**
   * The planning margin `demand` includes: every entry's request and stream rates are the forecast × this factor
   * (a host that places for bursts above the forecast). Placement then knows which part of each service's demand
   * is forecast and which is headroom, and values the headroom at `headroomValue` (an option) of an item. Backlog
   * from `current` counts as forecast. Must be a finite number ≥ 1. @default 1 (the demand is the forecast)
   */
  readonly demandHeadroom?: number;
  /**
   * The time each service's items have left when they reach each access server, ms, per service id and access
   * server id: a sample of such slacks (quantiles, say), each standing for an equal share of that server's items.
   * It is what is left of the deadline (or staleness limit) for the round trip to the serving server, the wait and
   * the run there, and nothing else: a host subtracts the result's way from the access server to the client. Read
   * only with locality and the `arrivalSlack` or `serverSwap` option (to choose among servers the objective values
   * alike: items that reach an access server late from a saturated uplink fit only near it) or `slackReach` (the
   * reach test itself). Missing entries: the items arrive with their whole deadline.
   */
  readonly arrivalSlackMs?: Readonly<Record<ServiceId, Readonly<Record<ServerId, readonly number[]>>>>;
  /** Network delays between servers; used when `locality` is on. @default all 0 */
  readonly delaysMs?: NetworkDelays;
  /**
   * The time one item of a service spends on the links between an access server and a serving server, beyond
   * `delaysMs`: its request's bytes from `from` to `to` plus its result's bytes back, over the bandwidth between
   * them, ms (0 for a server to itself). With locality the reach test counts it next to the round trip
   * (a 30 kB upload over a 100 Mbit/s link is 2.4 ms of a 50 ms deadline). A number ≥ 0. @default none (0)
   */
  readonly transferMs?: (serviceId: ServiceId, from: ServerId, to: ServerId) => number;
  /** The placement running now. @default [] */
  readonly current?: readonly PlacedInstance[];
}

/** One step of the make-before-break change plan. */
export interface PlacementStep {
  /** `load` the model, mark it `ready`, `drain` (no new work, finish in-flight), `free` the memory. */
  readonly action: 'load' | 'ready' | 'drain' | 'free';
  readonly instanceId: string;
  readonly serviceId: ServiceId;
  readonly serverId: ServerId;
  readonly deviceIds: readonly DeviceId[];
  /** Why this step is here, e.g. `new instance`, `no longer needed`, `device failed`, `makes room for X`. */
  readonly reason: string;
  /**
   * True when this `drain`/`free` leaves the service with no ready instance: only when resources did not
   * allow overlap (or the instance failed).
   */
  readonly leavesServiceWithoutReady?: boolean;
}

/** Capacity against demand for one service in the next placement. */
export interface ServicePlacement {
  readonly serviceId: ServiceId;
  /** Items/s forecast (requests, stream items and backlog). */
  readonly demandPerSec: number;
  /** Items/s the placed instances serve (measured where known). */
  readonly capacityPerSec: number;
  /** Items/s of demand predicted to be served within SLO (`min(demand, capacity)`, or the max-flow share). */
  readonly servedPerSec: number;
  readonly instances: number;
}

/** Which approximation guarantee holds for the options and instance used. */
export interface PlacementGuarantee {
  /** The constraint structure the guarantee reasons about. */
  readonly structure: 'partition-matroid' | 'p-system' | 'multi-knapsack';
  /** Worst-case ratio to the optimum of the goodput objective, or `null` when no clean bound holds. */
  readonly ratio: number | null;
  /** Plain-language statement: what is proven, what is not. */
  readonly statement: string;
}

/** Counters about one run. */
export interface PlacementStats {
  /**
   * Candidate templates generated: service × plan × share × device class (× server with locality on; without
   * locality one template spans all servers with that class).
   */
  readonly candidates: number;
  /** Marginal-gain evaluations made by the greedy (lazy greedy makes far fewer than eager). */
  readonly evaluations: number;
  /** True when the best-single-item branch beat plain greedy. */
  readonly usedSafeguard: boolean;
  /** Items removed because they added nothing. */
  readonly pruned: number;
  /** With the `serverSwap` option: steps kept, trials made and steps scored by the swap rule. */
  readonly swaps?: { readonly accepted: number; readonly trials: number; readonly scored: number };
  /**
   * With the `shortage` option: which placement was kept (`'floors-by-load'`: the devices are short; `'as-given'`:
   * the options' own valuation). `evaluations` then counts every placement made.
   */
  readonly shortage?: 'floors-by-load' | 'as-given';
}

/** The result of {@link placeServices}. */
export interface PlacementResult {
  /** The next placement; kept instances keep their ids. */
  readonly instances: readonly PlacedInstance[];
  /** Predicted goodput, items/s (unweighted sum of `servedPerSec`). */
  readonly goodputPerSec: number;
  /**
   * Objective: value of the served goodput (item weights, plus the floor bonus on each service's first
   * `minServedShare` of demand) minus `switchWeight ×` goodput lost while new instances load.
   */
  readonly objective: number;
  /** The switching-cost part of the objective (already subtracted). */
  readonly switchCost: number;
  readonly services: readonly ServicePlacement[];
  /** Ordered make-before-break steps from the current to the next placement. */
  readonly changes: readonly PlacementStep[];
  readonly guarantee: PlacementGuarantee;
  readonly stats: PlacementStats;
}
