import type { PlacementModel } from './model.js';
import { createFlowObjective } from './objective-flow.js';

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

/** The objective for the options: locality max-flow or the simple `min(demand, capacity)`. */
export function createObjective(model: PlacementModel, locality: boolean): Objective {
  return locality ? createFlowObjective(model) : createSimpleObjective(model);
}

/** `served(k) = min(demand_k, Σ capacity_k)`: any instance serves any demand of its service. */
export function createSimpleObjective(model: PlacementModel): Objective {
  const n = model.services.length;
  const demand = Float64Array.from(model.services, (s) => s.totalDemand);
  const cap = new Float64Array(n);
  const handles: Supply[] = [];
  const served = (k: number): number => Math.min(demand[k]!, cap[k]!);
  return {
    // min(capacity, unserved) rather than a difference of sums: exact, so equal items tie exactly.
    gain: (s) => Math.min(s.capacityPerSec, Math.max(0, demand[s.service]! - cap[s.service]!)),
    add(s) {
      cap[s.service] = cap[s.service]! + s.capacityPerSec;
      handles.push(s);
      return handles.length - 1;
    },
    removalLoss(h) {
      const s = handles[h]!;
      return served(s.service) - Math.min(demand[s.service]!, Math.max(0, cap[s.service]! - s.capacityPerSec));
    },
    remove(h) {
      const s = handles[h]!;
      cap[s.service] = Math.max(0, cap[s.service]! - s.capacityPerSec);
    },
    slack(h) {
      const s = handles[h]!;
      return Math.min(s.capacityPerSec, Math.max(0, cap[s.service]! - demand[s.service]!));
    },
    served,
    capacity: (k) => cap[k]!,
  };
}
