import { EparaError, type NamedTensors, type TensorDataArray, type TensorLike, type TensorType } from '@epara/core';
import type { SlabHome } from '../devices/device-port.js';

/** What a lease is made from. */
export interface LeaseInit<D extends TensorDataArray = TensorDataArray> {
  serviceId: string;
  inputName: string;
  type: TensorType;
  dims: readonly number[];
  view: D;
  slab: LeaseSlab | undefined;
  slot: number;
  ring: object | undefined;
}

/** Where a lease is: writable by its host, owned by a request, or given back. */
export type InputLeaseState = 'open' | 'submitted' | 'released';

/** A typed-array constructor over part of a buffer. */
export type ViewCtor = { new (buffer: ArrayBuffer, byteOffset: number, length: number): TensorDataArray; readonly BYTES_PER_ELEMENT: number };


/** What a lease slab tells its ring. */
export interface LeaseSlabOwner {
  /** Every lease of `slab` was released and the slab is home: its buffer may take new leases. */
  emptied(slab: LeaseSlab): void;
  /** Whether `slab` is the one new leases take slots of now (its last slots handed out may then be handed again). */
  takesLeases(slab: LeaseSlab): boolean;
}

/**
 * One buffer of a lease ring: item slots 0…capacity−1 for the leased input at the front (a batch of the first
 * `n` slots is the batch's tensor as it is), room behind them for the batch's other inputs and its outputs.
 * Slots are handed out in order; one is handed again only when every lease of the buffer was released, or when
 * it is among the last handed out and the buffer still takes leases. The buffer is lent whole to the worker that
 * runs a batch of its leases.
 */
export class LeaseSlab implements SlabHome {
  buffer: ArrayBuffer;
  readonly capacity: number;
  /** Slots handed out so far (the next lease takes this one). */
  next = 0;
  /** Leases not yet released. */
  live = 0;
  /** In a worker with a batch. */
  lent = false;
  /** The worker died with it: the buffer is gone. */
  dead = false;
  /** The live lease in each slot handed out (undefined once released). */
  readonly leases: (Lease | undefined)[];
  /** Each slot's view, made once per buffer object (a buffer back from the worker is a new object). */
  readonly views: (TensorDataArray | undefined)[];
  readonly #owner: LeaseSlabOwner;

  constructor(buffer: ArrayBuffer, capacity: number, owner: LeaseSlabOwner) {
    this.buffer = buffer;
    this.capacity = capacity;
    this.leases = new Array<Lease | undefined>(capacity).fill(undefined);
    this.views = new Array<TensorDataArray | undefined>(capacity).fill(undefined);
    this.#owner = owner;
  }

  /** Makes the slab take leases from slot 0 again (its leases were all released). */
  reset(): void {
    this.next = 0;
    this.live = 0;
    this.leases.fill(undefined);
  }

  /** The worker answered: the buffer (a new object after the transfer) is ours again. */
  returned(slab: ArrayBuffer): void {
    this.buffer = slab;
    this.views.fill(undefined); // views of the buffer that left
    this.lent = false;
    if (this.live === 0) this.#owner.emptied(this);
  }

  lost(): void {
    this.lent = false;
    this.dead = true;
    if (this.live === 0) this.#owner.emptied(this);
  }

  /**
   * The lease in `slot` was released (or moved to another slab). A lease that never joined a queue (`unused`:
   * released by its host, or refused at admission) gives its slot back while the slab still takes leases and
   * the slot is the last one handed out: a request refused at once costs no slot. Under overload most leases
   * are refused: each took a slot for good before, so a slab filled with a few queued leases among many released
   * ones, and every slab held by one long-queued lease left the ring without a slab (the lease fell back to a
   * buffer of its own). A lease that was queued keeps its slot until the slab empties: handing it again would
   * interleave newer leases with the queued ones the next batch runs in place, and cost moves.
   */
  leaseReleased(slot: number, unused = false): void {
    this.leases[slot] = undefined;
    this.live--;
    if (unused && slot === this.next - 1 && this.#owner.takesLeases(this)) {
      let next = slot;
      while (next > 0 && this.leases[next - 1] === undefined) next--;
      this.next = next;
    }
    if (this.live === 0 && !this.lent) this.#owner.emptied(this);
  }
}

/**
 * Memory for one request's input tensor, handed out by `executor.allocateInput`: write the item's values into
 * {@link InputLease.data}, then pass the lease itself as that input to `submit`. A lease in a slab
 * ({@link InputLease.inSlab}) sits where its batch will run from: a batch made of the leases of one slab runs
 * from that slab without a copy. The lease belongs to the request from `submit` on, and is released when the
 * request settles (whatever its outcome); {@link InputLease.release} gives back a lease that will not be
 * submitted. Only leases the executor made are taken as leases: an object of this shape made elsewhere is an
 * ordinary tensor.
 *
 * @typeParam D the typed array of the input's element type (`Float32Array` for `float32`), as the host expects it.
 */
export interface InputLease<D extends TensorDataArray = TensorDataArray> extends TensorLike {
  readonly type: TensorType;
  /** The item's dims (size 1 on the batch axis); frozen, shared by the leases of one ring. */
  readonly dims: readonly number[];
  /** The service the lease was made for: it may be submitted only to that service. */
  readonly serviceId: string;
  /** The input the lease was made for: it may be submitted only as that input. */
  readonly inputName: string;
  /**
   * The item's values, to write before `submit` (the executor reads them once the request is queued).
   * @throws EparaError `INVALID_INPUT` (`details.reason: 'lease-released'`) once the lease was released: its
   * memory may already hold another request's input.
   */
  readonly data: D;
  readonly state: InputLeaseState;
  /** Whether the lease sits in a slab its batch can run from; false when it fell back to a buffer of its own. */
  readonly inSlab: boolean;
  /**
   * Gives the lease back without submitting it. Idempotent; once submitted, the request owns the lease and
   * releases it when it settles (this is then a no-op).
   */
  release(): void;
}

/**
 * The executor's {@link InputLease}: what hosts see of it, and what the executor's own code reaches (its slab and
 * slot, its ring, the request's claim and release). The package exports only the interface, so none of these
 * appear in the public type; `instanceof Lease` tells the executor's leases from tensors of the same shape.
 */
export class Lease<D extends TensorDataArray = TensorDataArray> implements InputLease<D> {
  readonly type: TensorType;
  /** The item's dims (size 1 on the batch axis); frozen, shared by the leases of one ring. */
  readonly dims: readonly number[];
  /** The service and input the lease was made for: it may be submitted only as that input of that service. */
  readonly serviceId: string;
  readonly inputName: string;
  #view: D;
  #state: InputLeaseState = 'open';
  #slab: LeaseSlab | undefined;
  #slot: number;
  /** The ring that made it (staging checks it), undefined outside a slab. */
  readonly ring: object | undefined;

  /** `o` is read at once: a ring passes the same object for every lease. */
  constructor(o: LeaseInit<D>) {
    this.serviceId = o.serviceId;
    this.inputName = o.inputName;
    this.type = o.type;
    this.dims = o.dims;
    this.#view = o.view;
    this.#slab = o.slab;
    this.#slot = o.slot;
    this.ring = o.ring;
  }

  /**
   * The item's values, to write before `submit` (the executor reads them once the request is queued).
   * @throws EparaError `INVALID_INPUT` (`details.reason: 'lease-released'`) once the lease was released: its
   * memory may already hold another request's input.
   */
  get data(): D {
    if (this.#state === 'released') throw leaseError(this, 'lease-released', 'the lease was released (its request settled, or release() was called)');
    return this.#view;
  }

  get state(): InputLeaseState {
    return this.#state;
  }

  /** Whether the lease sits in a slab its batch can run from; false when it fell back to a buffer of its own. */
  get inSlab(): boolean {
    return this.#slab !== undefined;
  }

  /** Its slab (undefined outside one) and slot. */
  get slab(): LeaseSlab | undefined {
    return this.#slab;
  }

  get slot(): number {
    return this.#slot;
  }

  /**
   * Moves the lease to `slot` of `slab` (its values already copied to `view` there): the executor
   * makes room for a batch in a slab, or gathers a batch's items into one.
   */
  relocate(slab: LeaseSlab, slot: number, view: D): void {
    const from = this.#slab;
    if (from === slab) slab.leases[this.#slot] = undefined;
    else {
      from?.leaseReleased(this.#slot);
      slab.live++;
    }
    this.#slab = slab;
    this.#slot = slot;
    this.#view = view;
    slab.leases[slot] = this as unknown as Lease;
  }

  /**
   * Gives the lease back without submitting it. Idempotent; once submitted, the request owns the lease and
   * releases it when it settles (this is then a no-op).
   */
  release(): void {
    if (this.#state === 'open') this.#free(true);
  }

  /**
   * A request takes the lease (`submit`).
   * @throws EparaError `INVALID_INPUT` when it was submitted or released already, or belongs to another
   * service or input.
   */
  claim(serviceId: string, inputName: string): void {
    if (this.#state === 'submitted') throw leaseError(this, 'lease-submitted', 'the lease was already submitted (a lease carries one request)');
    if (this.#state === 'released') throw leaseError(this, 'lease-released', 'the lease was released (its request settled, or release() was called)');
    if (serviceId !== this.serviceId || inputName !== this.inputName) {
      throw leaseError(this, 'lease-mismatch', `the lease was made for input '${this.inputName}' of ${this.serviceId}, given as '${inputName}' of ${serviceId}`);
    }
    this.#state = 'submitted';
  }

  /** The request that owns it settled, or (`refused`) its submit failed before the request was queued. */
  settled(refused = false): void {
    if (this.#state !== 'released') this.#free(refused);
  }

  #free(unused: boolean): void {
    this.#state = 'released';
    const slab = this.#slab;
    this.#slab = undefined;
    slab?.leaseReleased(this.#slot, unused);
  }
}

function leaseError(lease: Lease, reason: 'lease-released' | 'lease-submitted' | 'lease-mismatch', message: string): EparaError {
  return new EparaError('INVALID_INPUT', `${lease.serviceId}: input '${lease.inputName}': ${message}`, { serviceId: lease.serviceId, input: lease.inputName, reason });
}

/**
 * Claims, for the request about to be queued, every lease among `inputs` (by the name it is given as); returns
 * whether there was one.
 * @throws EparaError `INVALID_INPUT` as {@link InputLease.claim}; leases claimed before the failing one are
 * released (that request never existed).
 */
export function claimLeases(inputs: NamedTensors, serviceId: string): boolean {
  let any = false;
  for (const name in inputs) {
    const t = inputs[name];
    if (!(t instanceof Lease)) continue;
    try {
      t.claim(serviceId, name);
    } catch (err) {
      if (any) unclaimBefore(inputs, name);
      throw err;
    }
    any = true;
  }
  return any;
}

/** Releases the leases claimed before input `stop` (in iteration order) by a claim that then failed. */
function unclaimBefore(inputs: NamedTensors, stop: string): void {
  for (const name in inputs) {
    if (name === stop) return;
    const t = inputs[name];
    if (t instanceof Lease) t.settled(true);
  }
}

/**
 * Releases the leases among a settled request's inputs (the ones it claimed); `refused`: the request was refused
 * before it was queued (its leases' slots may be handed again at once).
 */
export function settleLeases(inputs: NamedTensors, refused = false): void {
  for (const name in inputs) {
    const t = inputs[name];
    if (t instanceof Lease && t.state === 'submitted') t.settled(refused);
  }
}

/** Releases the open leases among the inputs of a `submit` that failed before any request took them. */
export function releaseOpenLeases(inputs: NamedTensors): void {
  if (typeof inputs !== 'object' || inputs === null) return;
  for (const name in inputs) {
    const t = inputs[name];
    if (t instanceof Lease) t.release();
  }
}
