import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors, ParallelPlan, StreamResult, TensorLike } from '@epara/core';
import { createGraphBuilder, encodeModel, type Executor, type GraphBuilder } from '@epara/runtime';
import { f32, ITEMS, MODELS } from './fixtures/shape-models.js';
import { expectSameOutputs, expectServedAsReference, reference, service, startExecutor, type Reference } from './ground-truth.js';
import { rejection } from './helpers.js';

/*
 * Values at the edges of what a tensor can be — a dim of 0, a shared scalar of -0, shared strings holding the
 * separator a key would use — and stream state whose shape grows frame by frame. Each request is served among
 * others of different values and shapes; every answer must be raw onnxruntime-node's on that request alone.
 */

const model = (name: string, build: (g: GraphBuilder) => void): Uint8Array => {
  const g = createGraphBuilder({ name });
  build(g);
  return g.toBytes();
};

/** `y = 2x` over `x [N, k]`: a request may carry no values at all (`k = 0`). */
const doubled = model('doubled', (g) => {
  g.input('x', 'float32', ['N', 'k']);
  g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['y']);
  g.output('y', 'float32', ['N', 'k']);
});

/** `y = x / s` with `s` a scalar the items of a batch share: `s = -0` and `s = 0` give -∞ and +∞. */
const divided = model('divided', (g) => {
  g.input('x', 'float32', ['N', 2]);
  g.input('s', 'float32', []);
  g.node('Div', ['x', 's'], ['y']);
  g.output('y', 'float32', ['N', 2]);
});

/** `t = s` repeated per row: `s string[2]` is shared by the items of a batch, `y = x` is not. */
const labelled = model('labelled', (g) => {
  g.input('x', 'float32', ['N', 2]);
  g.input('s', 'string', [2]);
  g.node('Unsqueeze', ['s', g.constant('lead', 'int64', [1], [0])], ['row']);
  g.node('Shape', ['x'], ['shape']);
  g.node('Expand', ['row', 'shape'], ['t']);
  g.node('Identity', ['x'], ['y']);
  g.output('y', 'float32', ['N', 2]);
  g.output('t', 'string', ['N', 2]);
});

/** A recurrent history that grows by one column per frame: `hN = [h, x]`, `y = Σ hN` per row. */
const history = model('history', (g) => {
  g.input('x', 'float32', ['batch', 1]);
  g.input('h', 'float32', ['batch', 'T']);
  g.node('Concat', ['h', 'x'], ['hN'], { axis: 1 });
  g.node('ReduceSum', ['hN', g.constant('cols', 'int64', [1], [1])], ['y'], { keepdims: 1 });
  g.output('y', 'float32', ['batch', 1]);
  g.output('hN', 'float32', ['batch', 'T1']);
});

/** Dims of 0 the model fixes: `x [N, 0]` summed into `y = v + Σx` (0), and an empty slice `e [N, 0]` beside `v`. */
const fixedEmpty = model('fixed-empty', (g) => {
  g.input('x', 'float32', ['N', 0]);
  g.input('v', 'float32', ['N', 2]);
  g.node('ReduceSum', ['x', g.constant('cols', 'int64', [1], [1])], ['r'], { keepdims: 1 });
  g.node('Add', ['v', 'r'], ['y']);
  g.node('Slice', ['v', g.constant('from', 'int64', [1], [0]), g.constant('to', 'int64', [1], [0]), g.constant('axis', 'int64', [1], [1])], ['e']);
  g.output('y', 'float32', ['N', 2]);
  g.output('e', 'float32', ['N', 0]);
});

/** A recurrent state of fixed shape: `hN = h + x`, `y = Σ_k hN[k]` (state `h [2, batch, 3]`). */
const accumulator = model('accumulator', (g) => {
  g.input('x', 'float32', ['batch', 3]);
  g.input('h', 'float32', [2, 'batch', 3]);
  g.node('Add', ['h', 'x'], ['hN']);
  g.node('ReduceSum', ['hN', g.constant('layers', 'int64', [1], [0])], ['y'], { keepdims: 0 });
  g.output('y', 'float32', ['batch', 3]);
  g.output('hN', 'float32', [2, 'batch', 3]);
});

const scalar = (v: number): TensorLike => ({ type: 'float32', dims: [], data: new Float32Array([v]) });

describe('tensors at the edges, served as raw onnxruntime-node answers them', () => {
  let executor: Executor;
  const refs: Record<string, Reference> = {};
  const load = async (id: string, bytes: Uint8Array, more: Parameters<typeof service>[2] = {}): Promise<void> => {
    executor.register(service(id, bytes, more));
    await executor.load({ serviceId: id } as ParallelPlan, { deviceIds: ['cpu0'] });
  };
  beforeAll(async () => {
    executor = await startExecutor([]);
    for (const [name, bytes] of Object.entries({ doubled, divided, labelled, history, fixedEmpty })) refs[name] = await reference(bytes);
  });
  afterAll(async () => {
    await executor?.close();
    for (const r of Object.values(refs)) await r.release();
  });

  it('serves empty tensors (a dim of 0), alone and stacked, beside requests that hold values', async () => {
    await load('doubled', doubled, { sampleInputs: { x: f32([1, 3], 0) } });
    const items = [0, 3, 0, 3, 0, 3, 0].map((k, s) => ({ x: f32([1, k], s + 1) }));
    const served = await expectServedAsReference(executor, 'doubled', refs['doubled']!, items);
    expect(Math.max(...served.batchSizes)).toBeGreaterThan(1);
  });

  it('serves dims the model fixes to 0, in and out (outputs of known size come back through the slab)', async () => {
    await load('fixed-empty', fixedEmpty);
    const items = [1, 2, 3, 4, 5].map((s) => ({ x: f32([1, 0], s), v: f32([1, 2], s) }));
    const served = await expectServedAsReference(executor, 'fixed-empty', refs['fixedEmpty']!, items);
    expect(Math.max(...served.batchSizes)).toBeGreaterThan(1);
  });

  it('never lets a shared scalar of -0 ride in a batch keyed for 0 (x / s: -∞ against +∞)', async () => {
    await load('divided', divided);
    const items = [0, -0, 0, -0, 0, -0].map((s, k) => ({ x: f32([1, 2], k + 1), s: scalar(s) }));
    const served = await expectServedAsReference(executor, 'divided', refs['divided']!, items);
    expect(Math.max(...served.batchSizes)).toBeGreaterThan(1);
  });

  it('never lets shared strings that join alike share a batch (["a,b", "c"] against ["a", "b,c"])', async () => {
    await load('labelled', labelled);
    const texts = [['a,b', 'c'], ['a', 'b,c'], ['a,b', 'c'], ['a', 'b,c'], ['a,b', 'c']];
    const items = texts.map((s, k) => ({ x: f32([1, 2], k + 1), s: { type: 'string', dims: [2], data: s } as TensorLike }));
    const served = await expectServedAsReference(executor, 'labelled', refs['labelled']!, items);
    expect(Math.max(...served.batchSizes)).toBeGreaterThan(1);
  });

  it('serves streams whose recurrent state grows frame by frame, each at its own length', async () => {
    const initial: NamedTensors = { h: { type: 'float32', dims: [1, 1], data: new Float32Array([0.5]) } };
    executor.register(
      service('history', history, {
        sensitivity: 'frequency',
        slo: { kind: 'frequency', rateHz: 10, stalenessMs: 60_000 },
        plan: { batchSize: 4, capacityPerSec: 1000 },
        stateful: { state: { h: 'hN' }, initial },
      }),
    );
    await executor.load({ serviceId: 'history' } as ParallelPlan, { deviceIds: ['cpu0'] });
    const frame = (stream: number, k: number): NamedTensors => ({ x: f32([1, 1], 10 * stream + k) });
    // Stream a runs two frames first: its history is two columns longer than b's when their frames meet.
    const a = executor.openStream('history', { rateHz: 10 });
    const ia = a[Symbol.asyncIterator]();
    const got: Record<'a' | 'b', StreamResult[]> = { a: [], b: [] };
    for (const k of [0, 1]) {
      a.push(frame(1, k));
      got.a.push((await ia.next()).value as StreamResult);
    }
    const b = executor.openStream('history', { rateHz: 10 });
    const ib = b[Symbol.asyncIterator]();
    for (let k = 2; k < 5; k++) {
      a.push(frame(1, k));
      b.push(frame(2, k));
    }
    for (let k = 0; k < 3; k++) {
      got.a.push((await ia.next()).value as StreamResult);
      got.b.push((await ib.next()).value as StreamResult);
    }
    await Promise.all([a.close(), b.close()]);
    // Raw onnxruntime-node, each stream's state fed back by hand.
    const replay = async (stream: number, ks: number[]): Promise<NamedTensors[]> => {
      let h = initial['h']!;
      const out: NamedTensors[] = [];
      for (const k of ks) {
        const r = await refs['history']!.run({ ...frame(stream, k), h });
        h = r['hN']!;
        out.push(r);
      }
      return out;
    };
    const expected = { a: await replay(1, [0, 1, 2, 3, 4]), b: await replay(2, [2, 3, 4]) };
    for (const s of ['a', 'b'] as const) {
      got[s].forEach((r, i) => {
        if (!r.ok) throw new Error(`stream ${s} frame ${i}: ${r.error.code} ${r.error.message}`);
        expectSameOutputs(r.outputs, expected[s][i]!);
      });
    }
  });
});


/** Each row less the mean over the whole batch, declared per item (`[N, k]`): requests must never share a run. */
const centred = model('centred', (g) => {
  g.input('x', 'float32', ['N', 'k']);
  g.node('ReduceMean', ['x'], ['m'], { axes: [0], keepdims: 1 });
  g.node('Sub', ['x', 'm'], ['y']);
  g.output('y', 'float32', ['N', 'k']);
});

describe('batchable: true over an output of fixed shape (a constant: the batch\'s as a whole)', () => {
  let executor: Executor;
  let ref: Reference;
  beforeAll(async () => {
    ref = await reference(MODELS.constantOut);
    executor = await startExecutor([service('vouched', MODELS.constantOut, { batchable: true })]);
  });
  afterAll(async () => {
    await executor?.close();
    await ref?.release();
  });

  it.each([3, 7])('gives every item of a batch the whole constant, %i requests at once (it was split per item, or failed them all)', async (n) => {
    const served = await expectServedAsReference(executor, 'vouched', ref, Array.from({ length: n }, (_, k) => ITEMS.constantOut(k + 1)));
    expect(Math.max(...served.batchSizes)).toBeGreaterThan(1);
  });

  it('runs each item again alone when a batch\'s answer does not split (a constant declared [1, 4]: the names read it as the batch\'s)', async () => {
    const rowConstant = model('row-constant', (g) => {
      g.input('x', 'float32', ['N', 4]);
      g.node('Identity', [g.constant('row', 'float32', [1, 4], [1, 2, 3, 4])], ['k']);
      g.node('Add', ['x', 'k'], ['y']);
      g.output('y', 'float32', ['N', 4]);
      g.output('k', 'float32', [1, 4]);
    });
    executor.register(service('row-constant', rowConstant, { batchable: true }));
    await executor.load({ serviceId: 'row-constant' } as ParallelPlan, { deviceIds: ['cpu0'] });
    const rowRef = await reference(rowConstant);
    try {
      const failed: boolean[] = [];
      executor.on('batchCompleted', (e) => e.serviceId === 'row-constant' && failed.push(!e.ok));
      await expectServedAsReference(executor, 'row-constant', rowRef, [1, 2, 3, 4, 5].map((s) => ({ x: f32([1, 4], s) })));
      expect(failed).toContain(true); // a batch of several that did not split, then its items alone
    } finally {
      await rowRef.release();
    }
  });
});

describe('a stream service whose initial state the model would refuse', () => {
  let executor: Executor;
  beforeAll(async () => {
    executor = await startExecutor([]);
  });
  afterAll(async () => {
    await executor?.close();
  });

  it.each([
    ['another dtype', { type: 'float64', dims: [2, 1, 3], data: new Float64Array(6) }, /dtype float64, expected float32/],
    ['another typed array', { type: 'float32', dims: [2, 1, 3], data: new Float64Array(6) }, /data must be a Float32Array/],
    ['another fixed dim', { type: 'float32', dims: [2, 1, 4], data: new Float32Array(8) }, /dim 2 is 4, expected 3/],
    ['several rows on the batch axis (as if several streams)', { type: 'float32', dims: [2, 2, 3], data: new Float32Array(12) }, /dim 1 is 2, expected 1/],
    ['fewer values than its dims', { type: 'float32', dims: [2, 1, 3], data: new Float32Array(5) }, /holds 5 values/],
  ])('is refused at load with INVALID_OPTIONS naming stateful.initial.h: %s (every frame failed, or streams were mixed)', async (what, h, message) => {
    const id = `initial ${what}`;
    executor.register(service(id, accumulator, { stateful: { state: { h: 'hN' }, initial: { h: h as TensorLike } } }));
    const err = await rejection(executor.load({ serviceId: id } as ParallelPlan, { deviceIds: ['cpu0'] }));
    expect(err).toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'stateful.initial.h' } });
    expect((err as Error).message).toMatch(message);
  });

  it('refuses an initial state for an input that is not a state', async () => {
    const initial = { h: { type: 'float32', dims: [2, 1, 3], data: new Float32Array(6) }, x: f32([1, 3], 1) } as NamedTensors;
    executor.register(service('initial x', accumulator, { stateful: { state: { h: 'hN' }, initial } }));
    const err = await rejection(executor.load({ serviceId: 'initial x' } as ParallelPlan, { deviceIds: ['cpu0'] }));
    expect(err).toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'stateful.initial.x' } });
  });
});

describe('sampleInputs the model would not take as one item', () => {
  let executor: Executor;
  beforeAll(async () => {
    executor = await startExecutor([], { warmup: 0, repetitions: 1 });
  });
  afterAll(async () => {
    await executor?.close();
  });
  const loadSampled = (id: string, bytes: Uint8Array, sampleInputs: NamedTensors): Promise<unknown> => {
    const { profile: _measured, ...rest } = service(id, bytes, { sampleInputs, maxBatch: 4 });
    executor.register(rest);
    return executor.load({ serviceId: id } as ParallelPlan, { deviceIds: ['cpu0'] });
  };

  it.each([
    ['two rows on the batch axis (the check stacked four: a separable model was called not separable)', { x: f32([2, 3], 1) }, 'sampleInputs.x', /dim 0 is 2, expected 1/],
    ['another dtype (the load failed with the model\'s MODEL_ERROR)', { x: { type: 'float64', dims: [1, 3], data: new Float64Array(3) } as TensorLike }, 'sampleInputs.x', /dtype float64/],
    ['another rank', { x: f32([3], 1) }, 'sampleInputs.x', /rank 1, expected 2/],
    ['an input the model lacks', { x: f32([1, 3], 1), z: f32([1, 1], 1) }, 'sampleInputs.z', /an input of the model \(x\)/],
  ])('refuses at load with INVALID_OPTIONS naming the field: %s', async (what, sample, field, message) => {
    const err = await rejection(loadSampled(`sample ${what}`, doubled, sample));
    expect(err).toMatchObject({ code: 'INVALID_OPTIONS', details: { field } });
    expect((err as Error).message).toMatch(message);
  });

  it('takes a sample of several rows for a model that never stacks requests (they run whole, as the sample does)', async () => {
    // `y [1, 4] = Σ_n x[n]`: no place for a batch in the output, so requests run whole, of any number of rows.
    const summed = model('summed', (g) => {
      g.input('x', 'float32', ['N', 4]);
      g.node('ReduceSum', ['x', g.constant('rows', 'int64', [1], [0])], ['y'], { keepdims: 1 });
      g.output('y', 'float32', [1, 4]);
    });
    await loadSampled('rows summed', summed, { x: f32([3, 4], 1) });
    const ref = await reference(summed);
    try {
      await expectServedAsReference(executor, 'rows summed', ref, [{ x: f32([3, 4], 2) }, { x: f32([5, 4], 3) }]);
    } finally {
      await ref.release();
    }
  });

  it('batches a separable model whose sample is one item', async () => {
    await loadSampled('one item', doubled, { x: f32([1, 3], 1) });
    expect(executor.itemSeparability('one item')).toBe('separable');
  });
});

describe('the batch check never decides on an item that holds no values', () => {
  let executor: Executor;
  let ref: Reference;
  beforeAll(async () => {
    ref = await reference(centred);
    executor = await startExecutor([]);
  });
  afterAll(async () => {
    await executor?.close();
    await ref?.release();
  });
  /**
   * Serves rounds of requests (each answer raw onnxruntime-node's) until the check deferred to a request has
   * answered — it runs in the background, beside the rounds — then expects it refuted and the next round unbatched.
   */
  const expectRefutedWhileServing = async (id: string): Promise<void> => {
    const items = [1, 2, 3, 4, 5, 6].map((s) => ({ x: f32([1, 3], s) }));
    for (let round = 0; round < 50 && executor.itemSeparability(id) === undefined; round++) await expectServedAsReference(executor, id, ref, items);
    expect(executor.itemSeparability(id)).toBe('not-separable');
    const after = await expectServedAsReference(executor, id, ref, items);
    expect(Math.max(...after.batchSizes)).toBe(1);
  };

  it('checks with a later request when the first one is empty (a batch of two empties equals two single runs)', async () => {
    executor.register(service('centred', centred));
    await executor.load({ serviceId: 'centred' } as ParallelPlan, { deviceIds: ['cpu0'] });
    await expectServedAsReference(executor, 'centred', ref, [{ x: f32([1, 0], 1) }]);
    await expectRefutedWhileServing('centred');
  });

  it('checks with a later request when the first one answers only NaN (NaN equals NaN in the comparison)', async () => {
    executor.register(service('centred-nan', centred));
    await executor.load({ serviceId: 'centred-nan' } as ParallelPlan, { deviceIds: ['cpu0'] });
    const nan: NamedTensors = { x: { type: 'float32', dims: [1, 3], data: new Float32Array(3).fill(Number.NaN) } };
    await expectServedAsReference(executor, 'centred-nan', ref, [nan]);
    await expectRefutedWhileServing('centred-nan');
  });

  it('does not take empty sampleInputs as proof that items do not mix', async () => {
    executor.register(service('centred-sampled', centred, { sampleInputs: { x: f32([1, 0], 0) } }));
    await executor.load({ serviceId: 'centred-sampled' } as ParallelPlan, { deviceIds: ['cpu0'] });
    const served = await expectServedAsReference(executor, 'centred-sampled', ref, [1, 2, 3, 4, 5, 6].map((s) => ({ x: f32([1, 3], s) })));
    expect(Math.max(...served.batchSizes)).toBe(1);
  });
});

describe('model files: weights in a file beside the model, and files that are no model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'epara-model-files-'));
  const g = createGraphBuilder({ name: 'external' });
  g.input('x', 'float32', ['N', 4]);
  g.node('Add', ['x', g.constant('w', 'float32', [4], [1, -2, 3.5, 1e6])], ['y']);
  g.output('y', 'float32', ['N', 4]);
  const inline = g.toBytes();
  // The same model with its weight in `w.bin` (ONNX external data: location, offset, length).
  const external = g.toModel();
  const w = external.graph!.initializer![0]!;
  const weight = w.rawData!;
  delete w.rawData;
  w.dataLocation = 1;
  w.externalData = [
    { key: 'location', value: 'w.bin' },
    { key: 'offset', value: '0' },
    { key: 'length', value: String(weight.byteLength) },
  ];
  writeFileSync(join(dir, 'w.bin'), weight);
  writeFileSync(join(dir, 'external.onnx'), encodeModel(external));
  mkdirSync(join(dir, 'alone'));
  writeFileSync(join(dir, 'alone', 'external.onnx'), encodeModel(external));
  writeFileSync(join(dir, 'truncated.onnx'), inline.subarray(0, inline.length - 20));
  writeFileSync(join(dir, 'text.onnx'), 'not a model, just text');
  writeFileSync(join(dir, 'empty.onnx'), '');
  let executor: Executor;
  let ref: Reference;
  beforeAll(async () => {
    executor = await startExecutor([]);
    ref = await reference(join(dir, 'external.onnx'));
  });
  afterAll(async () => {
    await executor?.close();
    await ref?.release();
    rmSync(dir, { recursive: true, force: true });
  });
  const load = (id: string, model: string | Uint8Array): Promise<unknown> => {
    executor.register(service(id, model));
    return executor.load({ serviceId: id } as ParallelPlan, { deviceIds: ['cpu0'] });
  };

  it('serves a model whose weights are external data beside it, as raw onnxruntime-node does', async () => {
    await load('external', join(dir, 'external.onnx'));
    const served = await expectServedAsReference(executor, 'external', ref, [1, 2, 3, 4, 5].map((s) => ({ x: f32([1, 4], s) })));
    expect(Math.max(...served.batchSizes)).toBeGreaterThan(1);
  });

  it.each([
    ['its external data file missing', join('alone', 'external.onnx')],
    ['a truncated file', 'truncated.onnx'],
    ['a text file', 'text.onnx'],
    ['an empty file', 'empty.onnx'],
    ['a directory', '.'],
    ['no file', 'nope.onnx'],
  ])('refuses a model path with %s: LOAD_FAILED, and no instance of it is left', async (_what, file) => {
    const id = `bad-${file}`;
    expect(await rejection(load(id, join(dir, file)))).toMatchObject({ code: 'LOAD_FAILED' });
    expect(executor.instances().some((i) => i.serviceId === id)).toBe(false);
  });

  it.each([
    ['truncated bytes', inline.subarray(0, inline.length - 20)],
    ['bytes of text', new TextEncoder().encode('not a model')],
    ['no bytes', new Uint8Array(0)],
  ])('refuses %s: LOAD_FAILED', async (what, bytes) => {
    expect(await rejection(load(`bad-${what}`, bytes))).toMatchObject({ code: 'LOAD_FAILED' });
  });
});
