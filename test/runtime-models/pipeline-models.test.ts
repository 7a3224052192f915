import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors, TensorLike } from '@epara/core';
import { createDevice, createGraphBuilder, createPipelineEngine, splitModel, type DeviceHandle, type GraphBuilder, type PipelineEngine } from '@epara/runtime';
import { expectSameOutputs, reference, type Reference } from './ground-truth.js';

/*
 * Models met for the first time, split into two stages and served by the model-parallel pipeline: every
 * request's answer must be raw onnxruntime-node's on the whole model with that request alone — whether or not
 * the model lets requests share a run — and a request the model cannot take fails alone with INVALID_INPUT.
 */

const devices: DeviceHandle[] = [];
const engines: PipelineEngine[] = [];
const refs: Reference[] = [];
afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await Promise.all(devices.map((d) => d.close()));
  await Promise.all(refs.map((r) => r.release()));
});

const model = (name: string, build: (g: GraphBuilder) => void): Uint8Array => {
  const g = createGraphBuilder({ name });
  build(g);
  return g.toBytes();
};
const f32 = (dims: number[], seed: number): TensorLike => {
  const n = dims.reduce((a, b) => a * b, 1);
  return { type: 'float32', dims, data: Float32Array.from({ length: n }, (_, i) => Math.round(Math.sin(seed * 17 + i * 3.1) * 100) / 8) };
};

const MODELS = {
  /** A sum over the batch declared per item (the names lie): `y[0] = Σ_n 2x[n]`, cut after the doubling. */
  batchSum: model('batch-sum', (g) => {
    g.input('x', 'float32', ['N', 4]);
    g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['h']);
    g.node('ReduceSum', ['h', g.constant('axes', 'int64', [1], [0])], ['y'], { keepdims: 1 });
    g.output('y', 'float32', ['N', 4]);
  }),
  /** Time-major, the batch second: a running sum over time, `y[t, n] = Σ_{s≤t} 2x[s, n]`. */
  timeMajor: model('time-major', (g) => {
    g.input('x', 'float32', ['seq', 'batch', 4]);
    g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['h']);
    g.node('CumSum', ['h', g.constant('time', 'int64', [], [0])], ['y']);
    g.output('y', 'float32', ['seq', 'batch', 4]);
  }),
  /** A scalar input beside a batched one: `y = (x + 1) · s`. */
  scalar: model('scalar', (g) => {
    g.input('x', 'float32', ['N', 4]);
    g.input('s', 'float32', []);
    g.node('Add', ['x', g.constant('one', 'float32', [], [1])], ['h']);
    g.node('Mul', ['h', 's'], ['y']);
    g.output('y', 'float32', ['N', 4]);
  }),
  /** Separable: `y = relu(x + 1) · 3` per row, with a uint8 input beside it (`z = u + 1`). */
  /** Exporter-style names (spaces, `/`, `:`), cut at `/layer.0/Relu_output_0`: `out/y:0 = 2·relu(input 1:0)`. */
  oddNames: model('odd-names', (g) => {
    g.input('input 1:0', 'float32', ['batch size', 4]);
    g.node('Relu', ['input 1:0'], ['/layer.0/Relu_output_0']);
    g.node('Mul', ['/layer.0/Relu_output_0', g.constant('/consts/two', 'float32', [], [2])], ['out/y:0']);
    g.output('out/y:0', 'float32', ['batch size', 4]);
  }),
  separable: model('separable', (g) => {
    g.input('x', 'float32', ['N', 4]);
    g.input('u', 'uint8', ['N', 2]);
    g.node('Add', ['x', g.constant('one', 'float32', [], [1])], ['h']);
    g.node('Relu', ['h'], ['r']);
    g.node('Mul', ['r', g.constant('three', 'float32', [], [3])], ['y']);
    g.node('Add', ['u', g.constant('uone', 'uint8', [], [1])], ['z']);
    g.output('y', 'float32', ['N', 4]);
    g.output('z', 'uint8', ['N', 2]);
  }),
  /** Outputs of three layouts, one a sum over the batch: `y = 2x [N, 4]`, `t = (2x)ᵀ [4, N]`, `m = Σ_n 2x[n] [4]`. */
  layouts: model('layouts', (g) => {
    g.input('x', 'float32', ['N', 4]);
    g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['y']);
    g.node('Transpose', ['y'], ['t'], { perm: [1, 0] });
    g.node('ReduceSum', ['y', g.constant('down', 'int64', [1], [0])], ['m'], { keepdims: 0 });
    g.output('y', 'float32', ['N', 4]);
    g.output('t', 'float32', [4, 'N']);
    g.output('m', 'float32', [4]);
  }),
  /** Boxes scaled, then NonMaxSuppression: rows of (batch index, class, box), as many as the data select. */
  nms: model('nms', (g) => {
    g.input('boxes', 'float32', ['batch', 'num_boxes', 4]);
    g.input('scores', 'float32', ['batch', 1, 'num_boxes']);
    g.node('Mul', ['boxes', g.constant('scale', 'float32', [], [2])], ['scaled']);
    g.node('NonMaxSuppression', ['scaled', 'scores', g.constant('max', 'int64', [1], [3]), g.constant('iou', 'float32', [1], [0.5]), g.constant('threshold', 'float32', [1], [0.2])], ['selected']);
    g.output('selected', 'int64', ['num_selected', 3]);
  }),
};

/** Seeded values in [0, 1) (boxes, scores). */
const unit = (dims: number[], seed: number): TensorLike => {
  let v = seed * 7919 + 13;
  const n = dims.reduce((a, b) => a * b, 1);
  return { type: 'float32', dims, data: Float32Array.from({ length: n }, () => ((v = (v * 9301 + 49297) % 233280) / 233280)) };
};

const ITEMS: Record<keyof typeof MODELS, (seed: number) => NamedTensors> = {
  batchSum: (k) => ({ x: f32([1, 4], k) }),
  timeMajor: (k) => ({ x: f32([2, 1, 4], k) }),
  scalar: (k) => ({ x: f32([1, 4], k), s: { type: 'float32', dims: [], data: new Float32Array([k + 0.5]) } }),
  oddNames: (k) => ({ 'input 1:0': f32([1, 4], k) }),
  separable: (k) => ({ x: f32([1, 4], k), u: { type: 'uint8', dims: [1, 2], data: new Uint8Array([k, 250 - k]) } }),
  layouts: (k) => ({ x: f32([1, 4], k) }),
  nms: (k) => ({ boxes: unit([1, 5 + (k % 3), 4], k + 1), scores: unit([1, 1, 5 + (k % 3)], k + 50) }),
};

async function pipeline(bytes: Uint8Array, cut: string): Promise<PipelineEngine> {
  const stages = splitModel(bytes, { cutTensors: [cut] });
  const d = stages.map((_, i) => {
    const device = createDevice({ id: `p${devices.length}-${i}`, threads: 1 });
    devices.push(device);
    return device;
  });
  const engine = createPipelineEngine({ stages: stages.map((s, i) => ({ device: d[i]!, model: { bytes: s.bytes } })), batchSize: 4, launchWhenIdle: true });
  engines.push(engine);
  await engine.start();
  return engine;
}

const far = (): number => Date.now() + 60_000;

describe.each([
  ['batchSum', 'h', false],
  ['timeMajor', 'h', false],
  ['scalar', 'h', false],
  ['separable', 'r', true],
  ['oddNames', '/layer.0/Relu_output_0', true],
  ['layouts', 'y', false],
  ['nms', 'scaled', false],
] as const)('the pipeline serves %s (cut at %s) as raw onnxruntime-node answers each request alone', (name, cut, stacks) => {
  let engine: PipelineEngine;
  let ref: Reference;
  const rows: number[] = [];
  beforeAll(async () => {
    ref = await reference(MODELS[name]);
    refs.push(ref);
    engine = await pipeline(MODELS[name], cut);
    engine.on('batchDispatched', (e) => rows.push(e.items));
  });

  it('answers concurrent requests each as alone, and shares runs only when the model allows it', async () => {
    for (const round of [0, 1, 2]) {
      const items = Array.from({ length: 6 }, (_, k) => ITEMS[name](round * 10 + k));
      const expected: NamedTensors[] = [];
      for (const it of items) expected.push(await ref.run(it));
      const outs = await Promise.all(items.map((it) => engine.submit(it, { deadline: far(), priority: 0 })));
      outs.forEach((o, i) => expectSameOutputs(o, expected[i]!, 1e-6));
    }
    if (stacks) expect(Math.max(...rows)).toBeGreaterThan(1);
    else expect(Math.max(...rows)).toBe(1);
  });
});

describe('the pipeline refuses a request the model cannot take, alone, with INVALID_INPUT', () => {
  let engine: PipelineEngine;
  let ref: Reference;
  beforeAll(async () => {
    ref = await reference(MODELS.separable);
    refs.push(ref);
    engine = await pipeline(MODELS.separable, 'r');
  });

  it.each([
    ['a rank the model does not take', { x: f32([4], 1) }],
    ['a fixed dim of another size', { x: f32([1, 5], 1) }],
    ['fewer values than its dims', { x: { type: 'float32', dims: [1, 4], data: new Float32Array(3) } }],
    ['a plain array for float32', { x: { type: 'float32', dims: [1, 4], data: [1, 2, 3, 4] } }],
    ['a Float64Array for float32', { x: { type: 'float32', dims: [1, 4], data: new Float64Array(4) } }],
    ['a negative dim', { x: { type: 'float32', dims: [-1, 4], data: new Float32Array(4) } }],
    ['a NaN dim', { x: { type: 'float32', dims: [Number.NaN, 4], data: new Float32Array(4) } }],
    ['an Int8Array for uint8', { u: { type: 'uint8', dims: [1, 2], data: new Int8Array(2) } }],
    ['no tensor at all', { x: null }],
  ])('%s: refused, and the good requests submitted beside it are answered', async (_what, bad) => {
    const good = [ITEMS.separable(1), ITEMS.separable(2)];
    const expected = await Promise.all(good.map((it) => ref.run(it)));
    const inputs = { ...ITEMS.separable(3), ...bad } as unknown as NamedTensors;
    const results = await Promise.allSettled([good[0]!, inputs, good[1]!].map((it) => engine.submit(it, { deadline: far(), priority: 0 })));
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'INVALID_INPUT' } });
    expectSameOutputs((results[0] as PromiseFulfilledResult<NamedTensors>).value, expected[0]!, 1e-6);
    expectSameOutputs((results[2] as PromiseFulfilledResult<NamedTensors>).value, expected[1]!, 1e-6);
  });

  it('takes a Node Buffer for a uint8 input', async () => {
    const it0 = { ...ITEMS.separable(4), u: { type: 'uint8', dims: [1, 2], data: Buffer.from([9, 200]) } } as NamedTensors;
    const expected = await ref.run({ ...it0, u: { type: 'uint8', dims: [1, 2], data: new Uint8Array([9, 200]) } });
    expectSameOutputs(await engine.submit(it0, { deadline: far(), priority: 0 }), expected, 1e-6);
  });
});

describe.each(['direct', 'host'] as const)('boundary values of every kind cross the cut (handoff %s)', (handoff) => {
  // Strings, bools, int64 beyond 2^53, float16 and an empty tensor cross from stage 0 to stage 1.
  const bytes = model('kinds', (g) => {
    g.input('s', 'string', ['N', 2]);
    g.input('i', 'int64', ['N', 2]);
    g.input('h', 'float16', ['N', 2]);
    g.input('e', 'float32', ['N', 0]);
    g.node('Identity', ['s'], ['s1']);
    g.node('Greater', ['i', g.constant('zero', 'int64', [], [0n])], ['b1']);
    g.node('Add', ['i', g.constant('big', 'int64', [], [2n ** 60n + 1n])], ['i1']);
    g.node('Identity', ['h'], ['h1']);
    g.node('Relu', ['e'], ['e1']);
    g.node('Identity', ['s1'], ['s_out']);
    g.node('Not', ['b1'], ['b_out']);
    g.node('Neg', ['i1'], ['i_out']);
    g.node('Identity', ['h1'], ['h_out']);
    g.node('Neg', ['e1'], ['e_out']);
    g.output('s_out', 'string', ['N', 2]);
    g.output('b_out', 'bool', ['N', 2]);
    g.output('i_out', 'int64', ['N', 2]);
    g.output('h_out', 'float16', ['N', 2]);
    g.output('e_out', 'float32', ['N', 0]);
  });
  const item = (k: number): NamedTensors => ({
    s: { type: 'string', dims: [1, 2], data: [`a${k}`, 'é🎉'] },
    i: { type: 'int64', dims: [1, 2], data: new BigInt64Array([BigInt(k) - 1n, 2n ** 61n + BigInt(k)]) },
    h: { type: 'float16', dims: [1, 2], data: new Uint16Array([0x3c00 + k, 0x7c00]) },
    e: { type: 'float32', dims: [1, 0], data: new Float32Array(0) },
  });

  it('answers as raw onnxruntime-node does, alone and in batches', async () => {
    const ref = await reference(bytes);
    refs.push(ref);
    // One stage per boundary value: each crosses from the stage that makes it to the last one.
    const stages = splitModel(bytes, { cutTensors: ['s1', 'b1', 'i1', 'h1', 'e1'] });
    const engine = createPipelineEngine({
      stages: stages.map((s, i) => {
        const device = createDevice({ id: `k-${handoff}-${i}`, threads: 1 });
        devices.push(device);
        return { device, model: { bytes: s.bytes } };
      }),
      batchSize: 4,
      launchWhenIdle: true,
      handoff,
    });
    engines.push(engine);
    const items = [1, 2, 3, 4, 5].map(item);
    const expected: NamedTensors[] = [];
    for (const it of items) expected.push(await ref.run(it));
    const outs = await Promise.all(items.map((it) => engine.submit(it, { deadline: far(), priority: 0 })));
    outs.forEach((o, k) => expectSameOutputs(o, expected[k]!));
  });
});
