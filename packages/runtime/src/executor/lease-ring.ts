import type { NamedTensors, TensorDataArray, TensorType } from '@epara/core';
import { Lease, LeaseSlab, type LeaseInit, type LeaseSlabOwner, type ViewCtor } from '../batching/input-lease.js';
import type { WorkItem } from '../batching/work-item.js';
import type { StagedBatch } from '../devices/device-port.js';
import type { KnownOutput } from '../devices/slab-outputs.js';
import { SlabPlans } from '../devices/slab-plans.js';
import { stackIntoSlab } from '../devices/slab-stack.js';
import type { BatchAxes } from '../tensors/stack.js';
import { FreeList } from './free-list.js';

/** What one service input's leases have done so far (summed over its rings in `executor.stats()`). */
export interface InputLeaseStats {
  /** Leases handed out. */
  readonly leases: number;
  /** Of those, leases given a buffer of their own (every slab taken, or an item too large for one). */
  readonly fellBack: number;
  /** Batches that ran from a lease slab. */
  readonly slabBatches: number;
  /** Items of those batches that were already in place (written once, by their host, where they ran). */
  readonly inPlaceItems: number;
  /** Items of those batches copied into the slab (leases of other slabs, plain tensors, moved slots). */
  readonly copiedItems: number;
  /** Queued leases moved out of a slab to make room for a batch (one copy each). */
  readonly movedLeases: number;
  /** Lease slabs allocated now. */
  readonly slabs: number;
}

/** How a {@link LeaseRing} is laid out. */
export interface LeaseRingOptions {
  readonly serviceId: string;
  readonly inputName: string;
  readonly type: TensorType;
  /** The item's dims (size 1 on the batch axis), frozen: every lease of the ring shares them. */
  readonly itemDims: readonly number[];
  readonly ctor: ViewCtor;
  /** Slots per slab: the largest batch of the instance. */
  readonly capacity: number;
  /**
   * Leases a slab takes before the next one opens: the instance's usual batch (the plan's). Under a steady load
   * a batch is then the leases of one slab, and a batch grown beyond it gathers the next slab's into the room
   * left (`capacity`).
   */
  readonly fill: number;
  /** Bytes kept behind the slots for the batch's other inputs and its outputs (what is known of them). */
  readonly tailBytes: number;
  /** Whether consecutive slots are the batch's tensor as is (nothing but size-1 dims before the batch axis). */
  readonly inPlace: boolean;
  /** Largest slab, bytes. */
  readonly maxSlabBytes: number;
  /** Slabs the ring may hold at once, at least. */
  readonly maxSlabs: number;
  /** Bytes the ring's slabs may take at once: more than `maxSlabs` small slabs when they fit. */
  readonly maxBytes: number;
}

/**
 * The lease slabs of one input (one item shape) of a service instance. Leases take the open slab's slots in
 * order; a batch is run from the slab that holds most of its leases once the batch holds slots 0…n−1 there: queued
 * leases of the slab that are not in the batch move to another slab (one copy each), batch items from elsewhere
 * are copied in (the copy the device's own slab would have made), and the slab is lent to the worker whole —
 * unless the leases to move outnumber the items found in place (the copy path then costs fewer copies).
 * Under a steady load most items therefore run where their host wrote them. A batch the ring cannot take (a
 * lease still being written in the slab, no slab free for the moves, a layout that does not fit) takes the
 * device's copy path.
 */
export class LeaseRing implements LeaseSlabOwner {
  readonly o: LeaseRingOptions;
  readonly #itemLen: number;
  readonly #itemBytes: number;
  readonly #capacity: number;
  readonly #fill: number;
  readonly #slabBytes: number;
  readonly #maxSlabs: number;
  readonly #plans: SlabPlans;
  #open: LeaseSlab | undefined;
  readonly #free = new FreeList<LeaseSlab>(Number.POSITIVE_INFINITY);
  #slabs = 0;
  /** Per slot of the slab being staged: the index of the batch item there, or −1 (reused). */
  readonly #itemAt: Int32Array;
  /** Scratch of one staging: the batch in slot order, and its inputs. */
  readonly #order: WorkItem[] = [];
  readonly #inputs: NamedTensors[] = [];
  readonly #counts = { leases: 0, fellBack: 0, slabBatches: 0, inPlaceItems: 0, copiedItems: 0, movedLeases: 0 };
  /** What each lease is made from (refilled per lease; the lease reads it at once). */
  readonly #init: LeaseInit;

  constructor(o: LeaseRingOptions) {
    this.o = o;
    let len = 1;
    for (const d of o.itemDims) len *= d;
    this.#itemLen = len;
    this.#itemBytes = len * o.ctor.BYTES_PER_ELEMENT;
    const room = Math.floor((o.maxSlabBytes - o.tailBytes) / Math.max(1, this.#itemBytes));
    this.#capacity = o.inPlace ? Math.max(0, Math.min(o.capacity, room)) : 0;
    const regionBytes = align8(this.#capacity * this.#itemBytes);
    this.#slabBytes = regionBytes + o.tailBytes;
    this.#fill = Math.max(1, Math.min(o.fill, this.#capacity));
    this.#maxSlabs = Math.max(o.maxSlabs, Math.floor(o.maxBytes / Math.max(1, this.#slabBytes)));
    this.#plans = new SlabPlans({ name: o.inputName, regionBytes });
    this.#itemAt = new Int32Array(Math.max(1, this.#capacity)).fill(-1);
    this.#init = { serviceId: o.serviceId, inputName: o.inputName, type: o.type, dims: o.itemDims, view: undefined as unknown as TensorDataArray, slab: undefined, slot: 0, ring: undefined };
  }

  /**
   * Whether the ring was laid out for these batch sizes. An instance runs unbatched until its batching verdict
   * (a model with free dims is checked with its first request): a ring made before then holds one lease per slab.
   */
  sizedFor(batchSize: number, maxBatchSize: number): boolean {
    return this.o.capacity === Math.max(1, maxBatchSize) && this.o.fill === Math.max(1, batchSize);
  }

  /** Whether leases of `dims` belong to this ring. */
  fits(dims: readonly number[]): boolean {
    const own = this.o.itemDims;
    if (dims.length !== own.length) return false;
    for (let i = 0; i < dims.length; i++) if (dims[i] !== own[i]) return false;
    return true;
  }

  /** A lease: the next slot of the open slab, else (no slab to be had) a buffer of its own. */
  allocate(): Lease {
    const o = this.o;
    this.#counts.leases++;
    let slab = this.#open;
    if (slab === undefined || slab.next >= this.#fill || slab.lent || slab.dead) slab = this.#open = this.#openSlab();
    const init = this.#init;
    if (slab === undefined) {
      this.#counts.fellBack++;
      init.view = new o.ctor(new ArrayBuffer(this.#itemBytes), 0, this.#itemLen);
      init.slab = init.ring = undefined;
      init.slot = 0;
    } else {
      init.slot = slab.next++;
      init.view = this.#view(slab, init.slot);
      init.slab = slab;
      init.ring = this;
    }
    const lease = new Lease(init);
    init.slab = init.ring = undefined; // keeps nothing alive
    if (slab !== undefined) {
      slab.leases[lease.slot] = lease;
      slab.live++;
    }
    return lease;
  }

  /**
   * Lays the batch `items` of model `key` out in the slab holding most of its leases, or returns undefined (the
   * device's copy path then runs it). On success `items` is reordered in place to the slab's slot order (the
   * order the outputs come back in) and the slab is lent until the worker hands it back.
   */
  stage(key: string, items: WorkItem[], axes: BatchAxes, known: readonly KnownOutput[] | undefined): StagedBatch | undefined {
    const name = this.o.inputName;
    const lead = items[0]!.inputs[name];
    if (!(lead instanceof Lease) || lead.ring !== this) return undefined;
    const slab = this.#slabOfMost(items, name) ?? lead.slab;
    const n = items.length;
    if (slab === undefined || slab.lent || slab.dead || n > slab.capacity) return undefined;
    const inputs = this.#inputs;
    inputs.length = n;
    for (let i = 0; i < n; i++) {
      if (items[i]!.slot !== undefined) return this.#abandon(); // a stream's state joins its inputs at dispatch
      inputs[i] = items[i]!.inputs;
    }
    const plan = this.#plans.plan(key, inputs, axes, known);
    if (plan.layout.bytes > slab.buffer.byteLength) return this.#abandon();
    const itemAt = this.#itemAt;
    let inPlace = 0;
    for (let i = 0; i < n; i++) {
      const t = inputs[i]![name];
      if (!(t instanceof Lease) || t.slab !== slab) continue;
      itemAt[t.slot] = i;
      if (t.slot < n) inPlace++;
    }
    // Never more copies than the device's slab would make (one per item): the leases moved out of the batch's
    // way may not outnumber the items it finds in place.
    const moving = this.#leasesToMove(slab);
    if (moving < 0 || moving > inPlace) return this.#abandon();
    const target = moving > 0 ? this.#moveTarget(slab, moving) : undefined;
    if (moving > 0 && target === undefined) return this.#abandon();
    // Committed: from here on the batch runs from this slab.
    slab.lent = true;
    if (this.#open === slab) this.#open = target;
    if (target !== undefined) this.#moveOut(slab, target);
    this.#gather(slab, items, inputs);
    slab.next = slab.capacity; // sealed: its remaining slots wait until every lease of the batch is released
    this.#counts.slabBatches++;
    const outputs = plan.outputs !== undefined && plan.outputs.end <= slab.buffer.byteLength ? plan.outputs : undefined;
    const feeds = stackIntoSlab(slab.buffer, inputs, plan.layout);
    forget(inputs);
    return { slab: slab.buffer, feeds, count: n, outputs, home: slab };
  }

  /** What the ring has done so far. */
  stats(): InputLeaseStats {
    return { ...this.#counts, slabs: this.#slabs };
  }

  emptied(slab: LeaseSlab): void {
    if (slab.dead) {
      this.#slabs--;
      if (this.#open === slab) this.#open = undefined;
      return;
    }
    slab.reset();
    if (slab !== this.#open) this.#free.put(slab);
  }

  takesLeases(slab: LeaseSlab): boolean {
    return slab === this.#open && !slab.lent && !slab.dead;
  }

  /** Queued leases of `slab` outside the batch (marked in `#itemAt`), or −1 when one is still being written. */
  #leasesToMove(slab: LeaseSlab): number {
    let moving = 0;
    for (let s = 0; s < slab.next; s++) {
      const l = slab.leases[s];
      if (l === undefined || this.#itemAt[s]! >= 0) continue;
      if (l.state === 'open') return -1;
      moving++;
    }
    return moving;
  }

  /** A slab with room for `count` moved leases: the open one, else a fresh one (which becomes the open one). */
  #moveTarget(from: LeaseSlab, count: number): LeaseSlab | undefined {
    const open = this.#open;
    if (open !== undefined && open !== from && !open.lent && !open.dead && open.capacity - open.next >= count) return open;
    const fresh = this.#openSlab();
    if (fresh === undefined) return undefined;
    if (open !== undefined && open !== from) this.#retire(open);
    return fresh;
  }

  /** Moves the queued leases of `slab` that are not in the batch to `target` (one copy each). */
  #moveOut(slab: LeaseSlab, target: LeaseSlab): void {
    for (let s = 0; s < slab.next; s++) {
      const l = slab.leases[s];
      if (l === undefined || this.#itemAt[s]! >= 0) continue;
      const to = target.next++;
      const view = this.#view(target, to);
      (view as Float32Array).set(l.data as Float32Array);
      l.relocate(target, to, view);
      this.#counts.movedLeases++;
    }
    if (this.#open === undefined) this.#open = target;
  }

  /**
   * Puts the batch's items in slots 0…n−1 of `slab` (those already there stay), then reorders `items` and
   * `inputs` to slot order; clears `#itemAt`.
   */
  #gather(slab: LeaseSlab, items: WorkItem[], inputs: NamedTensors[]): void {
    const n = items.length;
    const itemAt = this.#itemAt;
    const name = this.o.inputName;
    let bytes: Uint8Array | undefined;
    let free = 0;
    for (let i = 0; i < n; i++) {
      const t = inputs[i]![name]!;
      const own = t instanceof Lease && t.slab === slab;
      if (own && t.slot < n) {
        this.#counts.inPlaceItems++;
        continue;
      }
      while (itemAt[free]! >= 0) free++;
      if (own) {
        // A lease of this slab beyond the batch's slots moves down (within the buffer, no allocation per item).
        itemAt[t.slot] = -1;
        bytes ??= new Uint8Array(slab.buffer);
        bytes.copyWithin(free * this.#itemBytes, t.slot * this.#itemBytes, (t.slot + 1) * this.#itemBytes);
        t.relocate(slab, free, this.#view(slab, free));
      } else (this.#view(slab, free) as Float32Array).set(t.data as Float32Array);
      itemAt[free] = i;
      this.#counts.copiedItems++;
    }
    const order = this.#order;
    order.length = n;
    for (let s = 0; s < n; s++) order[s] = items[itemAt[s]!]!;
    for (let s = 0; s < n; s++) {
      items[s] = order[s]!;
      inputs[s] = order[s]!.inputs;
    }
    forget(order);
    itemAt.fill(-1);
  }

  /**
   * The slab that holds the most of the batch's leases (the first item's on a tie), among those that can run a
   * batch. Once a partial launch has split one slab's leases over two batches, every later batch holds the tail
   * of one slab and the head of the next: run from its first item's slab, it finds few items in place and many
   * queued leases to move, and went the copy path every time; from the slab of most of its items it moves few.
   */
  #slabOfMost(items: WorkItem[], name: string): LeaseSlab | undefined {
    let best: LeaseSlab | undefined;
    let bestCount = 0;
    for (let i = 0; i < items.length; i++) {
      const t = items[i]!.inputs[name];
      if (!(t instanceof Lease) || t.ring !== this) continue;
      const slab = t.slab;
      if (slab === undefined || slab.lent || slab.dead) continue;
      let seen = false;
      for (let j = 0; j < i && !seen; j++) {
        const u = items[j]!.inputs[name];
        seen = u instanceof Lease && u.slab === slab;
      }
      if (seen) continue;
      let count = 1;
      for (let j = i + 1; j < items.length; j++) {
        const u = items[j]!.inputs[name];
        if (u instanceof Lease && u.slab === slab) count++;
      }
      if (count > bestCount) {
        best = slab;
        bestCount = count;
      }
    }
    return best;
  }

  #abandon(): undefined {
    this.#itemAt.fill(-1);
    forget(this.#inputs);
    return undefined;
  }

  /** A slab that takes leases from slot 0: a free one, else a new one while the ring may grow. */
  #openSlab(): LeaseSlab | undefined {
    const reused = this.#free.take();
    if (reused !== undefined) return reused;
    if (this.#capacity === 0 || this.#slabs >= this.#maxSlabs) return undefined;
    this.#slabs++;
    return new LeaseSlab(new ArrayBuffer(this.#slabBytes), this.#capacity, this);
  }

  /** The open slab stops taking leases (its slots fill no further); it comes back when its leases are released. */
  #retire(slab: LeaseSlab): void {
    slab.next = slab.capacity;
    if (this.#open === slab) this.#open = undefined;
    if (slab.live === 0 && !slab.lent) this.emptied(slab);
  }

  /**
   * Points a lease of this ring at its slot again after its slab came back from a worker (a new buffer object:
   * the lease's view is of the buffer that left), so that its request can run once more — alone, after its
   * batch failed. Its values are still in its slot: nothing writes a slab's slots while their leases live.
   */
  refresh(lease: Lease): void {
    const slab = lease.slab;
    if (slab !== undefined && !slab.lent && !slab.dead) lease.relocate(slab, lease.slot, this.#view(slab, lease.slot));
  }

  #view(slab: LeaseSlab, slot: number): TensorDataArray {
    return (slab.views[slot] ??= new this.o.ctor(slab.buffer, slot * this.#itemBytes, this.#itemLen));
  }
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * Lets a scratch array hold no request's objects until its next batch, keeping its backing store: emptying it with
 * `length = 0` dropped the store, and the next batch's `length = n` grew a new one (two arrays per staged batch).
 */
function forget(scratch: unknown[]): void {
  for (let i = 0; i < scratch.length; i++) scratch[i] = undefined;
}
