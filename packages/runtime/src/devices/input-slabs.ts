import { FreeList } from '../executor/free-list.js';

/** What a device's input slab pool has done so far ({@link DeviceHandle.inputSlabs}). */
export interface InputSlabStats {
  /** Bytes of the largest slab: a batch whose stacked inputs are larger takes the copy path. */
  readonly slabBytes: number;
  /** Slabs the pool may hold at once. */
  readonly maxSlabs: number;
  /** Slabs allocated so far (a crashed worker's loans are replaced by new ones; an idle slab of one size may be dropped for one of another). */
  readonly allocated: number;
  /** Slabs the pool holds now, idle or lent (at most `maxSlabs`). */
  readonly held: number;
  /** Slabs idle in the pool now. */
  readonly free: number;
  /** Slabs lent to the worker now (a batch is staged in each). */
  readonly lent: number;
  /** Batches that ran from a slab. */
  readonly slabRuns: number;
  /** Batches that took the copy path: larger than a slab, or every slab was lent out. */
  readonly copyRuns: number;
  /** Of the slab runs, those whose outputs the backend wrote into the slab (copied out per request). */
  readonly outputRuns: number;
  /** Slabs lost in crashed workers (accounted for and replaced on demand). */
  readonly lost: number;
  /** Batches rung in through the device's shared-memory doorbell (no message either way; not in `slabRuns`). */
  readonly rungRuns: number;
  /**
   * Doorbell wake-ups of the current worker: the host's notifies of a parked worker (a batch rung in while the
   * worker runs costs none), the worker's parks (each wants at most one notify), and its notifies of a host waiting
   * for answers. 0 without a doorbell.
   */
  readonly ringWakes: number;
  readonly workerParks: number;
  readonly answerWakes: number;
}

/** The smallest slab the pool allocates: smaller batches share this size, so their slabs are interchangeable. */
export const MIN_SLAB_BYTES = 64 * 1024;

/**
 * A device's pool of input slabs: reusable `ArrayBuffer`s into which a batch's inputs are stacked in place, then
 * lent to the worker with the run and handed back with its answer. Steady-state batches therefore allocate no
 * tensor memory on either thread and copy each request's data once (into the slab; the worker's onnxruntime
 * tensors are views of it). A slab lent to a worker that crashes died with it: {@link InputSlabPool.lost} writes
 * it off and the pool allocates a replacement when next needed.
 *
 * Slabs come in sizes of powers of two from {@link MIN_SLAB_BYTES} up to `slabBytes` (the largest, itself a size
 * whatever its value), and a batch takes the smallest size that holds it. A slab's size matters beyond memory:
 * every slab that comes back from the worker is a new `ArrayBuffer` on this thread, and V8 counts its whole size
 * as fresh external memory until the next collection; a fixed 8 MiB slab under small batches made a host run a
 * full collection every few batches (a demo node measured 2–4× a baseline's full collections per item).
 *
 * The slabs are plain `ArrayBuffer`s moved by transfer, not `SharedArrayBuffer`s: onnxruntime-node (1.30, on
 * Node 20) rejects a tensor over shared memory ("Invalid argument"), so a shared slab would cost the worker a
 * second copy per batch.
 */
export class InputSlabPool {
  /** The largest slab: a batch whose stacked inputs (and outputs, when written into the slab) are larger takes the copy path. */
  readonly slabBytes: number;
  readonly maxSlabs: number;
  /** Idle slabs by size. */
  readonly #free = new Map<number, FreeList<ArrayBuffer>>();
  #idle = 0;
  #allocated = 0;
  #dropped = 0;
  #lent = 0;
  #lost = 0;
  #slabRuns = 0;
  #copyRuns = 0;
  #outputRuns = 0;
  #rungRuns = 0;

  constructor(o: { slabBytes: number; maxSlabs: number }) {
    this.slabBytes = o.slabBytes;
    this.maxSlabs = o.maxSlabs;
  }

  /** The size of slab a batch of `bytes` takes (`bytes` ≤ {@link slabBytes}). */
  sizeFor(bytes: number): number {
    let size = MIN_SLAB_BYTES;
    while (size < bytes) size *= 2;
    return Math.min(size, this.slabBytes);
  }

  /** A slab of at least `bytes`, or `undefined` when it does not fit or none is free (the copy path). */
  acquire(bytes: number): ArrayBuffer | undefined {
    if (bytes > this.slabBytes || this.slabBytes === 0) return this.#copy();
    const size = this.sizeFor(bytes);
    // An idle slab of the size, else the smallest idle larger one; at the limit, the smallest idle slab makes room.
    let slab = this.#take(size) ?? this.#takeLargerOrDropOne(size, this.#held() >= this.maxSlabs);
    if (slab === undefined) {
      if (this.#held() >= this.maxSlabs) return this.#copy();
      slab = new ArrayBuffer(size);
      this.#allocated++;
    }
    this.#lent++;
    this.#slabRuns++;
    return slab;
  }

  /** Takes back a slab the worker returned. Detached or foreign buffers (of no slab size) are ignored. */
  release(slab: ArrayBuffer): void {
    const size = slab.byteLength;
    if (this.#lent === 0 || !(size === this.slabBytes || (size >= MIN_SLAB_BYTES && size < this.slabBytes && (size & (size - 1)) === 0))) return;
    this.#lent--;
    let list = this.#free.get(size);
    if (list === undefined) this.#free.set(size, (list = new FreeList<ArrayBuffer>(Number.POSITIVE_INFINITY)));
    list.put(slab);
    this.#idle++;
  }

  #take(size: number): ArrayBuffer | undefined {
    const slab = this.#free.get(size)?.take();
    if (slab !== undefined) this.#idle--;
    return slab;
  }

  #held(): number {
    return this.#allocated - this.#lost - this.#dropped;
  }

  #takeLargerOrDropOne(size: number, drop: boolean): ArrayBuffer | undefined {
    if (this.#idle === 0) return undefined;
    let larger: number | undefined;
    let smallest: number | undefined;
    for (const [s, list] of this.#free) {
      if (list.size === 0) continue;
      if (s > size && (larger === undefined || s < larger)) larger = s;
      if (smallest === undefined || s < smallest) smallest = s;
    }
    if (larger !== undefined) return this.#take(larger);
    if (!drop) return undefined;
    this.#take(smallest!);
    this.#dropped++;
    return undefined;
  }

  /** Counts a run whose outputs came back in its slab. */
  countOutputRun(): void {
    this.#outputRuns++;
  }

  /** Counts a batch rung in through the doorbell. */
  countRungRun(): void {
    this.#rungRuns++;
  }

  /** Writes off `count` slabs that were lent to a worker that died. */
  lost(count: number): void {
    const n = Math.min(count, this.#lent);
    this.#lent -= n;
    this.#lost += n;
  }

  /** Drops every idle slab (the device closed). */
  clear(): void {
    for (const list of this.#free.values()) list.clear();
    this.#idle = 0;
  }

  stats(): InputSlabStats {
    return {
      slabBytes: this.slabBytes,
      maxSlabs: this.maxSlabs,
      allocated: this.#allocated,
      held: this.#held(),
      free: this.#idle,
      lent: this.#lent,
      slabRuns: this.#slabRuns,
      copyRuns: this.#copyRuns,
      outputRuns: this.#outputRuns,
      lost: this.#lost,
      rungRuns: this.#rungRuns,
      ringWakes: 0,
      workerParks: 0,
      answerWakes: 0,
    };
  }

  #copy(): undefined {
    this.#copyRuns++;
    return undefined;
  }
}
