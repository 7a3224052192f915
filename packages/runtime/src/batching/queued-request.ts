import { EparaError, type AbortSignalLike, type EparaErrorCode, type NamedTensors, type TraceContext } from '@epara/core';
import type { ItemDone, StreamSlot, WorkItem } from './work-item.js';
import { settleLeases } from './input-lease.js';
import { markStage, STAGE_SETTLED } from '../observability/stage-marks.js';
import { rejectLater } from '../executor/reject-soon.js';

/** Where a queued request reports to: its queue (to leave it on abort) and the executor (its completion). */
export interface QueuedRequestHost {
  /** The service of every request the host queues (kept here, not in each request). */
  readonly serviceId: string;
  /** Removes the request from its queue (abort); false when it already left it. */
  withdraw(item: WorkItem): boolean;
  /** The one place a queued request completes (its `requestCompleted` event and spans). */
  completed(item: WorkItem, outcome: 'ok' | EparaErrorCode, done: ItemDone | undefined, trace: TraceContext | undefined): void;
}

/** What a request is queued with. */
export interface QueuedRequestInit {
  readonly seq: number;
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

/** The fields few requests have (a stream's slot, an abort signal, a trace): one object only for those. */
class RequestExtras {
  readonly slot: StreamSlot | undefined;
  readonly signal: AbortSignalLike | undefined;
  readonly trace: TraceContext | undefined;
  onAbort: (() => void) | undefined = undefined;

  constructor(init: QueuedRequestInit) {
    this.slot = init.slot;
    this.signal = init.signal;
    this.trace = init.trace;
  }
}

const FRAME = 1;
const LEASED = 2;
const SETTLED = 4;
/** Not yet returned by its submit: its caller has no handler on the promise yet (see {@link QueuedRequest.handedOver}). */
const UNCLAIMED = 8;

/**
 * The requests queued with one abort signal, behind one `'abort'` listener: a caller who cancels a group of
 * requests with one controller would otherwise put a listener per request on its signal, and past ten Node prints
 * `MaxListenersExceededWarning`. The listener goes when the last of them settles (or the signal aborts).
 */
class SignalGroup {
  readonly aborts = new Set<() => void>();
  readonly onAbort = (): void => {
    groups.delete(this.signal);
    for (const abort of [...this.aborts]) abort();
  };
  constructor(readonly signal: AbortSignalLike) {}
}
const groups = new WeakMap<AbortSignalLike, SignalGroup>();

function joinGroup(signal: AbortSignalLike, abort: () => void): void {
  let g = groups.get(signal);
  if (g === undefined) {
    g = new SignalGroup(signal);
    groups.set(signal, g);
    signal.addEventListener('abort', g.onAbort, { once: true });
  }
  g.aborts.add(abort);
}

function leaveGroup(signal: AbortSignalLike, abort: () => void): void {
  const g = groups.get(signal);
  if (g === undefined || !g.aborts.delete(abort) || g.aborts.size > 0) return;
  groups.delete(signal);
  signal.removeEventListener('abort', g.onAbort);
}

/**
 * One queued request or stream frame: the work item the schedulers see and the settlement of its caller's
 * promise, in one object per submit — its `settle` a method, its promise's resolvers kept as fields; only a
 * request with an abort signal pays for a listener. It holds what every request has (what the schedulers read,
 * its resolvers, three flags in one number); the service is its host's, and the fields few requests carry (a
 * stream's slot, a signal, a trace) are in an object of their own made only for those. It settles exactly once:
 * the first of a completion, a rejection and an abort wins.
 */
export class QueuedRequest implements WorkItem {
  readonly seq: number;
  readonly inputs: NamedTensors;
  readonly key: string;
  readonly costScale: number;
  readonly deadline: number;
  readonly priority: number;
  readonly enqueuedAt: number;
  /** Resolves with the request's outputs; rejects with its `EparaError`. */
  readonly promise: Promise<NamedTensors>;
  readonly #host: QueuedRequestHost;
  readonly #resolve: (outputs: NamedTensors) => void;
  readonly #reject: (err: EparaError) => void;
  readonly #extras: RequestExtras | undefined;
  #flags: number;

  constructor(init: QueuedRequestInit, host: QueuedRequestHost) {
    this.seq = init.seq;
    this.inputs = init.inputs;
    this.key = init.key;
    this.costScale = init.costScale;
    this.deadline = init.deadline;
    this.priority = init.priority;
    this.enqueuedAt = init.enqueuedAt;
    this.#host = host;
    this.#flags = (init.frame ? FRAME : 0) | (init.leased ? LEASED : 0) | UNCLAIMED;
    this.promise = new Promise<NamedTensors>(capture);
    this.#resolve = nextResolve!;
    this.#reject = nextReject!;
    nextResolve = nextReject = undefined;
    const signal = init.signal;
    const extras = signal !== undefined || init.slot !== undefined || init.trace !== undefined ? new RequestExtras(init) : undefined;
    this.#extras = extras;
    if (signal !== undefined) {
      extras!.onAbort = () => this.#aborted();
      joinGroup(signal, extras!.onAbort);
    }
  }

  get serviceId(): string {
    return this.#host.serviceId;
  }

  /** True for stream frames (a drop is `STALE_FRAME`, not `DEADLINE_EXCEEDED`). */
  get frame(): boolean {
    return (this.#flags & FRAME) !== 0;
  }

  /** Set for frames of a stateful stream. */
  get slot(): StreamSlot | undefined {
    return this.#extras?.slot;
  }

  settle(error: EparaError): void;
  settle(error: undefined, outputs: NamedTensors, done: ItemDone): void;
  settle(error: EparaError | undefined, outputs?: NamedTensors, done?: ItemDone): void {
    const extras = this.#extras;
    if (extras?.onAbort !== undefined) leaveGroup(extras.signal!, extras.onAbort);
    const flags = this.#flags;
    if ((flags & SETTLED) !== 0) return;
    this.#flags = flags | SETTLED;
    // Its batch is done with the inputs (outputs are copies or views of other memory): the leases go back.
    if ((flags & LEASED) !== 0) settleLeases(this.inputs);
    this.#host.completed(this, error === undefined ? 'ok' : error.code, done, extras?.trace);
    markStage(STAGE_SETTLED);
    if (error === undefined) this.#resolve(outputs!);
    // Dropped by the pump its own arrival ran, before submit returned the promise: rejected in a microtask, once
    // the caller has its handler on it (a promise born rejected costs Node's unhandled-rejection bookkeeping).
    else if ((flags & UNCLAIMED) !== 0) rejectLater(this.#reject, error);
    else this.#reject(error);
  }

  /** Its submit returns the promise to the caller now: a rejection from here on is delivered at once. */
  handedOver(): void {
    this.#flags &= ~UNCLAIMED;
  }

  #aborted(): void {
    const flags = this.#flags;
    if ((flags & SETTLED) !== 0) return;
    this.#flags = flags | SETTLED;
    this.#host.withdraw(this);
    // Queued: nothing reads the inputs any more. Running: the batch's slab holds what it reads (a lease slab is
    // lent whole, and is taken back only once every lease of it is released and the worker answered).
    if ((flags & LEASED) !== 0) settleLeases(this.inputs);
    this.#host.completed(this, 'ABORTED', undefined, this.#extras?.trace);
    this.#reject(new EparaError('ABORTED', 'the request was aborted', { serviceId: this.serviceId }));
  }
}
