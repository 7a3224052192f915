/**
 * `@epara/sim/analysis`: where a run's offered items went. The loss breakdown puts every offered item of a
 * system in exactly one class — served in time, infeasible for any system (its access uplink could not carry
 * it in time, or it reached its access server too late for even the fastest server holding the model), or
 * feasible and lost (refused, no instance, expired in a queue, late, failed, unfinished) — so that a ratio
 * between systems can be read against what any system could have served.
 *
 * @example
 * ```ts
 * import { runLossBreakdown } from '@epara/sim/analysis';
 * for (const row of runLossBreakdown({ seed: 1, quick: true }, 'latency', [4])) console.log(row);
 * ```
 *
 * @packageDocumentation
 */
export { lossBreakdown, runLossBreakdown, LOSS_CLASSES } from './experiments/loss-breakdown.js';
export type { LossBreakdown, LossClass, LossRow, LossTally, RefusalTally } from './experiments/loss-breakdown.js';
/** The E1 comparison's pieces, to rerun one system at the sweep's points (`bench/sim-variants.ts`). */
export { edgeScenario, minServiceAttainment, runContender, UPPER_BOUND } from './experiments/common.js';
export type { RunCounter } from './experiments/common.js';
