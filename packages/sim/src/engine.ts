/**
 * `@epara/sim/engine`: the simulator's discrete-event machinery, for building a custom system or workload
 * generator — the event queue (time, then insertion order), the event loop over a manual clock, and the
 * inter-arrival samplers (Poisson, Gamma with a coefficient of variation) the built-in workloads draw from; and how
 * a run is executed — `shardPlanOf` (whether a run is simulated zone by zone, and its zones) and E6's scale point
 * (`runScalePoint`, `runScalePointInParallel`: the simulator's speed on 1000 servers).
 *
 * @example
 * ```ts
 * import { createEventQueue } from '@epara/sim/engine';
 * const queue = createEventQueue();
 * queue.push(5, 2, 0);
 * queue.push(1, 1, 0);
 * queue.pop(); // true: queue.time === 1, queue.kind === 1
 * ```
 *
 * @packageDocumentation
 */
export { createEventQueue } from './engine/event-queue.js';
export type { EventQueue } from './engine/event-queue.js';
export { runEvents } from './engine/run-events.js';
export type { EventHandler, RunEventsOptions } from './engine/run-events.js';
export { sampleInterArrival, sampleGamma, sampleExponential } from './workload/samplers.js';
// The edge world's arrival processes and moving hot spots, for hosts that replay it outside the simulator (the demo).
export { nextArrivalMs, generateSessions } from './workload/workload.js';
export type { RequestSource, ZoneShare, StreamSession } from './workload/workload.js';
export { zipfOriginTable } from './workload/compile-workload.js';
export { pickOrigin } from './world/world-init.js';
export type { OriginTable } from './world/world-init.js';
export { shardPlanOf } from './shard/shard-plan.js';
export { runScalePoint, runScalePointInParallel } from './experiments/e6-scale.js';
export type { ShardPlan } from './shard/shard-plan.js';
export type { ScalePoint } from './experiments/e6-scale.js';
