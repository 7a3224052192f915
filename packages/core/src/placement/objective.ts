import type { PlacementModel } from './model.js';
import { createFlowObjective } from './objective-flow.js';
import type { Objective, Supply } from './objective-port.js';

export type { Objective, Supply } from './objective-port.js';

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
