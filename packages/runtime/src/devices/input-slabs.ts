import { FreeList } from '../executor/free-list.js';

/** What a device's input slab pool has done so far ({@link DeviceHandle.inputSlabs}). */
export interface InputSlabStats {
  /** Bytes of one slab: a batch whose stacked inputs are larger takes the copy path. */
  readonly slabBytes: number;
  /** Slabs the pool may hold at once. */
  readonly maxSlabs: number;
  /** Slabs allocated so far (a crashed worker's loans are replaced by new ones). */
  readonly allocated: number;
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

/**
 * A device's pool of input slabs: reusable `ArrayBuffer`s of a fixed size into which a batch's inputs are
 * stacked in place, then lent to the worker with the run and handed back with its answer. Steady-state
 * batches therefore allocate no tensor memory on either thread and copy each request's data once (into the
 * slab; the worker's onnxruntime tensors are views of it). A slab lent to a worker that crashes died with it:
 * {@link InputSlabPool.lost} writes it off and the pool allocates a replacement when next needed.
 *
 * The slabs are plain `ArrayBuffer`s moved by transfer, not `SharedArrayBuffer`s: onnxruntime-node (1.30, on
 * Node 20) rejects a tensor over shared memory ("Invalid argument"), so a shared slab would cost the worker a
 * second copy per batch.
 */
export class InputSlabPool {
  readonly slabBytes: number;
  readonly maxSlabs: number;
  readonly #free = new FreeList<ArrayBuffer>(Number.POSITIVE_INFINITY);
  #allocated = 0;
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

  /** A slab for a batch of `bytes`, or `undefined` when it does not fit or none is free (the copy path). */
  acquire(bytes: number): ArrayBuffer | undefined {
    if (bytes > this.slabBytes || this.slabBytes === 0) return this.#copy();
    let slab = this.#free.take();
    if (slab === undefined) {
      if (this.#allocated - this.#lost >= this.maxSlabs) return this.#copy();
      slab = new ArrayBuffer(this.slabBytes);
      this.#allocated++;
    }
    this.#lent++;
    this.#slabRuns++;
    return slab;
  }

  /** Takes back a slab the worker returned. Detached or foreign buffers are ignored. */
  release(slab: ArrayBuffer): void {
    if (slab.byteLength !== this.slabBytes || this.#lent === 0) return;
    this.#lent--;
    this.#free.put(slab);
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
    this.#free.clear();
  }

  stats(): InputSlabStats {
    return {
      slabBytes: this.slabBytes,
      maxSlabs: this.maxSlabs,
      allocated: this.#allocated,
      free: this.#free.size,
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
