import * as highsModule from 'highs';
import { beforeAll, describe, expect, it } from 'vitest';
import { findPlacementViolations } from './find-violations.js';
import { DEFAULT_PLACEMENT_OPTIONS, type PlacementOptions } from './options.js';
import { placeServices } from './place-services.js';
import { midPlacementInstance } from './testing/mid-instance.js';
import { solvePlacementMilp, type HighsSolver } from './testing/milp-reference.js';

// highs is CommonJS and its types declare `export default`: Node gives an ES module its module.exports (the loader
// itself) as the namespace's `default`, which the types call the module (whose `default` is the loader).
const loadHighs = highsModule.default as unknown as typeof highsModule.default.default;

/**
 * Exact reference on mid-size instances (beyond brute force): a fixed seeded set that HiGHS solves to proven
 * optimality in a few seconds. The MILP is written from the documented rules, not from the production helpers.
 */
const SEEDS = [2, 3, 5, 8, 15];

let highs: HighsSolver;
beforeAll(async () => {
  highs = (await loadHighs()) as unknown as HighsSolver;
});

const value = (o: PlacementOptions) => ({ ...DEFAULT_PLACEMENT_OPTIONS, ...o });

describe.each<[string, PlacementOptions]>([
  ['default options', {}],
  ['floors not capped at a fair share', { floorFairShare: false }],
  ['per-item value, no floor, no interference', { valueWeighting: 'per-item', minServedShare: 0, colocationSlowdown: 0 }],
])('placeServices against the exact MILP (%s)', (_label, options) => {
  it.each(SEEDS)('seed %i: both are feasible and greedy reaches ≥ 0.95 of the proven optimum', (seed) => {
    const input = midPlacementInstance(seed);
    const m = solvePlacementMilp(highs, input, value(options), { timeLimitSec: 60 });
    expect(m.status).toBe('Optimal');
    // The MILP's placement satisfies every constraint as the independent checker sees them.
    expect(findPlacementViolations(input, m.instances, options)).toEqual([]);
    expect(findPlacementViolations(input, m.grownInstances, options)).toEqual([]);
    expect(m.grownValue).toBeGreaterThanOrEqual(m.value - 1e-6 * m.value);
    const r = placeServices(input, { ...options, switchWeight: 0 });
    expect(findPlacementViolations(input, r.instances, options)).toEqual([]);
    expect(r.objective).toBeGreaterThanOrEqual(0.95 * m.grownValue);
  }, 120_000);
});
