import { afterEach, describe, expect, it } from 'vitest';
import type { NamedTensors, TensorLike } from '@epara/core';
import { createDevice, createGraphBuilder, encodeModel, type DeviceHandle } from '@epara/runtime';

/*
 * String tensors on a real device: a batch of string requests takes the copy path (concatenated as arrays,
 * never laid in an input slab), and a string output comes back as each request's own array.
 */

/** s string[b] → Identity → t string[b], beside x float32[b] → Identity → y. */
function stringModel(): Uint8Array {
  const g = createGraphBuilder({ name: 'strings' });
  g.input('s', 'float32', ['b']);
  g.input('x', 'float32', ['b']);
  g.node('Identity', ['s'], ['t']);
  g.node('Identity', ['x'], ['y']);
  g.output('t', 'float32', ['b']);
  g.output('y', 'float32', ['b']);
  const m = g.toModel();
  const retype = <V extends { name?: string; type?: { tensorType?: object } }>(v: V): V =>
    v.name === 's' || v.name === 't' ? { ...v, type: { tensorType: { ...v.type!.tensorType!, elemType: 8 } } } : v;
  return encodeModel({ ...m, graph: { ...m.graph!, input: m.graph!.input!.map(retype), output: m.graph!.output!.map(retype) } });
}

const item = (s: string, x: number): NamedTensors => ({
  s: { type: 'string', dims: [1], data: [s] },
  x: { type: 'float32', dims: [1], data: new Float32Array([x]) },
});

describe('string tensors on a device', () => {
  const devices: DeviceHandle[] = [];
  afterEach(async () => {
    await Promise.all(devices.splice(0).map((d) => d.close()));
  });

  it('runs a batch of string requests by the copy path and gives each its own strings', async () => {
    const d = createDevice({ id: 'str', threads: 1 });
    devices.push(d);
    const info = await d.loadModel('m', { bytes: stringModel() });
    expect(info.inputs.find((i) => i.name === 's')?.type).toBe('string');
    const words = ['héllo', '', '日本 🎉', 'x'.repeat(1000)];
    const batch = words.map((w, i) => item(w, i));
    if (!d.runBatch) throw new Error('createDevice devices run batches');
    const run = await d.runBatch('m', batch, { s: 0, x: 0 }, {});
    expect(run.outputs['t']).toEqual({ type: 'string', dims: [4], data: words } satisfies TensorLike);
    expect(Array.from(run.outputs['y']!.data as Float32Array)).toEqual([0, 1, 2, 3]);
    // The callers' arrays are untouched, and no input slab was used.
    expect(batch.map((b) => b['s']!.data)).toEqual(words.map((w) => [w]));
    const slabs = d.inputSlabs?.();
    expect(slabs).toBeDefined();
    expect(slabs?.slabRuns).toBe(0);
  });
});
