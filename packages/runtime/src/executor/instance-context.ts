import type { Clock, Logger, ParallelPlan } from '@epara/core';
import type { DeviceScheduler } from './device-scheduler.js';
import type { ExecutorEvents } from './executor-events.js';
import type { ExecutorServiceOptions } from './executor-options.js';
import type { StreamPackPricing } from './stream-pack-pricing.js';
import type { StreamPackForming } from '../streams/stream-pack-forming.js';

/** Emits one of the executor's typed events. */
export type Emit = <K extends keyof ExecutorEvents>(event: K, ...args: ExecutorEvents[K]) => void;

/** Counters of one instance. */
export interface InstanceCounters {
  submitted: number;
  completed: number;
  dropped: number;
  failed: number;
  batches: number;
  batchedItems: number;
}

/** What an instance needs from the executor. */
export interface ModelInstanceContext {
  readonly instanceId: string;
  readonly service: ExecutorServiceOptions;
  readonly plan: Partial<ParallelPlan>;
  readonly schedulers: readonly DeviceScheduler[];
  readonly clock: Clock;
  readonly logger: Logger;
  readonly guardMs: number;
  readonly launchWhenIdle: boolean;
  /** Pass over a costly head under overload (the executor's `skipShrinkingHead`). */
  readonly skipShrinkingHead: boolean;
  /** How long a partial batch may wait on an idle device. */
  readonly batchWait: 'expected-fill' | 'until-deadline';
  /** Scale the profile by the measured/predicted run time ratio (EWMA). */
  readonly adaptLatency: boolean;
  /** How a stream service's capacity prices a pack (the executor's `streamPackPricing`). */
  readonly streamPackPricing: StreamPackPricing;
  /** When a stream service's pack forms on a busy device (the executor's `streamPackForming`). */
  readonly streamPackForming: StreamPackForming;
  readonly profiling: { readonly warmup: number; readonly repetitions: number; readonly warmShapesMs: number };
  /** The executor's `maxResponseBytes`, for a service that sets none. @default no limit */
  readonly maxResponseBytes?: number;
  readonly emit: Emit;
  /** Whether an event has listeners: per-request events are built only then (shedding is the hot path). */
  readonly listening: (event: keyof ExecutorEvents) => boolean;
}
