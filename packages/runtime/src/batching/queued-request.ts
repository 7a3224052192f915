import { EparaError, type AbortSignalLike, type EparaErrorCode, type NamedTensors, type TraceContext } from '@epara/core';
import type { ItemDone, StreamSlot, WorkItem } from './work-item.js';
import { settleLeases } from './input-lease.js';

/** Where a queued request reports to: its queue (to leave it on abort) and the executor (its completion). */
export interface QueuedRequestHost {
  /** Removes the request from its queue (abort); false when it already left it. */
  withdraw(item: WorkItem): boolean;
  /** The one place a queued request completes (its `requestCompleted` event and spans). */
  completed(item: WorkItem, outcome: 'ok' | EparaErrorCode, done: ItemDone | undefined, trace: TraceContext | undefined): void;
}

/** What a request is queued with. */
export interface QueuedRequestInit {
  readonly seq: number;
  readonly serviceId: string;
  readonly inputs: NamedTensors;
  readonly key: string;
  readonly costScale: number;
  readonly deadline: number;
  readonly priority: number;
  readonly enqueuedAt: number;
  readonly frame: boolean;
  readonly slot: StreamSlot | undefined;
  readonly signal: AbortSignalLike | undefined;
  readonly trace: TraceContext | undefined;
  /** Some input is an `InputLease` the request claimed: released when it settles. */
  readonly leased: boolean;
}

// The promise's resolvers, handed over by one shared executor function (no closure per request).
let nextResolve: ((outputs: NamedTensors) => void) | undefined;
let nextReject: ((err: EparaError) => void) | undefined;
const capture = (resolve: (outputs: NamedTensors) => void, reject: (err: EparaError) => void): void => {
  nextResolve = resolve;
  nextReject = reject;
};

/**
 * One queued request or stream frame: the work item the schedulers see and the settlement of its caller's
 * promise, in one object per submit — its `settle` a method, its promise's resolvers kept as fields; only a
 * request with an abort signal pays for a listener. It settles exactly once: the first of a completion, a
 * rejection and an abort wins.
 */
export class QueuedRequest implements WorkItem {
  readonly seq: number;
  readonly serviceId: string;
  readonly inputs: NamedTensors;
  readonly key: string;
  readonly costScale: number;
  readonly deadline: number;
  readonly priority: number;
  readonly enqueuedAt: number;
  readonly frame: boolean;
  readonly slot: StreamSlot | undefined;
  /** Resolves with the request's outputs; rejects with its `EparaError`. */
  readonly promise: Promise<NamedTensors>;
  readonly #host: QueuedRequestHost;
  readonly #resolve: (outputs: NamedTensors) => void;
  readonly #reject: (err: EparaError) => void;
  readonly #trace: TraceContext | undefined;
  readonly #signal: AbortSignalLike | undefined;
  readonly #onAbort: (() => void) | undefined;
  readonly #leased: boolean;
  #settled = false;

  constructor(init: QueuedRequestInit, host: QueuedRequestHost) {
    this.seq = init.seq;
    this.serviceId = init.serviceId;
    this.inputs = init.inputs;
    this.key = init.key;
    this.costScale = init.costScale;
    this.deadline = init.deadline;
    this.priority = init.priority;
    this.enqueuedAt = init.enqueuedAt;
    this.frame = init.frame;
    this.slot = init.slot;
    this.#host = host;
    this.#trace = init.trace;
    this.#leased = init.leased;
    this.promise = new Promise<NamedTensors>(capture);
    this.#resolve = nextResolve!;
    this.#reject = nextReject!;
    nextResolve = nextReject = undefined;
    this.#signal = init.signal;
    if (init.signal) {
      this.#onAbort = () => this.#aborted();
      init.signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  settle(error: EparaError): void;
  settle(error: undefined, outputs: NamedTensors, done: ItemDone): void;
  settle(error: EparaError | undefined, outputs?: NamedTensors, done?: ItemDone): void {
    if (this.#onAbort) this.#signal!.removeEventListener('abort', this.#onAbort);
    if (this.#settled) return;
    this.#settled = true;
    // Its batch is done with the inputs (outputs are copies or views of other memory): the leases go back.
    if (this.#leased) settleLeases(this.inputs);
    this.#host.completed(this, error === undefined ? 'ok' : error.code, done, this.#trace);
    if (error === undefined) this.#resolve(outputs!);
    else this.#reject(error);
  }

  #aborted(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#host.withdraw(this);
    // Queued: nothing reads the inputs any more. Running: the batch's slab holds what it reads (a lease slab is
    // lent whole, and is taken back only once every lease of it is released and the worker answered).
    if (this.#leased) settleLeases(this.inputs);
    this.#host.completed(this, 'ABORTED', undefined, this.#trace);
    this.#reject(new EparaError('ABORTED', 'the request was aborted', { serviceId: this.serviceId }));
  }
}
