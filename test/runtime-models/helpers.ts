import type { NamedTensors, TensorLike } from '@epara/core';
import { fakeModelBytes } from '@epara/runtime';

/** One float32 item `[1, ...shape]` with deterministic values. */
export function floatItem(name: string, shape: number[], seed: number): NamedTensors {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 131 + i * 0.37));
  return { [name]: { type: 'float32', dims: [1, ...shape], data } };
}

/** Largest absolute difference between two tensors' elements (Infinity when shapes differ). */
export function maxAbsDiff(a: TensorLike, b: TensorLike): number {
  if (a.dims.join(',') !== b.dims.join(',')) return Infinity;
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  return m;
}

/** Elements of a tensor as numbers. */
export function values(t: TensorLike): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** A fake-backend model `to = from · scale + offset` over `[batch, width]` float32. */
export function fakeAffine(from: string, to: string, o: { scale?: number; offset?: number; fixedMs?: number; failIfAnyEquals?: number; width?: number } = {}): Uint8Array {
  return fakeModelBytes({
    inputs: [{ name: from, type: 'float32', dims: ['batch', o.width ?? 2] }],
    outputs: [{ name: to, from, scale: o.scale ?? 1, offset: o.offset ?? 0 }],
    fixedMs: o.fixedMs ?? 0,
    ...(o.failIfAnyEquals === undefined ? {} : { failIfAnyEquals: o.failIfAnyEquals }),
  });
}

/** Resolves with the error a promise rejects with (fails when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<{ code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string };
  }
  throw new Error('expected a rejection');
}
