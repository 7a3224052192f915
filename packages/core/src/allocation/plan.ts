import type { DeviceKind, ServiceId } from '../model/device.js';
import type { Sensitivity } from '../model/service.js';

/** Request-level mechanism: how items are grouped into one inference. */
export type RequestStrategy = 'batching' | 'multi-frame';

/**
 * Service-level mechanism of one instance: one device (which placement may share with other services:
 * multi-task), replicas over several devices, or stages over several devices.
 */
export type ServiceStrategy = 'single' | 'data-parallel' | 'model-parallel';

/** Why a service needs more than one device. */
export type MultiDeviceReason = 'memory' | 'compute';

/** A service's category on the two axes of docs/concepts.md. */
export interface Category {
  readonly sensitivity: Sensitivity;
  readonly devices: 'single' | 'multi';
  /** Present when `devices` is `'multi'`. */
  readonly reason?: MultiDeviceReason;
}

/**
 * One way to run a service: a request-level × service-level strategy pair on a device kind, with what it
 * needs and what it delivers. The allocator ranks these; placement picks and places them; the runtime uses
 * `batchSize` (batching) or `packSize` (multi-frame).
 */
export interface ParallelPlan {
  readonly serviceId: ServiceId;
  readonly deviceKind: DeviceKind;
  readonly requestStrategy: RequestStrategy;
  readonly serviceStrategy: ServiceStrategy;
  /** Devices one instance of this plan occupies (replicas for data parallel, stages for model parallel). */
  readonly devices: number;
  /** Items per inference per device: the batch size (batching) or the pack size (multi-frame). */
  readonly batchSize: number;
  /** Items per second the whole instance serves within the SLO. */
  readonly capacityPerSec: number;
  /** Memory needed on each device the instance uses, bytes. */
  readonly memoryPerDeviceBytes: number;
  /** Worst-case latency of an item under this plan (wait plus run), ms. */
  readonly expectedLatencyMs: number;
  /** Run time of one batch/pack on one device (or one pass through the pipeline), ms. */
  readonly runMs: number;
  /** `min(demand, capacity) / devices`: the ranking key. */
  readonly goodputPerDevice: number;
  /** Fraction of each device's time this instance keeps busy at the given demand (0..1). */
  readonly utilization: number;
  /** Model parallelism: stage count (equals `devices`). */
  readonly stages?: number;
  /**
   * Batching on one device: the largest batch the plan's rule allows (deadline, memory, batch cap), present when
   * `batchSize` is smaller because it sustains more items/s alone. Placement offers it on shared devices, where a
   * larger batch takes fewer turns of the co-located services' runs.
   */
  readonly largestBatchSize?: number;
  /** Human-readable notes on how the plan was derived (which constraint bound the batch, …). */
  readonly notes: readonly string[];
}
