import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors, TensorLike } from '@epara/core';
import { createGraphBuilder, type Executor, type GraphBuilder } from '@epara/runtime';
import { expectServedAsReference, reference, service, startExecutor, submitAll, type Reference } from './ground-truth.js';

/*
 * Shapes a model met for the first time may have: no batch dim, a fixed batch of one, symbolic dims named
 * differently per input, dims that must agree across inputs, scalars, outputs whose first dim is not the
 * request's (a reduction across the batch, a concatenation), and outputs whose shape depends on the data.
 * Each is served with several concurrent requests of different values; every answer must be raw
 * onnxruntime-node's on that request alone, and what must not be batched is not.
 */

const f32 = (dims: number[], seed: number): TensorLike => {
  const n = dims.reduce((a, b) => a * b, 1);
  return { type: 'float32', dims, data: Float32Array.from({ length: n }, (_, i) => Math.round(Math.sin(seed * 17 + i * 3.1) * 100) / 8) };
};
const model = (name: string, build: (g: GraphBuilder) => void): Uint8Array => {
  const g = createGraphBuilder({ name });
  build(g);
  return g.toBytes();
};

const MODELS = {
  /** No batch dim at all: `y = 2x` over `x f32[3, 4]`. */
  unbatched: model('unbatched', (g) => {
    g.input('x', 'float32', [3, 4]);
    g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['y']);
    g.output('y', 'float32', [3, 4]);
  }),
  /** A fixed batch of one: `y = x + 1` over `x f32[1, 5]`. */
  batchOfOne: model('batch-of-one', (g) => {
    g.input('x', 'float32', [1, 5]);
    g.node('Add', ['x', g.constant('one', 'float32', [], [1])], ['y']);
    g.output('y', 'float32', [1, 5]);
  }),
  /** Two inputs whose batch dims carry different names: `y = a + b`. */
  namedApart: model('named-apart', (g) => {
    g.input('a', 'float32', ['n', 4]);
    g.input('b', 'float32', ['batch_size', 4]);
    g.node('Add', ['a', 'b'], ['y']);
    g.output('y', 'float32', ['n', 4]);
  }),
  /** Dims that must agree across inputs: `y = a · b` over `[N, seq]` each. */
  agreeing: model('agreeing', (g) => {
    g.input('a', 'float32', ['N', 'seq']);
    g.input('b', 'float32', ['N', 'seq']);
    g.node('Mul', ['a', 'b'], ['y']);
    g.output('y', 'float32', ['N', 'seq']);
  }),
  /** A scalar input beside a batched one, and a scalar output: `y = x · s`, `t = 2s`. */
  scalars: model('scalars', (g) => {
    g.input('x', 'float32', ['N', 4]);
    g.input('s', 'float32', []);
    g.node('Mul', ['x', 's'], ['y']);
    g.node('Mul', ['s', g.constant('two', 'float32', [], [2])], ['t']);
    g.output('y', 'float32', ['N', 4]);
    g.output('t', 'float32', []);
  }),
  /** Scalars only: `y = x²`. */
  scalarOnly: model('scalar-only', (g) => {
    g.input('x', 'float32', []);
    g.node('Mul', ['x', 'x'], ['y']);
    g.output('y', 'float32', []);
  }),
  /** A sum across the batch, declared with the batch's name (the names lie): `y[0] = Σ_n x[n]`. */
  batchSumNamed: model('batch-sum-named', (g) => {
    g.input('x', 'float32', ['N', 4]);
    g.node('ReduceSum', ['x', g.constant('axes', 'int64', [1], [0])], ['y'], { keepdims: 1 });
    g.output('y', 'float32', ['N', 4]);
  }),
  /** The same sum declared `[1, 4]`. */
  batchSum: model('batch-sum', (g) => {
    g.input('x', 'float32', ['N', 4]);
    g.node('ReduceSum', ['x', g.constant('axes', 'int64', [1], [0])], ['y'], { keepdims: 1 });
    g.output('y', 'float32', [1, 4]);
  }),
  /** Twice the rows: `y = concat(x, x)` along the batch, declared under another name. */
  doubled: model('doubled', (g) => {
    g.input('x', 'float32', ['N', 3]);
    g.node('Concat', ['x', 'x'], ['y'], { axis: 0 });
    g.output('y', 'float32', ['M', 3]);
  }),
  /** Dims left unnamed everywhere: `y = xᵀ` over `x f32[?, ?]`. */
  anonymous: model('anonymous', (g) => {
    g.input('x', 'float32', [null, null]);
    g.node('Transpose', ['x'], ['y'], { perm: [1, 0] });
    g.output('y', 'float32', [null, null]);
  }),
  /** A data-dependent shape: the indices of the non-zero values, `[2, nnz]`. */
  nonZero: model('non-zero', (g) => {
    g.input('x', 'float32', ['N', 6]);
    g.node('NonZero', ['x'], ['y']);
    g.output('y', 'int64', [2, 'nnz']);
  }),
  /** TopK with k from the request: `[N, k]` values and indices. */
  topK: model('top-k', (g) => {
    g.input('x', 'float32', ['N', 10]);
    g.input('k', 'int64', [1]);
    g.node('TopK', ['x', 'k'], ['values', 'indices'], { axis: 1 });
    g.output('values', 'float32', ['N', 'k']);
    g.output('indices', 'int64', ['N', 'k']);
  }),
  /** Time-major, the batch second: a running sum over time, `y[t, n] = Σ_{s≤t} x[s, n]`, per sequence. */
  timeMajor: model('time-major', (g) => {
    g.input('x', 'float32', ['seq', 'batch', 4]);
    g.node('CumSum', ['x', g.constant('time', 'int64', [], [0])], ['y']);
    g.output('y', 'float32', ['seq', 'batch', 4]);
  }),
  /** An input returned as it is (a graph output named as the input) beside `y = 2x`. */
  passThrough: model('pass-through', (g) => {
    g.input('x', 'float32', ['N', 4]);
    g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['y']);
    g.output('x', 'float32', ['N', 4]);
    g.output('y', 'float32', ['N', 4]);
  }),
  /** A constant output (an initializer returned as it is) beside `y = x + 1`. */
  constantOut: model('constant-out', (g) => {
    g.input('x', 'float32', ['N', 4]);
    g.constant('labels', 'int64', [3], [7n, 8n, 2n ** 60n]);
    g.node('Add', ['x', g.constant('one', 'float32', [], [1])], ['y']);
    g.output('labels', 'int64', [3]);
    g.output('y', 'float32', ['N', 4]);
  }),
} as const;

type Name = keyof typeof MODELS;

/** Request `seed` of each model. */
const ITEMS: Record<Name, (seed: number) => NamedTensors> = {
  unbatched: (s) => ({ x: f32([3, 4], s) }),
  batchOfOne: (s) => ({ x: f32([1, 5], s) }),
  namedApart: (s) => ({ a: f32([1, 4], s), b: f32([1, 4], s + 100) }),
  agreeing: (s) => ({ a: f32([1, 2 + (s % 3)], s), b: f32([1, 2 + (s % 3)], s + 100) }),
  scalars: (s) => ({ x: f32([1, 4], s), s: f32([], s % 2) }),
  scalarOnly: (s) => ({ x: f32([], s) }),
  batchSumNamed: (s) => ({ x: f32([1, 4], s) }),
  batchSum: (s) => ({ x: f32([1, 4], s) }),
  doubled: (s) => ({ x: f32([1, 3], s) }),
  anonymous: (s) => ({ x: f32([1, 2 + (s % 2)], s) }),
  nonZero: (s) => ({ x: { type: 'float32', dims: [1, 6], data: Float32Array.from({ length: 6 }, (_, i) => ((i + s) % 3 === 0 ? 0 : i + s)) } }),
  topK: (s) => ({ x: f32([1, 10], s), k: { type: 'int64', dims: [1], data: new BigInt64Array([BigInt(1 + (s % 3) * 2)]) } }),
  timeMajor: (s) => ({ x: f32([2 + (s % 2) * 3, 1, 4], s) }),
  passThrough: (s) => ({ x: f32([1, 4], s) }),
  constantOut: (s) => ({ x: f32([1, 4], s) }),
};

/** Whether requests of the model may share a run (what a careful reading of its graph says). */
const SEPARABLE: Record<Name, boolean> = {
  unbatched: false,
  batchOfOne: false,
  namedApart: true,
  agreeing: true,
  scalars: false,
  scalarOnly: false,
  batchSumNamed: false,
  batchSum: false,
  doubled: false,
  anonymous: false,
  nonZero: false,
  topK: true,
  timeMajor: true,
  passThrough: true,
  constantOut: false,
};

describe('models of every shape, served as raw onnxruntime-node answers them', () => {
  let executor: Executor;
  const refs = new Map<Name, Reference>();
  const names = Object.keys(MODELS) as Name[];
  beforeAll(async () => {
    for (const name of names) refs.set(name, await reference(MODELS[name]));
    executor = await startExecutor(names.map((name) => service(name, MODELS[name])));
  });
  afterAll(async () => {
    await executor?.close();
    for (const r of refs.values()) await r.release();
  });

  it.each(names)('%s: every request gets its own answer, batched only when separable', async (name) => {
    const items = Array.from({ length: 9 }, (_, k) => ITEMS[name](k + 1));
    const served = await expectServedAsReference(executor, name, refs.get(name)!, items);
    if (!SEPARABLE[name]) expect(Math.max(...served.batchSizes)).toBe(1);
    // What the first request saw decides a check deferred to it: ask again after a second round.
    const again = await expectServedAsReference(executor, name, refs.get(name)!, items);
    if (SEPARABLE[name]) expect(Math.max(...served.batchSizes, ...again.batchSizes)).toBeGreaterThan(1);
    else expect(Math.max(...again.batchSizes)).toBe(1);
  });

  it('refuses a request whose inputs disagree on a dim the model names alike, and answers the others', async () => {
    const bad: NamedTensors = { a: f32([1, 3], 1), b: f32([1, 5], 2) };
    const broadcast: NamedTensors = { a: f32([1, 1], 1), b: f32([1, 5], 2) };
    const good = [ITEMS.agreeing(1), ITEMS.agreeing(2), ITEMS.agreeing(3)];
    const served = await submitAll(executor, 'agreeing', [good[0]!, bad, good[1]!, broadcast, good[2]!]);
    expect(served.results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'INVALID_INPUT', 'ok', 'INVALID_INPUT', 'ok']);
    const failed = served.results[1]!;
    if (!failed.ok) expect(failed.error.message).toMatch(/'seq'/);
  });
});

describe('the same models without a profile: measured at load from their fixed shapes or a sample', () => {
  const names = Object.keys(MODELS) as Name[];
  let executor: Executor;
  const refs = new Map<Name, Reference>();
  beforeAll(async () => {
    for (const name of names) refs.set(name, await reference(MODELS[name]));
    const { profile: _given, ...noProfile } = service('x', MODELS.unbatched);
    executor = await startExecutor(
      names.map((name) => ({ ...noProfile, id: name, model: MODELS[name], maxBatch: 4, sampleInputs: ITEMS[name](0) })),
      { warmup: 0, repetitions: 1 },
    );
  });
  afterAll(async () => {
    await executor?.close();
    for (const r of refs.values()) await r.release();
  });

  it.each(names)('%s: loads, measures and answers as raw onnxruntime-node', async (name) => {
    await expectServedAsReference(executor, name, refs.get(name)!, [1, 2, 3, 4, 5].map((k) => ITEMS[name](k)));
    expect(executor.instances().find((i) => i.serviceId === name)?.runMs).toBeGreaterThan(0);
  });
});
