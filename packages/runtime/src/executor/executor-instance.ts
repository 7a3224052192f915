import type { AbortSignalLike, EparaError, InstanceInfo, InstanceStatus, NamedTensors, TraceContext } from '@epara/core';
import type { StreamSlot } from '../batching/work-item.js';
import type { BatchAxes } from '../tensors/stack.js';
import type { InputLease } from '../batching/input-lease.js';
import type { InputLeaseStats } from './lease-ring.js';
import type { GenerationEngine } from '../generation/generation-engine.js';
import type { BatchVerdict } from './batch-check.js';
import type { InstanceCounters } from './model-instance.js';
import type { EngineSubmitOptions } from './service-engine.js';

/**
 * Options of one submission to an instance, already validated and resolved by the executor. The executor passes
 * the same object for every request, refilled: an instance reads its fields at once and keeps no reference.
 */
export interface InstanceSubmitOptions extends EngineSubmitOptions {
  /** The caller's trace context, for the request's spans. */
  readonly trace?: TraceContext | undefined;
  /** The executor clock's reading at `submit`, ms: the request's arrival (one clock read per request). */
  readonly now?: number;
}

/** A snapshot of an instance's counters and backlog. */
export interface InstanceStats {
  readonly counters: Readonly<InstanceCounters>;
  /** Items waiting in the instance's queue. */
  readonly queued: number;
}

/**
 * What an instance offers multi-frame streams: capacity to charge a stream's rate to, the recurrent state a
 * new stateful stream starts from, and a frame path (a frame's deadline is its staleness bound).
 */
export interface StreamTarget {
  /** Items/s the instance serves within its SLO. */
  readonly capacityPerSec: number;
  /** Sum of the rates of the streams charged here, items/s. */
  streamRateHz: number;
  /** The initial recurrent state of a new stream (stateful services). */
  readonly initialState: NamedTensors;
  /** Queues one frame; rejects with `STALE_FRAME` when it cannot run before `deadline`. */
  submitFrame(frame: NamedTensors, deadline: number, signal: AbortSignalLike | undefined, slot: StreamSlot | undefined): Promise<NamedTensors>;
}

/**
 * One loaded instance of a service, as the executor sees it: the built-in batched model
 * (`BatchedInstance`), a model-parallel pipeline or a generation service (`EngineInstance` over a
 * {@link ServiceEngine}). The executor picks an instance, validates and resolves a request, and hands it
 * over; it never branches on the instance's kind.
 */
export interface ExecutorInstance {
  readonly id: string;
  readonly serviceId: string;
  /** `loading` until ready; the executor sets `draining` when it unloads the instance. */
  status: InstanceStatus;
  /** Runs one request; every call settles (outputs or an `EparaError`). */
  submit(inputs: NamedTensors, options: InstanceSubmitOptions): Promise<NamedTensors>;
  /** Set when the instance takes multi-frame streams. */
  readonly streams: StreamTarget | undefined;
  /** Set for a generation service: the engine that streams tokens. */
  readonly generation: GenerationEngine | undefined;
  /** Whether its requests may share a run, and why (set by an instance that stacks requests itself). */
  readonly batching?: BatchVerdict;
  /** The batch axis of each input and output as the instance reads its model (`null`: shared by the batch); set once loaded. */
  readonly batchAxes?: { readonly inputs: BatchAxes; readonly outputs: BatchAxes } | undefined;
  /** Expected completion time (executor clock ms) of a request submitted at `now`. */
  estimate(now: number): number;
  info(now: number): InstanceInfo;
  /** Set by an instance that lends input memory (`executor.allocateInput`); see `BatchedInstance`. */
  allocateInput?(inputName: string, dims: readonly number[]): InputLease;
  /** What its input leases have done, per input (with `allocateInput`). */
  leaseStats?(): Record<string, InputLeaseStats>;
  /** Counters and backlog; `undefined` for an instance that keeps none. */
  stats(): InstanceStats | undefined;
  /** Takes no new work; resolves when queued and running work has finished (unload). */
  drain(): Promise<void>;
  /**
   * Frees the instance's models on its devices (after `drain`); `waitMs` bounds the wait for a device's answer
   * (see `DeviceHandle.unloadModel`).
   */
  release(options?: { waitMs?: number }): Promise<void>;
  /** Executor shutdown: rejects queued work with `reason`, lets running work finish. */
  close(reason: EparaError): Promise<void>;
}
