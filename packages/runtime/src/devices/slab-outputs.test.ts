import { describe, expect, it } from 'vitest';
import { planSlabOutputs, SMALL_ITEM_BYTES, splitSlabOutputs, type KnownOutput } from './slab-outputs.js';

const known: KnownOutput[] = [{ name: 'y', type: 'float32', dims: [1, 2], axis: 0 }];
/** An output too large for the in-heap copy a lone small output gets. */
const wide = SMALL_ITEM_BYTES / 4 + 1;
const knownWide: KnownOutput[] = [{ name: 'y', type: 'float32', dims: [1, wide], axis: 0 }];

/** A slab holding a batch of `count` outputs `y` (item i: 10·i, 10·i + 1, …) at the planned place. */
function slabWith(count: number, k: KnownOutput[] = known): { slab: ArrayBuffer; outputs: ReturnType<typeof planSlabOutputs>['outputs'] } {
  const { outputs, end } = planSlabOutputs(k, count, 16);
  const slab = new ArrayBuffer(end);
  const y = new Float32Array(slab, outputs[0]!.offset, outputs[0]!.length);
  const per = outputs[0]!.length / count;
  for (let i = 0; i < count; i++) for (let e = 0; e < per; e++) y[i * per + e] = 10 * i + e;
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

  it('does the same for items whose parts are larger', () => {
    const { slab, outputs } = slabWith(3, knownWide);
    const items = splitSlabOutputs(slab, outputs, knownWide, 3);
    expect(items.map((o) => (o['y']!.data as Float32Array)[1])).toEqual([1, 11, 21]);
    expect(items.every((o) => o['y']!.data.length === wide)).toBe(true);
    const buffers = new Set(items.map((o) => (o['y']!.data as Float32Array).buffer));
    expect(buffers.size).toBe(1);
    expect(buffers.has(slab)).toBe(false);
    new Float32Array(slab).fill(-1);
    expect((items[2]!['y']!.data as Float32Array)[0]).toBe(20);
  });

  it('reads through the views it is given (a doorbell slot keeps them)', () => {
    const { slab, outputs } = slabWith(2);
    const views = [new Float32Array(slab, outputs[0]!.offset, outputs[0]!.length)];
    const items = splitSlabOutputs(slab, outputs, known, 2, views);
    expect(items.map((o) => Array.from(o['y']!.data as Float32Array))).toEqual([[0, 1], [10, 11]]);
    views[0]!.fill(-1);
    expect(Array.from(items[1]!['y']!.data as Float32Array)).toEqual([10, 11]);
  });

  it('hands the item of a batch of one an array holding exactly its values, apart from the slab, small or not', () => {
    for (const k of [known, knownWide]) {
      const { slab, outputs } = slabWith(1, k);
      const [only] = splitSlabOutputs(slab, outputs, k, 1);
      const data = only!['y']!.data as Float32Array;
      expect(data[1]).toBe(1);
      expect(data.length).toBe(k[0]!.dims[1]);
      expect(data.byteOffset).toBe(0);
      expect(data.buffer.byteLength).toBe(data.byteLength);
      expect(data.buffer).not.toBe(slab);
      expect(only!['y']!.dims).toEqual(k[0]!.dims);
    }
  });
});
