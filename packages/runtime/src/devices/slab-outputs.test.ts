import { describe, expect, it } from 'vitest';
import { planSlabOutputs, splitSlabOutputs, type KnownOutput } from './slab-outputs.js';

const known: KnownOutput[] = [{ name: 'y', type: 'float32', dims: [1, 2], axis: 0 }];

/** A slab holding a batch of `count` outputs `y` (item i: [10·i, 10·i + 1]) at the planned place. */
function slabWith(count: number): { slab: ArrayBuffer; outputs: ReturnType<typeof planSlabOutputs>['outputs'] } {
  const { outputs, end } = planSlabOutputs(known, count, 16);
  const slab = new ArrayBuffer(end);
  const y = new Float32Array(slab, outputs[0]!.offset, outputs[0]!.length);
  for (let i = 0; i < count; i++) y.set([10 * i, 10 * i + 1], 2 * i);
  return { slab, outputs };
}

describe('splitSlabOutputs', () => {
  it('gives each item of a batch a view of its own slice of one copy, detached from the slab', () => {
    const { slab, outputs } = slabWith(3);
    const items = splitSlabOutputs(slab, outputs, known, 3);
    expect(items.map((o) => Array.from(o['y']!.data as Float32Array))).toEqual([[0, 1], [10, 11], [20, 21]]);
    const buffers = new Set(items.map((o) => (o['y']!.data as Float32Array).buffer));
    expect(buffers.size).toBe(1);
    expect(buffers.has(slab)).toBe(false);
    new Float32Array(slab).fill(-1); // the slab is reused by the next batch
    expect(Array.from(items[2]!['y']!.data as Float32Array)).toEqual([20, 21]);
  });

  it('hands the item of a batch of one an array holding exactly its values, apart from the slab', () => {
    const { slab, outputs } = slabWith(1);
    const [only] = splitSlabOutputs(slab, outputs, known, 1);
    const data = only!['y']!.data as Float32Array;
    expect(Array.from(data)).toEqual([0, 1]);
    expect(data.byteOffset).toBe(0);
    expect(data.buffer.byteLength).toBe(data.byteLength);
    expect(data.buffer).not.toBe(slab);
    expect(only!['y']!.dims).toEqual([1, 2]);
  });
});
