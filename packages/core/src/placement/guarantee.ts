import type { Template } from './candidates.js';
import type { PlacementRunOptions } from './options.js';
import type { PlacementGuarantee } from './types.js';

/** What the guarantee depends on besides the options. */
export interface GuaranteeFacts {
  readonly templates: readonly Template[];
  /** True when some kept instance or a positive switching cost shapes the result. */
  readonly stateful: boolean;
}

const VALUE =
  'The goodput value Σ_k w_k (served_k + bonus × min(served_k, floor_k)) is monotone submodular (served_k is a ' +
  'concave function of a modular one, or a max-flow value; truncating a monotone submodular function at a floor ' +
  'keeps it so, and sums of such functions are such functions). Interference lengthens shared runs in the duty cycle ' +
  'only, and the price of co-locating a latency service (residual blocking: the longest co-located run plus its own, ' +
  'stretched by the co-located load, within its budget) is a per-device constraint that removing an item never ' +
  'violates: both change the constraints, not the objective.';

const NOT_MONOTONE =
  'With a warm start or a switching cost the greedy maximizes goodput minus a modular penalty over the items it may ' +
  'add to the kept ones; that function is not monotone, so the bound is stated for the stateless problem (no current ' +
  'placement, switchWeight 0) and holds here only relative to the best placement that keeps the same instances.';

/**
 * Which approximation guarantee holds for the options used (see docs/placement.md):
 * - multi-task off and only single-device plans: each device holds at most one item, a partition matroid, and
 *   every item costs 1, so greedy is ≥ 1/2 of the optimum;
 * - multi-task off with exclusive groups of up to p devices and `costModel: 'unit'`: a p-system, ≥ 1/(p+1);
 * - otherwise (per-device memory knapsacks and duty cycles, or cost-benefit ratios over groups): no clean
 *   worst-case bound; the knapsack safeguard guarantees at least the best single item. `(1 − 1/e)/2` is the
 *   bound for ONE knapsack and does not carry over to many.
 */
export function placementGuarantee(options: PlacementRunOptions, facts: GuaranteeFacts): PlacementGuarantee {
  const p = facts.templates.reduce((m, t) => Math.max(m, t.plan.devices), 1);
  const suffix = ` ${VALUE}${facts.stateful ? ` ${NOT_MONOTONE}` : ''}`;
  if (!options.multiTask && p === 1) {
    return {
      structure: 'partition-matroid',
      ratio: 0.5,
      statement: `Each device holds at most one instance (a partition matroid) and every item costs one device, so greedy on marginal goodput is at least 1/2 of the optimum.${suffix}`,
    };
  }
  if (!options.multiTask && options.costModel === 'unit') {
    return {
      structure: 'p-system',
      ratio: 1 / (p + 1),
      statement: `Exclusive groups of up to ${p} devices form a ${p}-system; greedy on marginal goodput is at least 1/${p + 1} of the optimum.${suffix}`,
    };
  }
  return {
    structure: 'multi-knapsack',
    ratio: null,
    statement:
      'Per-device memory knapsacks with multi-task duty cycles (or cost-benefit ratios over multi-device groups): no clean ' +
      'worst-case bound holds for greedy here. The best-single-item safeguard guarantees at least the best single ' +
      'instance; (1 − 1/e)/2 is proven only for a single knapsack. Observed ratios to brute force are in docs/placement.md.' +
      suffix,
  };
}
