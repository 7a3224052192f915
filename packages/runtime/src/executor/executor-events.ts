import type { EparaErrorCode, InstanceInfo, TraceContext } from '@epara/core';
import type { DeviceFailedEvent, DeviceFellBackEvent, WorkerCrashedEvent, WorkerRestartedEvent } from '../devices/device-port.js';

/** A batch (or pack) left for a device. */
export interface BatchDispatchedEvent {
  readonly instanceId: string;
  readonly serviceId: string;
  readonly deviceId: string;
  readonly size: number;
  /** Predicted run time, ms. */
  readonly expectedMs: number;
  /** Clock ms. */
  readonly at: number;
  /**
   * When the batch is expected to start on the device (after the batches it holds), clock ms: it is expected
   * to end at `plannedStart + expectedMs`.
   */
  readonly plannedStart: number;
}

/** A batch finished (successfully or not). */
export interface BatchCompletedEvent {
  readonly instanceId: string;
  readonly serviceId: string;
  readonly deviceId: string;
  readonly size: number;
  /** Time from dispatch to outputs on the host, ms. */
  readonly durationMs: number;
  /** Time inside the backend, ms (0 when it failed). */
  readonly runMs: number;
  readonly ok: boolean;
  readonly error?: EparaErrorCode;
}

/**
 * A request or frame was rejected without running (deadline, staleness), or refused at admission (`OVERLOADED`:
 * the work queued ahead of it left no time; `DEADLINE_EXCEEDED` with `atAdmission`: it could not finish even
 * if it ran first).
 */
export interface RequestDroppedEvent {
  readonly serviceId: string;
  readonly instanceId: string;
  readonly code: 'DEADLINE_EXCEEDED' | 'STALE_FRAME' | 'OVERLOADED';
  /** True when it was refused at submit instead of dropped from the queue. */
  readonly atAdmission?: boolean;
  readonly deadline: number;
  readonly at: number;
  readonly streamId?: string;
}

/**
 * One request of a model service settled (outputs, a failure, a drop or an abort): emitted once per `submit`
 * that reached a queue, with its timings on the executor clock. Feeds the queue- and request-duration
 * histograms; only built when something listens.
 */
export interface RequestCompletedEvent {
  readonly serviceId: string;
  /** `ok`, or the error code the request failed with. */
  readonly outcome: 'ok' | EparaErrorCode;
  /** When it was queued, clock ms. */
  readonly enqueuedAt: number;
  /** When its batch left for a device, clock ms; absent when it never ran (drop, abort) or its batch failed. */
  readonly startedAt?: number;
  /** When it settled, clock ms. */
  readonly finishedAt: number;
  /** Items in its batch, when it ran. */
  readonly batchSize?: number;
  /** The device that ran it, when it ran. */
  readonly deviceId?: string;
  /** The trace context it was submitted with (`LocalSubmitOptions.trace`). */
  readonly trace?: TraceContext;
}

/** Instance lifecycle change (make-before-break). */
export interface InstanceChangedEvent {
  readonly instance: InstanceInfo;
  /**
   * `unloaded` when it is gone; `failed` when a device under it gave up restarting its worker (`deviceFailed`):
   * the instance is then unloaded (`draining`, `unloaded` follow).
   */
  readonly status: InstanceInfo['status'] | 'unloaded' | 'failed';
}

/** Typed events of an executor (eventemitter3 object map). */
export interface ExecutorEvents {
  batchDispatched: [BatchDispatchedEvent];
  batchCompleted: [BatchCompletedEvent];
  requestDropped: [RequestDroppedEvent];
  requestCompleted: [RequestCompletedEvent];
  instanceChanged: [InstanceChangedEvent];
  deviceFellBack: [DeviceFellBackEvent];
  workerCrashed: [WorkerCrashedEvent];
  workerRestarted: [WorkerRestartedEvent];
  deviceFailed: [DeviceFailedEvent];
}
