/**
 * `@epara/core/testing`: virtual time for tests (`createManualTimers`, driven by core's `createManualClock`)
 * and exact references for placement, for tests and benchmarks that compare `placeServices` against an optimum —
 * brute force on small instances, a mixed-integer program (solved by a HiGHS instance the caller passes in) on
 * mid-size ones, seeded instance generators and a static, Triton-like baseline. Written from the placement rules,
 * not from the production helpers. No stability promise.
 *
 * @example
 * ```ts
 * import { bruteForceOptimum, smallRandomInstance } from '@epara/core/testing';
 * const input = smallRandomInstance(1, { servers: 2, devicesPerServer: 1, services: 3 }, {}, 8);
 * bruteForceOptimum(input).value; // the best goodput any placement reaches
 * ```
 *
 * @packageDocumentation
 */
export { createManualTimers } from './ports/timers.js';
export type { ManualTimers } from './ports/timers.js';
export { bruteForceOptimum, smallRandomInstance, MAX_BRUTE_FORCE_ITEMS } from './placement/testing/brute-force.js';
export { tritonLikeGoodput } from './placement/testing/static-baseline.js';
export type { StaticBaselineOptions, StaticBaselineResult } from './placement/testing/static-baseline.js';
export { midPlacementInstance, MID_SHAPE } from './placement/testing/mid-instance.js';
export type { MidInstanceShape } from './placement/testing/mid-instance.js';
export { solvePlacementMilp } from './placement/testing/milp-reference.js';
export type { HighsSolver, MilpOutcome, MilpValue } from './placement/testing/milp-reference.js';
export type { RandomInstanceShape } from './placement/testing/random-instance.js';
