import { describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import { SlabPlans } from './slab-plans.js';
import { stackIntoSlab } from './slab-stack.js';
import type { KnownOutput } from './slab-outputs.js';

const item = (v: number, width = 3): NamedTensors => ({
  x: { type: 'float32', dims: [1, width], data: Float32Array.from({ length: width }, (_, i) => v + i) },
  k: { type: 'int32', dims: [2], data: Int32Array.of(7, 8) },
});
const axes = { x: 0, k: null };
const known: readonly KnownOutput[] = [{ name: 'y', type: 'float32', dims: [1, 2], axis: 0 }];

describe('SlabPlans', () => {
  it('plans a batch size once per model and reuses the plan while batches keep its shape', () => {
    const plans = new SlabPlans();
    const a = plans.plan('m', [item(0), item(10)], axes, known);
    const b = plans.plan('m', [item(20), item(30)], axes, known);
    expect(b).toBe(a);
    expect(a.outputs?.outputs[0]).toMatchObject({ name: 'y', dims: [2, 2], offset: a.layout.bytes });
    // Another size, another model: planned separately.
    expect(plans.plan('m', [item(0)], axes, known)).not.toBe(a);
    expect(plans.plan('other', [item(0), item(1)], axes, known)).not.toBe(a);
  });

  it('plans anew when the dims, tensors, axes or known outputs change, or after the model is forgotten', () => {
    const plans = new SlabPlans();
    const a = plans.plan('m', [item(0), item(1)], axes, known);
    const wider = plans.plan('m', [item(0, 5), item(1, 5)], axes, known);
    expect(wider).not.toBe(a);
    expect(wider.layout.placements[0]!.dims).toEqual([2, 5]);
    const fewer: NamedTensors[] = [{ x: item(0).x! }, { x: item(1).x! }];
    expect(plans.plan('m', fewer, axes, known).layout.placements.map((p) => p.name)).toEqual(['x']);
    const retyped: NamedTensors[] = [0, 1].map((v) => ({ ...item(v), k: { type: 'float32', dims: [2], data: Float32Array.of(7, 8) } }));
    expect(plans.plan('m', retyped, axes, known).layout.placements[1]!.type).toBe('float32');
    const c = plans.plan('m', [item(0), item(1)], { x: 0, k: null }, known);
    expect(c).not.toBe(a); // another axes object: the instance was loaded anew
    expect(plans.plan('m', [item(0), item(1)], c.layout.axes, undefined).outputs).toBeUndefined();
    const d = plans.plan('m', [item(0), item(1)], c.layout.axes, undefined);
    plans.forget('m');
    expect(plans.plan('m', [item(0), item(1)], c.layout.axes, undefined)).not.toBe(d);
  });

  it('stacks each batch from its own items through a reused plan (no data of the batch it was planned for)', () => {
    const plans = new SlabPlans();
    plans.plan('m', [item(0), item(10)], axes, undefined);
    const second: NamedTensors[] = [{ ...item(100), k: { type: 'int32', dims: [2], data: Int32Array.of(5, 6) } }, item(200)];
    const { layout } = plans.plan('m', second, axes, undefined);
    const feeds = stackIntoSlab(new ArrayBuffer(layout.bytes), second, layout);
    expect(Array.from(feeds.x!.data as Float32Array)).toEqual([100, 101, 102, 200, 201, 202]);
    expect(feeds.x!.dims).toEqual([2, 3]);
    expect(Array.from(feeds.k!.data as Int32Array)).toEqual([5, 6]); // a shared tensor is the first item's
  });
});
