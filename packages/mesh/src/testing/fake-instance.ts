import { EparaError } from '@epara/core';
import type { Clock, InstanceInfo, InstanceStatus, NamedTensors, ServiceId } from '@epara/core';
import type { Timers } from '@epara/core';

/** One queued item of a {@link FakeInstance}. */
export interface FakeItem {
  readonly inputs: NamedTensors;
  readonly deadline: number;
  readonly resolve: (out: NamedTensors) => void;
  readonly reject: (err: EparaError) => void;
}

/** What a fake instance needs from its executor. */
export interface FakeInstanceContext {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly compute: (inputs: NamedTensors) => NamedTensors;
  readonly isFrozen: () => boolean;
  readonly onExecuted: (count: number) => void;
}

/**
 * One instance of a service inside the fake executor: an earliest-deadline-first queue served in batches of
 * up to `batchSize`, each batch taking exactly `serviceTimeMs` on the injected timers.
 */
export class FakeInstance {
  readonly instanceId: string;
  readonly serviceId: ServiceId;
  status: InstanceStatus;
  serviceTimeMs: number;
  readonly batchSize: number;
  readonly maxQueue: number;
  /**
   * The devices it was loaded on (none for an instance hosted from the start): what `failDevice` takes down. Not
   * reported in `info()` (a test that wants placement to see them wraps the fake, as the runtime reports them).
   */
  readonly deviceIds: readonly string[] | undefined;
  streamRateHz = 0;
  readonly #ctx: FakeInstanceContext;
  readonly #queue: FakeItem[] = [];
  readonly #arrivals: number[] = [];
  #runningUntil: number | undefined;
  #inFlight = 0;
  #drained: (() => void) | undefined;

  constructor(init: { instanceId: string; serviceId: ServiceId; status: InstanceStatus; serviceTimeMs: number; batchSize: number; maxQueue: number; deviceIds?: readonly string[] }, ctx: FakeInstanceContext) {
    this.deviceIds = init.deviceIds;
    this.instanceId = init.instanceId;
    this.serviceId = init.serviceId;
    this.status = init.status;
    this.serviceTimeMs = init.serviceTimeMs;
    this.batchSize = init.batchSize;
    this.maxQueue = init.maxQueue;
    this.#ctx = ctx;
  }

  get capacityPerSec(): number {
    return (this.batchSize * 1000) / this.serviceTimeMs;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Completion time a new item would see if queued now. */
  completionAt(): number {
    const now = this.#ctx.clock.now();
    const running = this.#runningUntil !== undefined ? Math.max(0, this.#runningUntil - now) : 0;
    return now + running + Math.ceil((this.#queue.length + 1) / this.batchSize) * this.serviceTimeMs;
  }

  enqueue(item: FakeItem): void {
    if (this.#queue.length >= this.maxQueue) {
      item.reject(new EparaError('OVERLOADED', `instance ${this.instanceId} queue is full`, { instanceId: this.instanceId }));
      return;
    }
    this.#arrivals.push(this.#ctx.clock.now());
    let i = this.#queue.length;
    while (i > 0 && this.#queue[i - 1]!.deadline > item.deadline) i--;
    this.#queue.splice(i, 0, item);
    this.#pump();
  }

  /** Removes a queued item (abort before it runs); returns whether it was still queued. */
  remove(item: FakeItem): boolean {
    const i = this.#queue.indexOf(item);
    if (i < 0) return false;
    this.#queue.splice(i, 1);
    this.#settleIfDrained();
    return true;
  }

  /** Resolves once nothing is queued or running. */
  drain(): Promise<void> {
    if (this.#queue.length === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drained = resolve;
    });
  }

  info(): InstanceInfo {
    const now = this.#ctx.clock.now();
    while (this.#arrivals.length > 0 && this.#arrivals[0]! < now - 1000) this.#arrivals.shift();
    return {
      instanceId: this.instanceId,
      serviceId: this.serviceId,
      status: this.status,
      requestStrategy: 'batching',
      serviceStrategy: 'single',
      batchSize: this.batchSize,
      capacityPerSec: this.capacityPerSec,
      loadPerSec: this.#arrivals.length + this.streamRateHz,
      waitMs: Math.max(0, this.completionAt() - now - this.serviceTimeMs),
      runMs: this.serviceTimeMs,
    };
  }

  #pump(): void {
    if (this.#runningUntil !== undefined || this.#queue.length === 0) return;
    const now = this.#ctx.clock.now();
    const batch: FakeItem[] = [];
    while (batch.length < this.batchSize && this.#queue.length > 0) {
      const item = this.#queue.shift()!;
      // Drop-before-run: an item that cannot finish by its deadline must not waste the device.
      if (now + this.serviceTimeMs > item.deadline) {
        item.reject(new EparaError('DEADLINE_EXCEEDED', 'deadline passed while queued', { instanceId: this.instanceId }));
      } else batch.push(item);
    }
    if (batch.length === 0) return this.#settleIfDrained();
    this.#runningUntil = now + this.serviceTimeMs;
    this.#inFlight = batch.length;
    this.#ctx.timers.setTimeout(() => this.#finish(batch), this.serviceTimeMs);
  }

  #finish(batch: readonly FakeItem[]): void {
    if (this.#ctx.isFrozen()) return; // a crashed machine never answers
    this.#runningUntil = undefined;
    this.#inFlight = 0;
    this.#ctx.onExecuted(batch.length);
    for (const item of batch) item.resolve(this.#ctx.compute(item.inputs));
    this.#pump();
    this.#settleIfDrained();
  }

  #settleIfDrained(): void {
    if (this.#drained && this.#queue.length === 0 && this.#inFlight === 0) {
      const d = this.#drained;
      this.#drained = undefined;
      d();
    }
  }
}
