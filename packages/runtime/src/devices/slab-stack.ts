import { EparaError, type NamedTensors, type TensorLike, type TensorType } from '@epara/core';
import { product, type BatchAxes } from '../tensors/stack.js';
import { unreadableTensorError } from '../tensors/readable-data.js';

type TypedArrayCtor = { new (buffer: ArrayBuffer, byteOffset: number, length: number): TensorLike['data']; readonly BYTES_PER_ELEMENT: number };

/** Where one stacked tensor of a batch sits in a slab. */
interface Placement {
  readonly name: string;
  readonly type: TensorType;
  /** The first item's dims (every item of a batch has the same). */
  readonly itemDims: readonly number[];
  /** The batch axis, or `null` when the first item's tensor stands for the whole batch (shared, or one item). */
  readonly axis: number | null;
  readonly dims: number[];
  readonly offset: number;
  readonly length: number;
  readonly ctor: TypedArrayCtor;
  /** Already in place (a batch of leases written where it runs): only viewed, never copied. */
  readonly inPlace: boolean;
}

/**
 * A tensor whose items already sit at the front of the slab, one after another (a lease slab's slots): it is
 * placed at offset 0, and the other tensors from `regionBytes` on.
 */
export interface LeadTensor {
  readonly name: string;
  readonly regionBytes: number;
}

/**
 * How a batch lays out in a slab: its tensors at 8-byte-aligned offsets, and the bytes they need. It holds no
 * item's data: a layout serves every later batch it {@link layoutFits} (it is planned once per batch size).
 */
export interface SlabLayout {
  readonly bytes: number;
  readonly placements: readonly Placement[];
  readonly count: number;
  readonly axes: BatchAxes;
}

/**
 * Plans the stacking of per-item tensors (size 1 on each batch axis, as {@link stackTensors} takes them) into
 * one slab. Tensors whose axis is `null` are shared: the first item's is placed once.
 *
 * @throws EparaError `INTERNAL` when the batch is empty.
 */
export function planSlab(items: readonly NamedTensors[], axes: BatchAxes, lead?: LeadTensor): SlabLayout {
  const first = items[0];
  if (!first) throw new EparaError('INTERNAL', 'planSlab: no items');
  const placements: Placement[] = [];
  let offset = lead === undefined ? 0 : lead.regionBytes;
  for (const name of Object.keys(first)) {
    const t = first[name]!;
    const ctor = t.data.constructor as TypedArrayCtor;
    const shared = axes[name] === null || items.length === 1;
    const axis = shared ? null : (axes[name] ?? 0);
    const dims = [...t.dims];
    if (axis !== null) dims[axis] = items.length * (t.dims[axis] ?? 1);
    const length = product(dims);
    const inPlace = name === lead?.name;
    placements.push({ name, type: t.type, itemDims: [...t.dims], axis, dims, offset: inPlace ? 0 : offset, length, ctor, inPlace });
    if (!inPlace) offset += align8(length * ctor.BYTES_PER_ELEMENT);
  }
  return { bytes: offset, placements, count: items.length, axes };
}

/**
 * Whether `layout` (planned for an earlier batch) lays out this batch too: as many items, the same batch axes
 * (the same object) and, in the first item, the same tensors with the same dims and element type. Allocates
 * nothing: it runs for every batch.
 */
export function layoutFits(layout: SlabLayout, items: readonly NamedTensors[], axes: BatchAxes): boolean {
  const first = items[0];
  if (first === undefined || layout.count !== items.length || layout.axes !== axes) return false;
  let names = 0;
  for (const name in first) {
    names++;
    if (names > layout.placements.length) return false;
    const p = layout.placements[names - 1]!;
    const t = first[name]!;
    if (p.name !== name || t.data.constructor !== p.ctor || t.dims.length !== p.itemDims.length) return false;
    for (let d = 0; d < t.dims.length; d++) if (t.dims[d] !== p.itemDims[d]) return false;
  }
  return names === layout.placements.length;
}

/**
 * Writes a batch into `slab` following `layout` (each item's data copied once, straight to its place in the
 * batch) and returns the batch's tensors: views of the slab.
 *
 * @throws EparaError `INTERNAL` when an item lacks a tensor of the first item (callers validate first);
 * `INVALID_INPUT` when an item's array no longer holds its values (detached since it was validated).
 */
export function stackIntoSlab(slab: ArrayBuffer, items: readonly NamedTensors[], layout: SlabLayout): Record<string, TensorLike> {
  const out: Record<string, TensorLike> = {};
  // Indexed, as every loop of the batch path: an iterator is an object per loop wherever the code runs unoptimized.
  for (let i = 0; i < layout.placements.length; i++) {
    const p = layout.placements[i]!;
    const data = new p.ctor(slab, p.offset, p.length);
    place(data, p, items);
    out[p.name] = { type: p.type, dims: p.dims, data };
  }
  return out;
}

/**
 * Writes a batch as {@link stackIntoSlab} does, into `views` (one per placement of `layout`, in its order: views
 * the caller keeps for the buffer, so that a batch makes none), and returns nothing.
 */
export function writeIntoSlab(views: readonly TensorLike['data'][], items: readonly NamedTensors[], layout: SlabLayout): void {
  for (let i = 0; i < layout.placements.length; i++) place(views[i]!, layout.placements[i]!, items);
}

/** The views {@link writeIntoSlab} writes `layout` into, in `slab`. */
export function slabViews(slab: ArrayBufferLike, layout: SlabLayout): TensorLike['data'][] {
  return layout.placements.map((p) => new p.ctor(slab as ArrayBuffer, p.offset, p.length));
}

function place(data: TensorLike['data'], p: Placement, items: readonly NamedTensors[]): void {
  if (p.inPlace) {
    // Written by the hosts into the slab's slots: nothing to copy.
  } else if (p.axis === null) {
    const t = items[0]![p.name]!;
    if (t.data.length !== p.length) throw unreadableTensorError(p.name, t);
    (data as Float32Array).set(t.data as Float32Array);
  } else writeAlong(data, items, p.name, p.axis, p.dims);
}

/** Concatenates the items' tensor `name` along `axis` into `data` (dims: the stacked dims). */
function writeAlong(data: TensorLike['data'], items: readonly NamedTensors[], name: string, axis: number, dims: readonly number[]): void {
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= dims[i]!;
  const rowOut = data.length / outer;
  let offset = 0;
  const perItem = data.length / items.length;
  for (let i = 0; i < items.length; i++) {
    const t = items[i]![name];
    if (!t) throw new EparaError('INTERNAL', `stackIntoSlab: item lacks ${name}`);
    const src = t.data as Float32Array;
    // A detached array reads as empty: copying it would leave the previous batch's values in its place.
    if (src.length !== perItem) throw unreadableTensorError(name, t);
    if (outer === 1) (data as Float32Array).set(src, offset);
    else {
      const row = src.length / outer;
      for (let o = 0; o < outer; o++) (data as Float32Array).set(src.subarray(o * row, (o + 1) * row), o * rowOut + offset);
    }
    offset += src.length / outer;
  }
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
