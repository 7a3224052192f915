import { describe, expect, it } from 'vitest';
import type { NamedTensors, TensorLike } from '@epara/core';
import { createGraphBuilder, encodeModel, type GraphBuilder, type OnnxModel } from '@epara/runtime';
import { f32 } from './fixtures/shape-models.js';
import { expectServedAsReference, serveWithReferences, submitAll } from './ground-truth.js';

/*
 * Models whose outputs' sizes depend on the values (NonMaxSuppression, NonZero, TopK with k from the request,
 * Unique, an If whose branches answer other widths), with the output shapes exporters write for them: open, named
 * like the batch, or fixed to what the export traced (sizes the model does not keep). Where an output's size looks
 * known the executor has onnxruntime write it into the batch's slab; every such run that cannot must fall back to
 * onnxruntime's own outputs — batched or not, by message or through input leases — and a batch is never split along
 * a leading dim that is not the batch. Every answer must be raw onnxruntime-node's on that request alone.
 */

const model = (name: string, build: (g: GraphBuilder) => void, o?: { opset?: number }, edit?: (m: OnnxModel) => void): Uint8Array => {
  const g = createGraphBuilder({ name });
  build(g);
  const m = g.toModel(o);
  edit?.(m);
  return encodeModel(m);
};
const i64 = (values: readonly bigint[], dims = [values.length]): TensorLike => ({ type: 'int64', dims, data: BigInt64Array.from(values) });
/** Seeded values in [0, 1): boxes and scores. */
const unit = (dims: number[], seed: number): TensorLike => {
  let x = seed * 7919 + 13;
  const n = dims.reduce((a, b) => a * b, 1);
  return { type: 'float32', dims, data: Float32Array.from({ length: n }, () => ((x = (x * 9301 + 49297) % 233280) / 233280)) };
};
/** NonMaxSuppression (up to 3 boxes a class) with its output `selected [?, 3]` declared `dims`. */
const nms = (dims: (string | number | null)[]): Uint8Array =>
  model('nms', (g) => {
    g.input('boxes', 'float32', ['batch', 'num_boxes', 4]);
    g.input('scores', 'float32', ['batch', 1, 'num_boxes']);
    const consts = [g.constant('max', 'int64', [1], [3]), g.constant('iou', 'float32', [1], [0.5]), g.constant('threshold', 'float32', [1], [0.2])];
    g.node('NonMaxSuppression', ['boxes', 'scores', ...consts], ['selected']);
    g.output('selected', 'int64', dims);
  });
const boxes = (s: number): NamedTensors => ({ boxes: unit([1, 5 + (s % 3), 4], s), scores: unit([1, 1, 5 + (s % 3)], s + 50) });
/** Six values, every third from `s` on zero. */
const sparse = (s: number): TensorLike => ({ type: 'float32', dims: [1, 6], data: Float32Array.from({ length: 6 }, (_, i) => ((i + s) % 3 === 0 ? 0 : i + s)) });

interface Case {
  readonly bytes: Uint8Array;
  readonly item: (seed: number) => NamedTensors;
  readonly separable: boolean;
}

const CASES: Record<string, Case> = {
  /** The selected rows declared as the batch (`['batch', 3]`): a name that lies. */
  nmsNamedBatch: { bytes: nms(['batch', 3]), item: boxes, separable: false },
  /** The count the export traced (`[2, 3]`): the slab's plan is right only when a request selects two. */
  nmsTraced: { bytes: nms([2, 3]), item: boxes, separable: false },
  /** A traced count of one (`[1, 3]`): a leading 1 reads like one row per request. */
  nmsTracedOne: { bytes: nms([1, 3]), item: boxes, separable: false },
  /** TopK with k from the request, declared with the k it was traced with (`[N, 3]`): rows stack, widths follow k. */
  topKTraced: {
    bytes: model('top-k-traced', (g) => {
      g.input('x', 'float32', ['N', 10]);
      g.input('k', 'int64', [1]);
      g.node('TopK', ['x', 'k'], ['values', 'indices'], { axis: 1 });
      g.output('values', 'float32', ['N', 3]);
      g.output('indices', 'int64', ['N', 3]);
    }),
    item: (s) => ({ x: f32([1, 10], s), k: i64([BigInt(1 + (s % 3) * 2)]) }),
    separable: true,
  },
  /** The non-zero positions as rows, declared one per item (`['N', 2]`). */
  nonZeroRows: {
    bytes: model('non-zero-rows', (g) => {
      g.input('x', 'float32', ['N', 6]);
      g.node('NonZero', ['x'], ['nz']);
      g.node('Transpose', ['nz'], ['y'], { perm: [1, 0] });
      g.output('y', 'int64', ['N', 2]);
    }),
    item: (s) => ({ x: sparse(s) }),
    separable: false,
  },
  /** The distinct values and their counts, declared one per item (`['N']`). */
  unique: {
    bytes: model('unique', (g) => {
      g.input('x', 'int64', ['N', 6]);
      g.node('Unique', ['x'], ['u', 'idx', 'inv', 'cnt'], { sorted: 1 });
      g.output('u', 'int64', ['N']);
      g.output('cnt', 'int64', ['N']);
    }),
    item: (s) => ({ x: i64([1n, BigInt(s % 2), 3n, 1n, BigInt(s), 2n], [1, 6]) }),
    separable: false,
  },
  /** An If on a shared flag: `-x [N, 4]` or `[x, x] [N, 8]`, declared `[N, 4]` (a width the else branch does not keep). */
  ifWidth: {
    bytes: model('if-width', (g) => {
      g.input('x', 'float32', ['N', 4]);
      g.input('c', 'bool', []);
      g.output('y', 'float32', ['N', 4]);
    }, { opset: 17 }, (m) => {
      const branch = (name: string, node: { opType: string; input: string[]; output: string[]; attribute?: { name: string; type: number; i: number }[] }) => ({
        name,
        node: [node],
        output: [{ name: node.output[0]!, type: { tensorType: { elemType: 1 } } }],
      });
      m.graph!.node!.push({
        opType: 'If',
        input: ['c'],
        output: ['y'],
        attribute: [
          { name: 'then_branch', type: 5, g: branch('then', { opType: 'Neg', input: ['x'], output: ['t'] }) },
          { name: 'else_branch', type: 5, g: branch('else', { opType: 'Concat', input: ['x', 'x'], output: ['e'], attribute: [{ name: 'axis', type: 2, i: 1 }] }) },
        ],
      });
    }),
    item: (s) => ({ x: f32([1, 4], s), c: { type: 'bool', dims: [], data: new Uint8Array([s % 3 === 0 ? 0 : 1]) } }),
    // Rows stay rows on both branches; requests batch with their flag's equals (a shared scalar is keyed by value).
    separable: true,
  },
};

describe('outputs whose sizes the values decide, served as raw onnxruntime-node answers them', () => {
  const rig = serveWithReferences(CASES);
  const names = rig.names;

  it.each(names)('%s: concurrent requests, each its own answer, batched only when separable', async (name) => {
    const c = CASES[name]!;
    const sizes: number[] = [];
    for (let round = 0; round < 3; round++) {
      const served = await expectServedAsReference(rig.executor, name, rig.ref(name), Array.from({ length: 8 }, (_, k) => c.item(k + 1 + round)));
      sizes.push(...served.batchSizes);
    }
    expect(Math.max(...sizes) > 1).toBe(c.separable);
  });

  it.each(names)('%s: the same through input leases (the batch runs from the lease slab)', async (name) => {
    const c = CASES[name]!;
    const items = Array.from({ length: 8 }, (_, k) => c.item(k + 20));
    const ref = rig.ref(name);
    const expected: NamedTensors[] = [];
    for (const it of items) expected.push(await ref.run(it));
    const leased = items.map((it) => {
      const out: Record<string, TensorLike> = {};
      for (const [input, t] of Object.entries(it)) {
        const lease = rig.executor.allocateInput(name, input, t.dims);
        (lease.data as Float32Array).set(t.data as Float32Array);
        out[input] = lease as unknown as TensorLike;
      }
      return out;
    });
    const served = await submitAll(rig.executor, name, leased);
    served.results.forEach((r, i) => {
      if (!r.ok) throw new Error(`request ${i} failed: ${r.error.code} ${r.error.message}`);
      expect(Object.keys(r.outputs).sort()).toEqual(Object.keys(expected[i]!).sort());
      for (const [out, e] of Object.entries(expected[i]!)) {
        expect([...r.outputs[out]!.dims], out).toEqual([...e.dims]);
        expect(Array.from(r.outputs[out]!.data as ArrayLike<unknown>), out).toEqual(Array.from(e.data as ArrayLike<unknown>));
      }
    });
  });
});
