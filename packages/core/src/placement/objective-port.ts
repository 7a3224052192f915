/* The placement objective's port: what greedy and the repair passes see of it (implementations beside it). */
/** A placed unit of capacity as the objective sees it. */
export interface Supply {
  readonly service: number;
  readonly server: number;
  /** Worst-case latency of an item on it, ms (decides locality reach). */
  readonly latencyMs: number;
  /** Items/s. */
  readonly capacityPerSec: number;
}

/**
 * Predicted goodput of a growing placement, unweighted per service: `served(k)` is
 * `min(demand_k, Σ capacity)` or, with locality, the max-flow from access demand to reachable instances.
 * Both are monotone submodular in the set of placed supplies.
 */
export interface Objective {
  /** Increase of `served(k)` if `supply` were added (nothing changes). */
  gain(supply: Supply): number;
  /** Adds a supply; returns a handle for {@link Objective.remove}. */
  add(supply: Supply): number;
  /** Decrease of `served(k)` if the supply behind `handle` were removed (nothing changes). */
  removalLoss(handle: number): number;
  remove(handle: number): void;
  /** Capacity of the supply behind `handle` that the current assignment leaves unused (it could be trimmed). */
  slack(handle: number): number;
  served(service: number): number;
  capacity(service: number): number;
}
