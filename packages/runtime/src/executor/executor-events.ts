import type { EparaErrorCode, InstanceInfo } from '@epara/core';
import type { DeviceFellBackEvent, WorkerCrashedEvent, WorkerRestartedEvent } from '../devices/device-port.js';

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

/** Instance lifecycle change (make-before-break). */
export interface InstanceChangedEvent {
  readonly instance: InstanceInfo;
  /** `unloaded` when it is gone. */
  readonly status: InstanceInfo['status'] | 'unloaded';
}

/** Typed events of an executor (eventemitter3 object map). */
export interface ExecutorEvents {
  batchDispatched: [BatchDispatchedEvent];
  batchCompleted: [BatchCompletedEvent];
  requestDropped: [RequestDroppedEvent];
  instanceChanged: [InstanceChangedEvent];
  deviceFellBack: [DeviceFellBackEvent];
  workerCrashed: [WorkerCrashedEvent];
  workerRestarted: [WorkerRestartedEvent];
}
