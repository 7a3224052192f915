import type { EparaError, NamedTensors } from '@epara/core';
import type { KnownOutput, SlabOutput } from './slab-outputs.js';
import type { BatchAxes } from '../tensors/stack.js';
import type { RunBatchOptions } from './device-port.js';
import { FreeList } from '../executor/free-list.js';

/**
 * Who hears a call's outcome instead of a promise: the batch path's run records ({@link PendingCalls.open} with a
 * listener makes no promise, and the answer reaches the record in the message handler, with no reaction job).
 */
export interface CallListener {
  onRun(value: unknown): void;
  onFail(err: EparaError): void;
}

/**
 * One call a device sent its worker and awaits the answer of. The records are reused (a device keeps the
 * finished ones for its next calls), so that a call costs no record, closure or map entry of its own; only a
 * call with an abort signal adds a listener.
 */
export class PendingCall {
  id = 0;
  resolve: ((value: unknown) => void) | undefined = undefined;
  reject: ((err: EparaError) => void) | undefined = undefined;
  /** A run whose success proves the worker healthy (its answer resets the device's crash count). */
  isRun = false;
  /** With outputs written into the lent slab: where they are, their per-item shapes and the batch's size. */
  slabOutputs: readonly SlabOutput[] | undefined = undefined;
  known: readonly KnownOutput[] | undefined = undefined;
  count = 0;
  /** A batch sent by message whose layout the worker is asked to keep under this id (0: none). */
  ringPlan = 0;
  /** A rung call: the last call sent by message before it (0: none), whose answer the worker gives first. */
  after = 0;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  /** Hears the outcome instead of a promise (then `resolve` and `reject` are unset). */
  listener: CallListener | undefined = undefined;
  /**
   * A batch's requests, as the device was given them (the callers' own tensors): what runs it again on a new
   * worker when the one it was sent to is terminated before starting it. Unset for calls that cannot run again.
   */
  items: readonly NamedTensors[] | undefined = undefined;
  axes: BatchAxes | undefined = undefined;
  runOptions: RunBatchOptions | undefined = undefined;
  key = '';

  /** Settles the caller's promise (or tells its listener), and forgets everything the call held. */
  settle(err: EparaError | undefined, value: unknown): void {
    const { resolve, reject, listener } = this;
    this.forget();
    if (listener !== undefined) {
      if (err === undefined) listener.onRun(value);
      else listener.onFail(err);
    } else if (err === undefined) resolve!(value);
    else reject!(err);
  }

  /** Forgets everything the call held, its caller included (settled, or handed on to another call). */
  forget(): void {
    if (this.signal !== undefined) this.signal.removeEventListener('abort', this.onAbort!);
    this.resolve = this.reject = this.onAbort = this.signal = this.listener = undefined;
    this.slabOutputs = this.known = undefined;
    this.items = this.axes = this.runOptions = undefined;
  }
}

// The promise's resolvers, handed over by one shared executor function (no closure per call).
let nextResolve: ((value: unknown) => void) | undefined;
let nextReject: ((err: EparaError) => void) | undefined;
const capture = (resolve: (value: unknown) => void, reject: (err: EparaError) => void): void => {
  nextResolve = resolve;
  nextReject = reject;
};

/**
 * A device's calls in flight, by id: a fixed table indexed by the id's low bits (ids are sequential and
 * answered roughly in order, so they rarely collide), and a map for the rare call whose slot is taken (by a
 * call still in flight {@link SLOTS} ids earlier, such as a long load). A `Map` with one entry added and
 * deleted per call reallocated its backing store as it grew and shrank; the table never does, and the
 * records are reused.
 */
export class PendingCalls {
  readonly #slots: (PendingCall | undefined)[] = new Array<PendingCall | undefined>(SLOTS).fill(undefined);
  readonly #overflow = new Map<number, PendingCall>();
  #size = 0;
  readonly #free = new FreeList<PendingCall>(MAX_FREE);

  /** Calls in flight. */
  get size(): number {
    return this.#size;
  }

  /**
   * Registers call `id`; returns its record (to fill) and the promise its answer settles — none with a
   * `listener`, which hears the answer instead.
   */
  open(id: number): { call: PendingCall; promise: Promise<unknown> };
  open(id: number, listener: CallListener | undefined): { call: PendingCall; promise: Promise<unknown> | undefined };
  open(id: number, listener?: CallListener): { call: PendingCall; promise: Promise<unknown> | undefined } {
    const call = this.#free.take() ?? new PendingCall();
    call.id = id;
    let promise: Promise<unknown> | undefined;
    if (listener === undefined) {
      promise = new Promise<unknown>(capture);
      call.resolve = nextResolve;
      call.reject = nextReject;
      nextResolve = nextReject = undefined;
    } else call.listener = listener;
    call.isRun = false;
    call.count = 0;
    call.ringPlan = 0;
    call.after = 0;
    const i = id & MASK;
    if (this.#slots[i] === undefined) this.#slots[i] = call;
    else this.#overflow.set(id, call);
    this.#size++;
    OPENED.call = call;
    OPENED.promise = promise;
    return OPENED;
  }

  /** Whether call `id` is in flight. */
  has(id: number): boolean {
    const call = this.#slots[id & MASK];
    return (call !== undefined && call.id === id) || (this.#overflow.size > 0 && this.#overflow.has(id));
  }

  /** Call `id`'s record, left in flight (undefined when it is not). */
  peek(id: number): PendingCall | undefined {
    const call = this.#slots[id & MASK];
    if (call !== undefined && call.id === id) return call;
    return this.#overflow.size > 0 ? this.#overflow.get(id) : undefined;
  }

  /** Removes and returns call `id` (undefined when it is not in flight: aborted, or never sent). */
  take(id: number): PendingCall | undefined {
    const i = id & MASK;
    let call = this.#slots[i];
    if (call !== undefined && call.id === id) this.#slots[i] = undefined;
    else {
      call = this.#overflow.size > 0 ? this.#overflow.get(id) : undefined;
      if (call === undefined) return undefined;
      this.#overflow.delete(id);
    }
    this.#size--;
    return call;
  }

  /** Puts back a call taken out by {@link takeAll} that is still in flight. */
  restore(call: PendingCall): void {
    const i = call.id & MASK;
    if (this.#slots[i] === undefined) this.#slots[i] = call;
    else this.#overflow.set(call.id, call);
    this.#size++;
  }

  /** Returns a settled record for reuse. */
  recycle(call: PendingCall): void {
    this.#free.put(call);
  }

  /** Removes and returns every call in flight. */
  takeAll(): PendingCall[] {
    const all: PendingCall[] = [];
    for (let i = 0; i < this.#slots.length; i++) {
      const call = this.#slots[i];
      if (call !== undefined) all.push(call);
      this.#slots[i] = undefined;
    }
    for (const call of this.#overflow.values()) all.push(call);
    this.#overflow.clear();
    this.#size = 0;
    return all;
  }
}

/** Slots of the table (a power of two). */
const SLOTS = 64;
const MASK = SLOTS - 1;

/** Records kept for reuse, at most (more calls than this are rarely in flight at once). */
const MAX_FREE = 64;

/** What {@link PendingCalls.open} returns (one object, read at once by the caller). */
const OPENED: { call: PendingCall; promise: Promise<unknown> | undefined } = { call: undefined as unknown as PendingCall, promise: undefined };

/**
 * Where each slab lent to the worker goes back, by the id of the call it went with, in the same kind of table as
 * {@link PendingCalls} (a slot per id's low bits, a map for the rare collision): a `Map` with an entry added and
 * deleted per batch reallocated its backing store as it grew and shrank.
 */
export class SlabCalls<H> {
  readonly #ids = new Float64Array(SLOTS);
  readonly #homes: (H | undefined)[] = new Array<H | undefined>(SLOTS).fill(undefined);
  readonly #overflow = new Map<number, H>();

  /** Records that call `id` lent a slab whose home is `home`. */
  set(id: number, home: H): void {
    const i = id & MASK;
    if (this.#homes[i] === undefined) {
      this.#ids[i] = id;
      this.#homes[i] = home;
    } else this.#overflow.set(id, home);
  }

  /** Removes and returns the home of call `id`'s slab (undefined when it lent none). */
  take(id: number): H | undefined {
    const i = id & MASK;
    const home = this.#homes[i];
    if (home !== undefined && this.#ids[i] === id) {
      this.#homes[i] = undefined;
      return home;
    }
    if (this.#overflow.size === 0) return undefined;
    const other = this.#overflow.get(id);
    if (other !== undefined) this.#overflow.delete(id);
    return other;
  }

  /** Removes and returns every home of a slab still lent. */
  takeAll(): H[] {
    const all: H[] = [];
    for (let i = 0; i < SLOTS; i++) {
      const home = this.#homes[i];
      if (home !== undefined) all.push(home);
      this.#homes[i] = undefined;
    }
    for (const home of this.#overflow.values()) all.push(home);
    this.#overflow.clear();
    return all;
  }
}
