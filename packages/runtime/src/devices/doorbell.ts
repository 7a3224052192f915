/*
 * The device's shared-memory doorbell: a ring of a few slots in `SharedArrayBuffer`s through which small batches
 * reach the worker and come back without a `postMessage` either way. The host writes a batch's inputs into a
 * free slot, records the call's id and the batch's plan in the slot's header, bumps a counter and notifies; the
 * worker, waiting on that counter with `Atomics.waitAsync` in its event loop, copies the inputs into a private
 * buffer (onnxruntime-node refuses tensors over shared memory), runs, copies the outputs back into the slot and
 * bumps a counter of its own, on which the host waits the same way. What the ring does not carry takes the
 * message path as before: loads, large batches, lease slabs, string tensors, outputs of unknown size, errors and
 * a run whose backend cannot write into given outputs (the worker answers those by message).
 *
 * Each side notifies the other only while that one is parked (see `bell-wake.ts`): a batch rung in behind a
 * running one, or an answer finished while the host is still reading the last, costs no system call.
 *
 * A slot's header: the call id (f64), the run's compute time (f64), the plan id (i32), the outcome (i32) and the
 * count of messages the host had posted to the worker when it rang the call (i32): a call rung in while a message
 * is unanswered runs after that message, in the host's order (the worker holds it until the message arrives).
 */
import type { TensorDataArray } from '@epara/core';
import { VIEW_CTOR, type SlabOutput } from './slab-outputs.js';
import { bumpsPast, park, wake } from './bell-wake.js';

/** Slots of a device's ring: a batch running and one sent ahead, with room for a second device's worth. */
export const DOORBELL_SLOTS = 4;

/** Index (in the control `Int32Array`) of the count of calls the host rang in. */
export const BELL_IN = 0;
/** Index of the count of calls the worker finished (their outcome in their slot). */
export const BELL_OUT = 1;
/** What a read of answers already finished is queued behind (see {@link HostRing.listen}). */
const RESOLVED = Promise.resolve();

/** Index of the worker's "parked" word: 1 while it waits on {@link BELL_IN} with nothing to run. */
export const WORKER_PARKED = 2;
/** Index of the host's "parked" word: 1 while it waits on {@link BELL_OUT}. */
export const HOST_PARKED = 3;
/** Index of the count of the worker's parks (it writes it alone; read for the device's stats). */
export const WORKER_PARKS = 4;
/** Index of the count of the worker's notifies of a parked host. */
export const ANSWER_WAKES = 5;
/** Int32 words of the control block before the slots' headers (a multiple of 2: the headers hold f64s). */
const CONTROL_WORDS = 6;
/** Bytes of one slot header. */
const HEADER_BYTES = 32;

/** The outcome of a rung call: its outputs are in the slot. */
export const RUNG_IN_SLOT = 0;
/** The outcome of a rung call: the worker answered it by message (an error, or outputs it could not place). */
export const RUNG_BY_MESSAGE = 1;

/** What a worker is handed to ring with (in its `workerData`). */
export interface DoorbellMemory {
  readonly control: SharedArrayBuffer;
  readonly slots: readonly SharedArrayBuffer[];
  readonly slotBytes: number;
}

/** Whether this platform can ring (a `SharedArrayBuffer` and `Atomics.waitAsync`). */
export function doorbellAvailable(): boolean {
  return typeof SharedArrayBuffer === 'function' && typeof (Atomics as { waitAsync?: unknown }).waitAsync === 'function';
}

export function allocateDoorbell(slotBytes: number): DoorbellMemory {
  const slots: SharedArrayBuffer[] = [];
  for (let i = 0; i < DOORBELL_SLOTS; i++) slots.push(new SharedArrayBuffer(slotBytes));
  return { control: new SharedArrayBuffer(CONTROL_WORDS * 4 + DOORBELL_SLOTS * HEADER_BYTES), slots, slotBytes };
}

/** Typed views of a doorbell's control block (one set per thread). */
export class BellControl {
  readonly words: Int32Array;
  readonly #f64: Float64Array;

  constructor(memory: DoorbellMemory) {
    this.words = new Int32Array(memory.control);
    this.#f64 = new Float64Array(memory.control);
  }

  callId(slot: number): number {
    return this.#f64[f64At(slot)]!;
  }

  runMs(slot: number): number {
    return this.#f64[f64At(slot) + 1]!;
  }

  planId(slot: number): number {
    return this.words[i32At(slot)]!;
  }

  outcome(slot: number): number {
    return this.words[i32At(slot) + 1]!;
  }

  /** How many messages the host had posted to the worker when it rang the call in `slot` (an int32 count). */
  afterMessages(slot: number): number {
    return this.words[i32At(slot) + 2]!;
  }

  /** The host's side: call `id` of plan `plan` is in `slot`, rung after the host posted `afterMessages` messages. */
  ring(slot: number, id: number, plan: number, afterMessages: number): void {
    this.#f64[f64At(slot)] = id;
    this.words[i32At(slot)] = plan;
    this.words[i32At(slot) + 2] = afterMessages;
  }

  /** The worker's side: the call in `slot` ended with `outcome` after `runMs` of compute. */
  finish(slot: number, outcome: number, runMs: number): void {
    this.#f64[f64At(slot) + 1] = runMs;
    this.words[i32At(slot) + 1] = outcome;
  }
}

function f64At(slot: number): number {
  return (CONTROL_WORDS * 4 + slot * HEADER_BYTES) / 8;
}

function i32At(slot: number): number {
  return (CONTROL_WORDS * 4 + slot * HEADER_BYTES + 16) / 4;
}

/** Plans a worker may know by id, at most (a model with free dims makes a plan per shape; past this, messages). */
export const MAX_RING_PLANS = 1024;

/**
 * The host's side of a worker's doorbell: which slot is next, which batch layouts the worker keeps, and the one
 * wait on the worker's counter while calls are rung in. A new worker gets a new one (a crashed worker's ring is
 * dropped with it, its calls failed by the device).
 */
export class HostRing {
  readonly memory: DoorbellMemory;
  readonly control: BellControl;
  readonly slotBytes: number;
  /** Calls rung in, and finished calls read: the slots between them are the worker's. */
  #rung = 0;
  #read = 0;
  #waiting = false;
  /** Notifies that woke a parked worker (a ring that found it running costs none). */
  #wakes = 0;
  /** Run between the wake protocol's steps (tests widen its windows with it). */
  readonly #pause: (() => void) | undefined;
  readonly #onWake: () => void;
  readonly #planIds = new WeakMap<object, number>();
  /** Plan ids the worker keeps (it ran a batch of that layout in a slab and said so). */
  readonly #kept = new Set<number>();
  #nextPlan = 1;
  /** Per slot, the views each layout is written through (made once per slot and layout). */
  readonly #views: WeakMap<object, unknown>[] = [];
  /** Per slot, the views each plan's outputs are read through (made once per slot and plan). */
  readonly #outputViews: WeakMap<readonly SlabOutput[], TensorDataArray[]>[] = [];

  /** `onWake` runs (in a later task) once the worker finished a call after {@link listen}. */
  constructor(memory: DoorbellMemory, onWake: () => void, pause?: () => void) {
    this.memory = memory;
    this.#pause = pause;
    this.control = new BellControl(memory);
    this.slotBytes = memory.slotBytes;
    this.#onWake = () => {
      this.#waiting = false;
      // Cleared by the worker if it notified; if the wait ended otherwise (its compare, a drop), cleared here.
      Atomics.store(this.control.words, HOST_PARKED, 0);
      onWake();
    };
    for (let i = 0; i < DOORBELL_SLOTS; i++) {
      this.#views.push(new WeakMap());
      this.#outputViews.push(new WeakMap());
    }
  }

  /** Calls rung in and not read back yet. */
  get inFlight(): number {
    return this.#rung - this.#read;
  }

  /** Whether a slot is free. */
  hasRoom(): boolean {
    return this.#rung - this.#read < DOORBELL_SLOTS;
  }

  /** The id of batch layout `plan` (undefined once {@link MAX_RING_PLANS} are handed out: it goes by message). */
  planId(plan: object): number | undefined {
    const id = this.#planIds.get(plan);
    if (id !== undefined || this.#nextPlan > MAX_RING_PLANS) return id;
    this.#planIds.set(plan, this.#nextPlan);
    return this.#nextPlan++;
  }

  /** Whether the worker keeps plan `id`. */
  keeps(id: number): boolean {
    return this.#kept.has(id);
  }

  /** The worker keeps plan `id` now. */
  kept(id: number): void {
    this.#kept.add(id);
  }

  /** The next slot's memory (with {@link hasRoom}). */
  nextSlot(): SharedArrayBuffer {
    return this.memory.slots[this.#rung % DOORBELL_SLOTS]!;
  }

  /** The views of `layout` in the next slot, made by `make(slot, layout)` the first time (no closure per call). */
  nextViews<L extends object, V>(layout: L, make: (slot: SharedArrayBuffer, layout: L) => V): V {
    const i = this.#rung % DOORBELL_SLOTS;
    let views = this.#views[i]!.get(layout) as V | undefined;
    if (views === undefined) this.#views[i]!.set(layout, (views = make(this.memory.slots[i]!, layout)));
    return views;
  }

  /** The views of `outputs` (a plan's, by identity) in `slot`, made the first time. */
  outputViews(slot: number, outputs: readonly SlabOutput[]): readonly TensorDataArray[] {
    let views = this.#outputViews[slot]!.get(outputs);
    if (views === undefined) {
      const memory = this.memory.slots[slot]! as unknown as ArrayBuffer;
      views = outputs.map((o) => new VIEW_CTOR[o.type](memory, o.offset, o.length));
      this.#outputViews[slot]!.set(outputs, views);
    }
    return views;
  }

  /**
   * Rings call `id` (its inputs written into {@link nextSlot}) of layout `plan` in, waking the worker if it is parked.
   * `afterMessages`: the messages posted to the worker so far (the worker runs the call after the last of them).
   */
  ring(id: number, plan: number, afterMessages = 0): void {
    this.control.ring(this.#rung % DOORBELL_SLOTS, id, plan, afterMessages | 0);
    if (wake(this.control.words, WORKER_PARKED, BELL_IN, ++this.#rung, this.#pause)) this.#wakes++;
    this.listen();
  }

  /** The wake-ups of this ring so far: the host's notifies of a parked worker, the worker's parks and its notifies. */
  wakes(): { readonly ringWakes: number; readonly workerParks: number; readonly answerWakes: number } {
    const w = this.control.words;
    return { ringWakes: this.#wakes, workerParks: Atomics.load(w, WORKER_PARKS), answerWakes: Atomics.load(w, ANSWER_WAKES) };
  }

  /** The slot of the next finished call not read yet (its memory is the caller's until the next call), or -1. */
  nextFinished(): number {
    const slot = this.peekFinished();
    if (slot >= 0) this.#read++;
    return slot;
  }

  /** The slot of the next finished call, left unread (see {@link nextFinished}), or -1. */
  peekFinished(): number {
    if (bumpsPast(this.#read, Atomics.load(this.control.words, BELL_OUT)) <= 0) return -1;
    return this.#read % DOORBELL_SLOTS;
  }

  /** Waits for the worker's next finished call, unless already waiting or nothing is rung in. */
  listen(): void {
    if (this.#waiting || this.inFlight === 0) return;
    this.#waiting = true;
    const r = park(this.control.words, HOST_PARKED, BELL_OUT, this.#read, this.#pause);
    if (r.async) void r.value.then(this.#onWake);
    // Finished already (the worker ran the call while this thread was off its core): read in a later job, never
    // inside the ring call — a reaction to a resolved promise (96 heap bytes), not Node's `queueMicrotask` (about
    // 250: an `AsyncResource` and a bound callback each), which most sequential requests took on a loaded machine.
    else void RESOLVED.then(this.#onWake);
  }

  /** Wakes the wait (the device dropped this ring: its worker is gone); its `onWake` must then see it stale. */
  drop(): void {
    Atomics.notify(this.control.words, BELL_OUT);
  }
}
