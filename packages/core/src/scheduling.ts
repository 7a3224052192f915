/**
 * `@epara/core/scheduling`: the request-level scheduler the runtime's executor and the simulator share — one EDF
 * queue per instance, the launch rule (run now, or wait while the batch still meets the head's deadline), batch
 * sizes for a deadline or a stream rate, a device timeline, the learned latency guard and the completion
 * estimate used for admission and routing, and the services and plans priced at the speed an executor measured
 * (`servicesAtMeasuredSpeed`, `plansAtProfileSpeed`: placement on the devices as they run). Pure, like the rest of
 * core; for hosts building their own executor or placing at measured speed.
 *
 * @example
 * ```ts
 * import { EdfQueue, edfCompare } from '@epara/core/scheduling';
 * const queue = new EdfQueue<{ deadline: number; priority: number; seq: number }>();
 * queue.push({ deadline: 50, priority: 0, seq: 1 });
 * edfCompare({ deadline: 10, priority: 0, seq: 2 }, { deadline: 50, priority: 0, seq: 1 }) < 0; // true
 * ```
 *
 * @packageDocumentation
 */
export { edfCompare } from './scheduling/work-item.js';
export type { SchedulableItem, StreamSlotLike } from './scheduling/work-item.js';
export { EdfQueue } from './scheduling/edf-queue.js';
export { planLaunch, planExpiry, itemExpiry, EXPIRY_SCAN, LaunchPlan, skipShrinkingHeadAt } from './scheduling/launch-rule.js';
export type { LaunchContext, LaunchDecision } from './scheduling/launch-rule.js';
export { batchSizeForDeadline, packSizeForRate, chooseBatchSize } from './scheduling/batch-size.js';
export type { BatchSizeOptions, BatchChoice } from './scheduling/batch-size.js';
export { streamCapacity } from './scheduling/stream-capacity.js';
export type { StreamCapacity, StreamCapacityOptions } from './scheduling/stream-capacity.js';
export { servicesAtMeasuredSpeed, plansAtProfileSpeed, plansAtMeasuredSpeed, validateCostRatios } from './allocation/measured-speed.js';
export type { CostRatios } from './allocation/measured-speed.js';
export { DeviceTimeline } from './scheduling/device-timeline.js';
export { LatencyGuard, DEFAULT_LATENCY_GUARD_OPTIONS, resolveLatencyGuardOptions } from './scheduling/latency-guard.js';
export type { LatencyGuardOptions } from './scheduling/latency-guard.js';
export { estimateCompletion, backlogMs } from './scheduling/completion-estimate.js';
export type { CompletionInput } from './scheduling/completion-estimate.js';
