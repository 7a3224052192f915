import { EparaError, type NamedTensors, type TensorLike } from '@epara/core';
import { holdsItsData, unreadableTensorError } from './readable-data.js';

/** Where each tensor's batch dimension sits: an axis, or `null` for a tensor shared by the whole batch. */
export type BatchAxes = Readonly<Record<string, number | null>>;

/**
 * Stacks per-item tensors (each with size 1 on its batch axis) into one batch. Tensors whose axis is `null`
 * are shared: the first item's is used (callers only group items whose shared tensors are equal).
 *
 * @throws EparaError `INTERNAL` if items disagree on names (callers validate first); `INVALID_INPUT` when an
 * item's array no longer holds its values (detached).
 */
export function stackTensors(items: readonly NamedTensors[], axes: BatchAxes): Record<string, TensorLike> {
  const first = items[0];
  if (!first) throw new EparaError('INTERNAL', 'stackTensors: no items');
  const out: Record<string, TensorLike> = {};
  for (const [name, t0] of Object.entries(first)) {
    const axis = axes[name] ?? 0;
    if (axes[name] === null || items.length === 1) {
      out[name] = t0;
      continue;
    }
    const parts = items.map((it) => {
      const t = it[name];
      if (!t) throw new EparaError('INTERNAL', `stackTensors: item lacks ${name}`);
      if (!holdsItsData(t)) throw unreadableTensorError(name, t);
      return t;
    });
    out[name] = concatAlong(parts, axis);
  }
  return out;
}

/** Concatenates tensors along `axis` (all other dims equal). */
export function concatAlong(parts: readonly TensorLike[], axis: number): TensorLike {
  const t0 = parts[0]!;
  const dims = [...t0.dims];
  const outer = product(dims.slice(0, axis));
  let total = 0;
  for (const p of parts) total += p.dims[axis] ?? 1;
  dims[axis] = total;
  // A string tensor's data is a plain array (no slab, no typed view): its elements are copied one by one.
  const data = Array.isArray(t0.data) ? new Array<string>(product(dims)) : new (arrayClass(t0.data) as new (n: number) => Float32Array)(product(dims));
  const rowOut = product(dims.slice(axis));
  let offset = 0;
  for (const p of parts) {
    const row = (p.dims[axis] ?? 1) * product(p.dims.slice(axis + 1));
    for (let o = 0; o < outer; o++) {
      if (Array.isArray(data)) for (let k = 0; k < row; k++) data[o * rowOut + offset + k] = (p.data as readonly string[])[o * row + k]!;
      else data.set((p.data as Float32Array).subarray(o * row, (o + 1) * row), o * rowOut + offset);
    }
    offset += row;
  }
  return { type: t0.type, dims, data };
}

/**
 * Splits batch outputs back into `count` items along each output's batch axis. Axis-0 slices are views of
 * the batch buffer (no copy); other axes are gathered into new arrays. `null` axes are given whole to every
 * item.
 *
 * @throws EparaError `MODEL_ERROR` when an output's batch dimension is not `count`.
 */
export function splitTensors(outputs: NamedTensors, count: number, axes: BatchAxes): Record<string, TensorLike>[] {
  const items: Record<string, TensorLike>[] = Array.from({ length: count }, () => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    const axis = Object.hasOwn(axes, name) ? axes[name]! : 0;
    if (axis === null || t.dims.length === 0) {
      for (const it of items) it[name] = t;
      continue;
    }
    if (t.dims[axis] !== count) {
      throw new EparaError('MODEL_ERROR', `output ${name} has ${t.dims[axis]} on its batch axis ${axis}, expected ${count}`, {
        output: name,
        dims: [...t.dims],
      });
    }
    // One item along a leading axis: the item is the whole tensor (what sliceAlong's view would span).
    if (count === 1 && (axis === 0 || product(t.dims.slice(0, axis)) === 1)) items[0]![name] = { type: t.type, dims: [...t.dims], data: t.data };
    else for (let i = 0; i < count; i++) items[i]![name] = sliceAlong(t, axis, i);
  }
  return items;
}

/** Item `index` of a tensor along `axis`, with size 1 on that axis. */
export function sliceAlong(t: TensorLike, axis: number, index: number): TensorLike {
  const dims = [...t.dims];
  const n = dims[axis]!;
  dims[axis] = 1;
  const inner = product(t.dims.slice(axis + 1));
  const outer = product(t.dims.slice(0, axis));
  if (Array.isArray(t.data)) {
    const strings = t.data as readonly string[];
    const data: string[] = [];
    for (let o = 0; o < outer; o++) for (let k = (o * n + index) * inner, end = k + inner; k < end; k++) data.push(strings[k]!);
    return { type: t.type, dims, data };
  }
  const typed = t.data as Float32Array;
  if (outer === 1) {
    // A Buffer's subarray is a Buffer: the item gets a plain view of the same memory.
    return { type: t.type, dims, data: plainView(typed.subarray(index * inner, (index + 1) * inner)) };
  }
  const Ctor = arrayClass(typed) as new (n: number) => Float32Array;
  const data = new Ctor(outer * inner);
  for (let o = 0; o < outer; o++) {
    const from = (o * n + index) * inner;
    data.set(typed.subarray(from, from + inner), o * inner);
  }
  return { type: t.type, dims, data };
}

/** Product of dimensions (1 for a scalar). */
export function product(dims: readonly number[]): number {
  let p = 1;
  for (let i = 0; i < dims.length; i++) p *= dims[i]!;
  return p;
}

/** `data` itself, or for a Node `Buffer` a plain `Uint8Array` view of the same memory (no copy). */
export function plainView<D extends TensorLike['data']>(data: D): D {
  return typeof Buffer !== 'undefined' && Buffer.isBuffer(data) ? (new Uint8Array(data.buffer, data.byteOffset, data.byteLength) as D) : data;
}

/**
 * The class to make a new array of a tensor's element type with: its own, but a plain `Uint8Array` for a Node
 * `Buffer` (whose constructor is deprecated and makes Buffers, whose `slice` shares memory).
 */
function arrayClass(data: object): new (n: number) => unknown {
  return typeof Buffer !== 'undefined' && Buffer.isBuffer(data) ? Uint8Array : (data.constructor as new (n: number) => unknown);
}
