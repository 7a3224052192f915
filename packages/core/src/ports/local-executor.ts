import type { TraceContext } from '../tracing/trace-context.js';
import type { EparaError } from '../errors/epara-error.js';
import type { DeviceId, ServiceId } from '../model/device.js';
import type { NamedTensors } from '../model/tensor.js';
import type { ParallelPlan } from '../allocation/plan.js';
import type { AbortSignalLike } from './abort-signal.js';
import type { InstanceInfo, ServiceItems } from '../view/server-entry.js';

/** Options of one local submission. */
export interface LocalSubmitOptions {
  /** Absolute deadline in the executor clock's ms. Omitted: the service SLO from now. */
  readonly deadline?: number;
  /** Higher runs first among equal deadlines. @default 0 */
  readonly priority?: number;
  readonly signal?: AbortSignalLike;
  /** The request's trace context (W3C `traceparent`, request id): the executor's spans become its children. */
  readonly trace?: TraceContext;
}

/** The executor's exact answer to "if I queued this request now, when would it finish?". */
export interface LocalEstimate {
  /** Expected completion time, executor clock ms. */
  readonly completionAt: number;
  /** Whether a ready instance exists at all. */
  readonly ready: boolean;
}

/** Options to open a stream (frequency task) on a local instance. */
export interface LocalStreamOptions {
  /** Items per second the stream will push. */
  readonly rateHz: number;
  /** Longest acceptable time from push to result, ms. Omitted: the service SLO. */
  readonly stalenessMs?: number;
  readonly signal?: AbortSignalLike;
}

/** One result of a stream, delivered in push order: outputs, or the typed reason the frame was dropped. */
export type StreamResult =
  | { readonly seq: number; readonly ok: true; readonly outputs: NamedTensors; readonly latencyMs: number }
  | { readonly seq: number; readonly ok: false; readonly error: EparaError };

/** Counters of a stream at close. */
export interface StreamSummary {
  readonly pushed: number;
  readonly completed: number;
  readonly dropped: number;
}

/**
 * A stream opened on an executor: push frames, iterate results in order. Iteration ends after `close()`
 * once every pushed frame has settled.
 */
export interface LocalStream extends AsyncIterable<StreamResult> {
  readonly id: string;
  /** Queues a frame; returns its sequence number. Throws `CLOSED` after close. */
  push(frame: NamedTensors): number;
  /** Stops accepting frames and resolves when every pushed frame has a result. */
  close(): Promise<StreamSummary>;
}

/**
 * The port between a node (mesh) and the executor that runs models on this server (runtime). Core declares
 * it so that neither package imports the other; the host passes an executor into the node.
 */
export interface LocalExecutor {
  /** Runs one item; resolves with its outputs or rejects with an `EparaError`. */
  submit(serviceId: ServiceId, inputs: NamedTensors, options?: LocalSubmitOptions): Promise<NamedTensors>;
  /** Exact local estimate for a new request of the service; `undefined` when not hosted here. */
  estimate(serviceId: ServiceId): LocalEstimate | undefined;
  /** Opens a stream; throws `OVERLOADED` when the instance has no spare rate for it. */
  openStream(serviceId: ServiceId, options: LocalStreamOptions): LocalStream;
  /**
   * Brings an instance of a plan up (make-before-break: resolves once it is ready). `deviceIds` are the devices
   * placement chose (`PlacedInstance.deviceIds`); an executor that cannot pin devices may ignore them.
   */
  load(plan: ParallelPlan, options?: { instanceId?: string; deviceIds?: readonly DeviceId[]; signal?: AbortSignalLike }): Promise<InstanceInfo>;
  /** Drains an instance (no new work, in-flight finishes) and frees it. */
  unload(instanceId: string, options?: { signal?: AbortSignalLike }): Promise<void>;
  /** What this executor hosts now, for the cluster view. */
  instances(): readonly InstanceInfo[];
  /**
   * The devices that gave up for good (the runtime's `deviceFailed`: a worker that crashed past its restarts):
   * placement must not put an instance on them, and the node's view entry offers none of their memory. Optional:
   * an executor without it reports no device failed.
   *
   * Cheap and stable, since the node reads it each time it publishes its own entry: it returns the same array
   * (by identity) until the set changes, and a new frozen array then — so a reader tells "nothing changed" by
   * identity alone. Ids are those the executor's devices were configured with; a device that works again (an
   * executor that can tell) leaves the list. Never throws.
   */
  failedDevices?(): readonly DeviceId[];
  /**
   * How a service's items may be split, as a ready instance here found (`undefined`: none ready, or not checked
   * yet), published in the node's view entry ({@link ServiceItems}) for front ends without an instance. Optional.
   */
  itemSeparability?(serviceId: ServiceId): 'separable' | 'not-separable' | undefined;
  /** The batch axis of each input and output of a service, as a ready instance here reads the model. Optional. */
  batchAxes?(serviceId: ServiceId): ServiceItems['batchAxes'];
}
