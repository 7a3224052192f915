import type { NamedTensors, NumericTensorType, TensorDataArray, TensorLike } from '@epara/core';
import { product } from '../tensors/stack.js';

/**
 * An output whose per-item shape is known before the run (every dim fixed but the batch axis): a device can
 * have the backend write it straight into the batch's slab, then hand each request a copy of its slice.
 */
export interface KnownOutput {
  readonly name: string;
  readonly type: NumericTensorType;
  /** Per-item dims: size 1 on `axis`, every other dim fixed. Handed, frozen, to every request. */
  readonly dims: readonly number[];
  /** The batch axis, or `null` for an output the whole batch shares (every request gets the same copy). */
  readonly axis: number | null;
}

/** Where one output of a batch sits in a slab (the request message carries these to the worker). */
export interface SlabOutput {
  readonly name: string;
  readonly type: NumericTensorType;
  /** Dims of the batch's output. */
  readonly dims: readonly number[];
  /** Byte offset in the slab (8-byte aligned). */
  readonly offset: number;
  /** Elements. */
  readonly length: number;
}

type TypedCtor = { new (buffer: ArrayBuffer, byteOffset: number, length: number): TensorDataArray; readonly BYTES_PER_ELEMENT: number };

export const VIEW_CTOR: Record<NumericTensorType, TypedCtor> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int8: Int8Array,
  float16: Uint16Array,
  int16: Int16Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
};

/** Places a batch of `count` items' outputs in a slab from byte `start` on; returns the end offset too. */
export function planSlabOutputs(known: readonly KnownOutput[], count: number, start: number): { outputs: SlabOutput[]; end: number } {
  const outputs: SlabOutput[] = [];
  let offset = start;
  for (const k of known) {
    const dims = [...k.dims];
    if (k.axis !== null) dims[k.axis] = count;
    const length = product(dims);
    outputs.push({ name: k.name, type: k.type, dims, offset, length });
    offset += align8(length * VIEW_CTOR[k.type].BYTES_PER_ELEMENT);
  }
  return { outputs, end: offset };
}

/** The tensors of `outputs` as views of `slab` (what the worker hands the backend to write into). */
export function slabOutputViews(slab: ArrayBuffer, outputs: readonly SlabOutput[]): Record<string, TensorLike> {
  const out: Record<string, TensorLike> = {};
  for (const o of outputs) out[o.name] = { type: o.type, dims: o.dims, data: new VIEW_CTOR[o.type](slab, o.offset, o.length) };
  return out;
}

/**
 * Each request's outputs, copied out of the slab (which goes back to the pool and is overwritten by a later
 * batch); the per-item dims are shared (frozen). Each output of the batch is copied once, into a buffer the
 * requests own together, and each request gets a view of its part (one small object per request instead of a
 * buffer per request) — except the lone request of a batch of one whose output is small (at most
 * {@link SMALL_ITEM_BYTES}), which gets an array V8 keeps inside its heap (no `ArrayBuffer` backing store for the
 * collector to track). A shared output (axis `null`) is given whole to every request. Along an axis with dims
 * before it, each request's strided slice is gathered into an array of its own. `views`, when given, are the
 * outputs' views of `slab` in the order of `outputs` (a doorbell slot keeps them: none made per batch).
 */
export function splitSlabOutputs(
  slab: ArrayBufferLike,
  outputs: readonly SlabOutput[],
  known: readonly KnownOutput[],
  count: number,
  views?: readonly TensorDataArray[],
): Record<string, TensorLike>[] {
  const items: Record<string, TensorLike>[] = new Array(count);
  for (let i = 0; i < count; i++) items[i] = {};
  for (let j = 0; j < outputs.length; j++) {
    const o = outputs[j]!;
    const k = known[j]!;
    const view = views?.[j] ?? new VIEW_CTOR[o.type](slab as ArrayBuffer, o.offset, o.length);
    let outer = 1;
    for (let d = 0; k.axis !== null && d < k.axis; d++) outer *= o.dims[d]!;
    const inner = o.length / outer / count;
    if (count === 1 && k.axis !== null && o.length * view.BYTES_PER_ELEMENT <= SMALL_ITEM_BYTES && !isBigIntArray(view)) {
      // Filled element by element: a subarray to copy from would be one more object. (For a batch of several,
      // an array per request costs more heap than a view of one shared copy: V8 gives each its own buffer object.)
      const data = new (VIEW_CTOR[o.type] as unknown as new (length: number) => Float32Array)(o.length);
      for (let e = 0; e < o.length; e++) data[e] = (view as Float32Array)[e]!;
      items[0]![o.name] = { type: o.type, dims: k.dims, data };
      continue;
    }
    const copy = view.slice() as TensorDataArray;
    if (k.axis === null) {
      const whole: TensorLike = { type: o.type, dims: k.dims, data: copy };
      for (let i = 0; i < count; i++) items[i]![o.name] = whole;
      continue;
    }
    for (let i = 0; i < count; i++) {
      // A batch of one owns the whole copy: no view of it (a typed array is about 100 bytes of heap).
      const data = count === 1 ? copy : outer === 1 ? (copy.subarray(i * inner, (i + 1) * inner) as TensorDataArray) : gather(copy, outer, inner, count, i);
      items[i]![o.name] = { type: o.type, dims: k.dims, data };
    }
  }
  return items;
}

/**
 * Bytes of a lone request's output up to which it is copied into an array V8 keeps inside its heap (typed arrays
 * up to 64 bytes: no backing store outside the heap).
 */
export const SMALL_ITEM_BYTES = 64;

function isBigIntArray(a: TensorDataArray): boolean {
  return a instanceof BigInt64Array || a instanceof BigUint64Array;
}

/** Item `i`'s elements: `outer` runs of `inner` elements, strided by `count · inner`. */
function gather(batch: TensorDataArray, outer: number, inner: number, count: number, i: number): TensorLike['data'] {
  const Ctor = batch.constructor as new (n: number) => TensorDataArray;
  const data = new Ctor(outer * inner);
  for (let o = 0; o < outer; o++) {
    const from = (o * count + i) * inner;
    (data as Float32Array).set((batch as Float32Array).subarray(from, from + inner), o * inner);
  }
  return data;
}

/**
 * Whether the backend's answer matches the plan (same names, same dims): a backend that ignored or resized a
 * pre-allocated output cannot be read from the slab.
 */
export function matchesPlan(result: NamedTensors, outputs: readonly SlabOutput[]): boolean {
  for (const o of outputs) {
    const t = result[o.name];
    if (t === undefined || t.dims.length !== o.dims.length) return false;
    for (let d = 0; d < o.dims.length; d++) if (t.dims[d] !== o.dims[d]) return false;
  }
  return true;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
