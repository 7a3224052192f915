import { EparaError, type AbortSignalLike, type Clock, type EparaErrorCode, type InstanceInfo, type InstanceStatus, type NamedTensors, type TraceContext } from '@epara/core';
import type { ItemDone, StreamSlot, WorkItem } from '../batching/work-item.js';
import { QueuedRequest, type QueuedRequestHost, type QueuedRequestInit } from '../batching/queued-request.js';
import { DEFAULT_MAX_REQUEST_BYTES, inputCostScale } from '../batching/input-cost.js';
import type { BatchVerdict } from './batch-check.js';
import type { ExecutorInstance, InstanceStats, InstanceSubmitOptions, StreamTarget } from './executor-instance.js';
import type { ExecutorServiceOptions } from './executor-options.js';
import { plainArrays, validateItem, type IoSpec } from './io-spec.js';
import type { ModelInstance } from './model-instance.js';
import { shedError } from './shed-error.js';
import { rejectSoon } from './reject-soon.js';
import { isUnit } from './batch-outputs.js';
import type { BatchAxes } from '../tensors/stack.js';
import { claimLeases, settleLeases, type InputLease } from '../batching/input-lease.js';
import { InputLeases, type InputLeaseContext } from './input-leases.js';
import type { InputLeaseStats } from './lease-ring.js';

/** What a batched instance needs from its executor. */
export interface BatchedInstanceContext {
  readonly service: ExecutorServiceOptions;
  readonly clock: Clock;
  /** Queued items beyond which a submission is refused with `OVERLOADED`. */
  readonly maxQueue: number;
  /** The executor-wide arrival sequence (ties between equal deadlines). */
  readonly nextSeq: () => number;
  /** The one place a queued request completes (its `requestCompleted` event and spans). */
  readonly completed: (item: WorkItem, outcome: 'ok' | EparaErrorCode, done: ItemDone | undefined, trace: TraceContext | undefined) => void;
}

/** How an item is queued: a request's submit options, or a stream frame's (`slot` set for a stateful stream). */
interface EnqueueOptions {
  readonly deadline: number;
  readonly priority: number;
  readonly signal?: AbortSignalLike | undefined;
  readonly slot?: StreamSlot | undefined;
  readonly trace?: TraceContext | undefined;
  /** The clock's reading at submit, when the caller took one. */
  readonly now?: number | undefined;
}

/**
 * The fields of the request being queued, refilled per request and read at once by the record's constructor
 * (which calls nothing that could queue another request meanwhile): no init object per request.
 */
/** No tensors: what the scratch objects hold between requests. */
const EMPTY: NamedTensors = Object.freeze({});

const INIT: { -readonly [K in keyof QueuedRequestInit]: QueuedRequestInit[K] } = {
  seq: 0,
  inputs: {},
  key: '',
  costScale: 1,
  deadline: 0,
  priority: 0,
  enqueuedAt: 0,
  frame: false,
  slot: undefined,
  signal: undefined,
  trace: undefined,
  leased: false,
};

/**
 * Lease slabs one input of an instance may hold at once (per item shape), at least: a slab holds a batch of the
 * largest size, and under load about two are in the worker, one takes new leases and one holds leases moved out
 * of a batch's way. Small slabs may be more, up to {@link LEASE_BYTES_PER_INPUT}: each takes a usual batch's
 * leases, and a queue holds many.
 */
export const LEASE_SLABS_PER_INPUT = 8;
/** Bytes one input's lease slabs may take at once (as much as a device's four default input slabs). */
export const LEASE_BYTES_PER_INPUT = 32 * 1024 * 1024;

/**
 * The built-in instance: a model batched by the device schedulers ({@link ModelInstance}), behind the same
 * {@link ExecutorInstance} interface as the engines. It validates each item against the model's I/O, refuses at
 * admission what cannot make its deadline, queues the rest and takes multi-frame streams.
 */
export class BatchedInstance implements ExecutorInstance, StreamTarget {
  readonly model: ModelInstance;
  readonly #c: BatchedInstanceContext;
  /** What this instance's queued requests report to (one object, shared by all). */
  readonly #host: QueuedRequestHost;
  /** What the input cost is computed from (refilled per item). */
  readonly #cost: { serviceId: string; io: IoSpec; inputs: NamedTensors; sampleInputs: NamedTensors | undefined; maxRequestBytes: number };
  /** How a request and a stream frame are validated (one object each, not one per item). */
  readonly #requestCheck: { readonly serviceId: string; readonly withState: boolean };
  readonly #frameCheck: { readonly serviceId: string; readonly withState: boolean };
  readonly #leases = new InputLeases();
  /** Requests of several rows taken whole so far (each gets a key of its own). */
  #wholeRequests = 0;

  constructor(model: ModelInstance, c: BatchedInstanceContext) {
    this.model = model;
    this.#c = c;
    this.#cost = { serviceId: model.serviceId, io: undefined as unknown as IoSpec, inputs: EMPTY, sampleInputs: c.service.sampleInputs, maxRequestBytes: c.service.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES };
    this.#requestCheck = { serviceId: model.serviceId, withState: true };
    this.#frameCheck = { serviceId: model.serviceId, withState: false };
    this.#host = { serviceId: model.serviceId, withdraw: (item) => model.withdraw(item), completed: (item, outcome, done, trace) => c.completed(item, outcome, done, trace) };
  }

  get id(): string {
    return this.model.id;
  }

  get serviceId(): string {
    return this.model.serviceId;
  }

  get status(): InstanceStatus {
    return this.model.status;
  }

  set status(s: InstanceStatus) {
    this.model.status = s;
  }

  get streams(): StreamTarget {
    return this;
  }

  get generation(): undefined {
    return undefined;
  }

  get batching(): BatchVerdict {
    return this.model.batching;
  }

  get batchAxes(): { readonly inputs: BatchAxes; readonly outputs: BatchAxes } | undefined {
    if (this.status !== 'ready') return undefined;
    const io = this.model.io;
    return { inputs: io.inputAxes, outputs: io.outputAxes };
  }

  get capacityPerSec(): number {
    return this.model.capacityPerSec;
  }

  get streamRateHz(): number {
    return this.model.streamRateHz;
  }

  set streamRateHz(rateHz: number) {
    this.model.streamRateHz = rateHz;
  }

  get initialState(): NamedTensors {
    return this.model.initialState;
  }

  /**
   * A lease for input `name` of one item of `dims`, in a slab of this instance's (see {@link InputLeases}).
   * @throws EparaError `INVALID_INPUT` for an input or dims the model does not take.
   */
  allocateInput(name: string, dims: readonly number[]): InputLease {
    return this.#leases.allocate(this.#leaseContext, this.model.sizes, name, dims);
  }

  /** What a new lease ring is sized by (read only when one is made: not per lease). */
  readonly #leaseContext = (): InputLeaseContext => {
    const inst = this.model;
    let slabBytes = Number.POSITIVE_INFINITY;
    for (const d of inst.devices) slabBytes = Math.min(slabBytes, d.inputSlabs?.().slabBytes ?? 0);
    return {
      serviceId: inst.serviceId,
      io: inst.requestIo,
      maxBatchSize: inst.maxBatchSize,
      batchSize: inst.batchSize,
      knownOutputs: inst.knownOutputs,
      slabBytes,
      maxSlabs: LEASE_SLABS_PER_INPUT,
      maxBytes: LEASE_BYTES_PER_INPUT,
    };
  };

  /** What this instance's leases have done, per input. */
  leaseStats(): Record<string, InputLeaseStats> {
    return this.#leases.stats();
  }

  submit(inputs: NamedTensors, o: InstanceSubmitOptions): Promise<NamedTensors> {
    // The caller's options object as it is (read before anything can run another submit): none per request.
    return this.#enqueue(inputs, o, false);
  }

  submitFrame(frame: NamedTensors, deadline: number, signal: AbortSignalLike | undefined, slot: StreamSlot | undefined): Promise<NamedTensors> {
    return this.#enqueue(frame, { deadline, priority: 0, signal, slot }, true);
  }

  #enqueue(inputs: NamedTensors, o: EnqueueOptions, frame: boolean): Promise<NamedTensors> {
    const inst = this.model;
    // Read once, up front: refusing at admission emits an event whose listener may submit again.
    const { deadline, priority, signal, slot, trace } = o;
    const now = o.now ?? this.#c.clock.now();
    let key = validateItem(inst.requestIo, inputs, frame ? this.#frameCheck : this.#requestCheck);
    // A request of several rows taken whole runs alone: a key no other request has, so nothing stacks with it.
    if (inst.takesWholeRequests && !isUnit(inputs, inst.io.inputAxes)) key += `#whole-${++this.#wholeRequests}`;
    // A Node Buffer (a uint8 or bool input) is read through a plain view from here on.
    inputs = plainArrays(inputs);
    // From here on the request owns the leases among its inputs: released when it settles, or now if refused.
    const leased = claimLeases(inputs, inst.serviceId);
    let costScale: number;
    let refused: EparaError | undefined;
    try {
      costScale = this.#costScale(inputs, deadline, now);
      if (inst.queue.size >= this.#c.maxQueue) {
        throw shedError('OVERLOADED', `${inst.serviceId}: queue is full (${this.#c.maxQueue})`, { serviceId: inst.serviceId });
      }
      // Shed at once what cannot make its deadline behind the work already queued: no queueing, pumping or
      // later drop for it (under overload most requests end here, so this path stays cheap).
      if (!frame) refused = inst.admit(deadline, priority, costScale, now);
    } catch (err) {
      if (leased) settleLeases(inputs, true);
      throw err;
    }
    if (refused !== undefined) {
      // Returned, not thrown: each throw (here, and again out of the caller's `try`) had V8 walk the stack for
      // the exception's message and source position, several times the cost of the rest of a refusal.
      if (leased) settleLeases(inputs, true);
      return rejectSoon(refused);
    }
    // One object per request (work item and settlement); resolves with the outputs directly, no extra promise.
    const init = INIT;
    init.seq = this.#c.nextSeq();
    init.inputs = inputs;
    init.key = key;
    init.costScale = costScale;
    init.deadline = deadline;
    init.priority = priority;
    init.enqueuedAt = now;
    init.frame = frame;
    init.slot = slot;
    init.signal = signal;
    init.trace = trace;
    init.leased = leased;
    const item = new QueuedRequest(init, this.#host);
    init.inputs = EMPTY; // keep no caller's tensors alive through the scratch object
    init.signal = init.trace = init.slot = undefined;
    inst.enqueue(item, now);
    item.handedOver();
    return item.promise;
  }

  /**
   * The item's cost relative to the profiled input; refuses an input above the service's byte cap, and one
   * so much larger than the profiled input that even alone it would finish after its deadline.
   */
  #costScale(inputs: NamedTensors, deadline: number, now: number): number {
    const inst = this.model;
    const cost = this.#cost;
    const service = this.#c.service;
    cost.io = inst.io;
    cost.sampleInputs = service.sampleInputs;
    cost.maxRequestBytes = service.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    cost.inputs = inputs;
    let scale: number;
    try {
      scale = inputCostScale(cost);
    } finally {
      cost.inputs = EMPTY;
    }
    if (scale > 1) {
      const aloneMs = inst.dropLatencyMs(inst.devices[0]!.id, now) * scale;
      if (now + aloneMs > deadline) {
        throw new EparaError('DEADLINE_INFEASIBLE', `${inst.serviceId}: an input ${scale.toFixed(1)}× the profiled size needs about ${Math.round(aloneMs)} ms alone, past its deadline`, {
          serviceId: inst.serviceId,
          costScale: scale,
          expectedMs: aloneMs,
          deadline,
        });
      }
    }
    return scale;
  }

  estimate(now: number): number {
    return this.model.estimate(now);
  }

  info(now: number): InstanceInfo {
    return this.model.info(now);
  }

  stats(): InstanceStats {
    return { counters: this.model.counters, queued: this.model.queue.size };
  }

  drain(): Promise<void> {
    return this.model.drain();
  }

  release(options?: { waitMs?: number }): Promise<void> {
    return this.model.unloadModels(options);
  }

  async close(reason: EparaError): Promise<void> {
    for (const item of this.model.queue.drain()) item.settle(reason);
    await this.model.drain();
  }
}
