import { describe, expect, it } from 'vitest';
import type { NamedTensors, TensorLike } from '@epara/core';
import { createGraphBuilder, type GraphBuilder } from '@epara/runtime';
import { f32 } from './fixtures/shape-models.js';
import { expectServedAsReference, serveWithReferences, submitAll } from './ground-truth.js';

/*
 * More models met for the first time, each built in code and served with concurrent requests of different values
 * and shapes: every answer must be raw onnxruntime-node's on that request alone, bit for bit. Kinds the other
 * model files do not hold: outputs of five element types on three layouts at once, a batch on the last axis,
 * output sizes set by an input's values (Expand, TopK), a graph output that is a graph input, a model with no
 * inputs at all, a rank-0 model, int16/uint16/uint32, a square matrix input, a bool condition, and single requests at the device slab's
 * size and one row past it.
 */

const model = (name: string, build: (g: GraphBuilder) => void): Uint8Array => {
  const g = createGraphBuilder({ name });
  build(g);
  return g.toBytes();
};
const i64 = (values: readonly bigint[], dims = [values.length]): TensorLike => ({ type: 'int64', dims, data: BigInt64Array.from(values) });

interface Case {
  readonly bytes: Uint8Array;
  readonly item: (seed: number) => NamedTensors;
}

const CASES: Record<string, Case> = {
  /** Outputs of five types on three layouts: bool `[N, 3]`, int8 `[3, N]`, uint8 `[N, 3]`, float16 `[N, 2]`, int64 `[N]`. */
  mixedOutputs: {
    bytes: model('mixed-outputs', (g) => {
      g.input('x', 'float32', ['N', 3]);
      g.input('k', 'uint8', ['N', 3]);
      g.input('h', 'float16', ['N', 2]);
      g.input('i', 'int64', ['N']);
      g.node('Greater', ['x', g.constant('zero', 'float32', [], [0])], ['gt']);
      g.node('Cast', ['x'], ['x8'], { to: 3 }); // int8
      g.node('Transpose', ['x8'], ['i8t'], { perm: [1, 0] });
      g.node('Add', ['k', g.constant('one', 'uint8', [], [1])], ['k1']);
      g.node('Identity', ['h'], ['hh']);
      g.node('ArgMax', ['x'], ['am'], { axis: 1, keepdims: 0 });
      g.node('Mul', ['i', g.constant('two', 'int64', [], [2n])], ['i2']);
      g.output('gt', 'bool', ['N', 3]);
      g.output('i8t', 'int8', [3, 'N']);
      g.output('k1', 'uint8', ['N', 3]);
      g.output('hh', 'float16', ['N', 2]);
      g.output('am', 'int64', ['N']);
      g.output('i2', 'int64', ['N']);
    }),
    item: (s) => ({
      x: f32([1, 3], s),
      k: { type: 'uint8', dims: [1, 3], data: Uint8Array.from([s, 255 - s, 254]) },
      h: { type: 'float16', dims: [1, 2], data: Uint16Array.from([0x3c00 + s, 0x7c00 + (s % 2)]) },
      i: i64([2n ** 61n + BigInt(s)]),
    }),
  },
  /** The batch on the last axis, in and out: `y = 2x` over `x [2, 3, N]`. */
  batchLast: {
    bytes: model('batch-last', (g) => {
      g.input('x', 'float32', [2, 3, 'N']);
      g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['y']);
      g.output('y', 'float32', [2, 3, 'N']);
    }),
    item: (s) => ({ x: f32([2, 3, 1], s) }),
  },
  /** An output whose width an input's values set: `Expand(x [N, 1], shape)` is `[N, shape[1]]`. */
  expandByValue: {
    bytes: model('expand', (g) => {
      g.input('x', 'float32', ['N', 1]);
      g.input('shape', 'int64', [2]);
      g.node('Expand', ['x', 'shape'], ['y']);
      g.output('y', 'float32', ['N', 'W']);
    }),
    item: (s) => ({ x: f32([1, 1], s), shape: i64([1n, BigInt(1 + (s % 3))]) }),
  },
  /** Two outputs of two types whose width an input's values set: TopK with `k` given per request. */
  topkByValue: {
    bytes: model('topk', (g) => {
      g.input('x', 'float32', ['N', 5]);
      g.input('k', 'int64', [1]);
      g.node('TopK', ['x', 'k'], ['values', 'indices'], { axis: 1 });
      g.output('values', 'float32', ['N', 'K']);
      g.output('indices', 'int64', ['N', 'K']);
    }),
    item: (s) => ({ x: f32([1, 5], s), k: i64([BigInt(1 + (s % 4))]) }),
  },
  /** A graph output that is the graph input itself, beside a computed one. */
  passthrough: {
    bytes: model('passthrough', (g) => {
      g.input('x', 'float32', ['N', 4]);
      g.node('Neg', ['x'], ['y']);
      g.output('x', 'float32', ['N', 4]);
      g.output('y', 'float32', ['N', 4]);
    }),
    item: (s) => ({ x: f32([1, 4], s) }),
  },
  /** No inputs at all: every request is `{}` and gets the constant. */
  noInputs: {
    bytes: model('no-inputs', (g) => {
      g.node('Identity', [g.constant('c', 'float32', [2, 2], [1, 2, 3, 4])], ['y']);
      g.output('y', 'float32', [2, 2]);
    }),
    item: () => ({}),
  },
  /** Rank 0 in and out: `y = 2s`. */
  scalarOnly: {
    bytes: model('scalar-only', (g) => {
      g.input('s', 'float32', []);
      g.node('Mul', ['s', g.constant('two', 'float32', [], [2])], ['y']);
      g.output('y', 'float32', []);
    }),
    item: (s) => ({ s: { type: 'float32', dims: [], data: Float32Array.from([s / 4]) } }),
  },
  /** The integer types the dtypes model leaves out, in and out: int16, uint16, uint32 (and an int16 cast to float). */
  smallInts: {
    bytes: model('small-ints', (g) => {
      g.input('a', 'int16', ['N', 3]);
      g.input('b', 'uint16', ['N', 1]);
      g.input('c', 'uint32', ['N', 2]);
      g.node('Identity', ['a'], ['a_out']);
      g.node('Identity', ['b'], ['b_out']);
      g.node('Identity', ['c'], ['c_out']);
      g.node('Cast', ['a'], ['a_f'], { to: 1 });
      g.output('a_out', 'int16', ['N', 3]);
      g.output('b_out', 'uint16', ['N', 1]);
      g.output('c_out', 'uint32', ['N', 2]);
      g.output('a_f', 'float32', ['N', 3]);
    }),
    item: (s) => ({
      a: { type: 'int16', dims: [1, 3], data: Int16Array.from([-32768 + s, 32767 - s, s]) },
      b: { type: 'uint16', dims: [1, 1], data: Uint16Array.from([65535 - s]) },
      c: { type: 'uint32', dims: [1, 2], data: Uint32Array.from([2 ** 32 - 1 - s, s]) },
    }),
  },
  /** A square matrix, its one symbol on both axes (an adjacency, a mask `[seq, seq]`): `y = x·x` over `x [N, N]`. */
  square: {
    bytes: model('square', (g) => {
      g.input('x', 'float32', ['N', 'N']);
      g.node('MatMul', ['x', 'x'], ['y']);
      g.output('y', 'float32', ['N', 'N']);
    }),
    item: (s) => ({ x: f32([1 + (s % 3), 1 + (s % 3)], s) }),
  },
  /** A bool condition: `Where(c, a, b)` over `[N, 3]`. */
  boolWhere: {
    bytes: model('where', (g) => {
      g.input('c', 'bool', ['N', 3]);
      g.input('a', 'float32', ['N', 3]);
      g.input('b', 'float32', ['N', 3]);
      g.node('Where', ['c', 'a', 'b'], ['y']);
      g.output('y', 'float32', ['N', 3]);
    }),
    item: (s) => ({ c: { type: 'bool', dims: [1, 3], data: Uint8Array.from([s % 2, 1, 0]) }, a: f32([1, 3], s), b: f32([1, 3], s + 9) }),
  },
  /** `y = x + 1` over `x [N, R, 4]`: for single requests as large as a device slab (8 MiB), and one row more. */
  large: {
    bytes: model('large', (g) => {
      g.input('x', 'float32', ['N', 'R', 4]);
      g.node('Add', ['x', g.constant('one', 'float32', [], [1])], ['y']);
      g.output('y', 'float32', ['N', 'R', 4]);
    }),
    item: (s) => ({ x: f32([1, 1, 4], s) }),
  },
};

describe('more models met for the first time, served as raw onnxruntime-node answers them', () => {
  const rig = serveWithReferences(CASES);

  it.each(rig.names.filter((n) => n !== 'large'))('%s: each of concurrent requests gets its own answer', async (name) => {
    const c = CASES[name]!;
    // Fresh items per round: the executor may take over a request's buffers.
    const items = (): NamedTensors[] => Array.from({ length: 6 }, (_, k) => c.item(k + 1));
    await expectServedAsReference(rig.executor, name, rig.ref(name), items());
    await expectServedAsReference(rig.executor, name, rig.ref(name), items());
  });

  it('requests whose values set an output size never share a run with requests of other values', async () => {
    for (const name of ['expandByValue', 'topkByValue']) {
      const served = await submitAll(rig.executor, name, [1, 2, 3, 4, 5, 6].map((k) => CASES[name]!.item(k)));
      expect(served.results.every((r) => r.ok)).toBe(true);
      const widths = served.results.map((r) => (r.ok ? Object.values(r.outputs)[0]!.dims[1] : -1));
      expect(new Set(widths).size).toBeGreaterThan(1);
    }
  });

  it('a square input ([N, N]) is no batch: any size is served, rows and columns that differ are INVALID_INPUT naming the symbol', async () => {
    const served = await submitAll(rig.executor, 'square', [{ x: f32([2, 3], 1) }]);
    const r = served.results[0]!;
    expect(r.ok ? 'ok' : `${r.error.code} ${r.error.message}`).toMatch(/^INVALID_INPUT .*'N'/);
  });

  it('serves single requests of the device slab size (8 MiB of input) and one row more; a request of many items is INVALID_INPUT', async () => {
    const rows = (8 * 1024 * 1024) / 16;
    for (const n of [rows, rows + 1]) await expectServedAsReference(rig.executor, 'large', rig.ref('large'), [{ x: f32([1, n, 4], n) }]);
    // A request is one item: 4096 items in one request are refused, typed, naming the batch axis.
    const many = await submitAll(rig.executor, 'mixedOutputs', [{ ...CASES['mixedOutputs']!.item(1), x: f32([4096, 3], 1) }]);
    const r = many.results[0]!;
    expect(r.ok ? 'ok' : `${r.error.code} ${r.error.message}`).toMatch(/^INVALID_INPUT .*'x' dim 0 is 4096/);
  }, 60_000);
});
