import { describe, expect, it } from 'vitest';
import type { TensorLike } from '@epara/core';
import { prepareTransfer } from './transfer.js';
import { concatAlong, sliceAlong, splitTensors, stackTensors } from './stack.js';

describe('string tensors in a batch', () => {
  const item = (...s: string[]): TensorLike => ({ type: 'string', dims: [1, s.length], data: s });

  it('are concatenated along the batch axis as arrays and split back into each request', () => {
    const batch = stackTensors([{ s: item('a', 'b') }, { s: item('日本', '') }, { s: item('🎉', 'z') }], { s: 0 });
    expect(batch['s']).toEqual({ type: 'string', dims: [3, 2], data: ['a', 'b', '日本', '', '🎉', 'z'] });
    expect(splitTensors(batch, 3, { s: 0 }).map((it) => it['s'])).toEqual([item('a', 'b'), item('日本', ''), item('🎉', 'z')]);
  });

  it('along an inner axis, gathered element by element', () => {
    const a: TensorLike = { type: 'string', dims: [2, 1], data: ['a0', 'a1'] };
    const b: TensorLike = { type: 'string', dims: [2, 1], data: ['b0', 'b1'] };
    const joined = concatAlong([a, b], 1);
    expect(joined).toEqual({ type: 'string', dims: [2, 2], data: ['a0', 'b0', 'a1', 'b1'] });
    expect(sliceAlong(joined, 1, 1)).toEqual(b);
  });

  it('cross to a worker by clone: nothing is transferred', () => {
    const { tensors, transfer } = prepareTransfer({ s: item('x'), n: { type: 'int32', dims: [1], data: new Int32Array([1]) } });
    expect(tensors['s']).toEqual(item('x'));
    expect(transfer).toHaveLength(1);
  });
});

describe('Node Buffers in the public stacking helpers', () => {
  it('stack into a plain Uint8Array (never a deprecated Buffer constructor call) and split back', () => {
    const a: TensorLike = { type: 'uint8', dims: [1, 2], data: Buffer.from([1, 2]) };
    const b: TensorLike = { type: 'uint8', dims: [1, 2], data: Buffer.from([3, 4]) };
    const batch = stackTensors([{ u: a }, { u: b }], { u: 0 });
    expect(batch['u']!.data.constructor).toBe(Uint8Array);
    expect(Array.from(batch['u']!.data as Uint8Array)).toEqual([1, 2, 3, 4]);
    const inner = concatAlong([a, b], 1);
    expect(inner.data.constructor).toBe(Uint8Array);
    expect(Array.from(sliceAlong({ type: 'uint8', dims: [2, 2], data: Buffer.from([1, 2, 3, 4]) }, 1, 1).data as Uint8Array)).toEqual([2, 4]);
    expect(sliceAlong({ type: 'uint8', dims: [2, 2], data: Buffer.from([1, 2, 3, 4]) }, 1, 1).data.constructor).toBe(Uint8Array);
  });
});
