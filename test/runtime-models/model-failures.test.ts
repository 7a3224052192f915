import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { affineProfile, type NamedTensors, type ParallelPlan } from '@epara/core';
import { createExecutor, createGraphBuilder, encodeModel, type Executor, type GraphBuilder, type OnnxModel, type OnnxType } from '@epara/runtime';
import { expectServedAsReference, reference, service, startExecutor, submitAll, type Reference } from './ground-truth.js';
import { rejection } from './helpers.js';

/*
 * What a model met for the first time may do besides answering: fail on some requests' values, return values
 * onnxruntime-node cannot hand over (sequences, maps), leave ranks open, take an initializer as an input, return
 * large outputs. Each request gets raw onnxruntime-node's answer or a typed error of its own; the others are
 * answered as if it were not there.
 */

const f32 = (dims: number[], seed: number): NamedTensors[string] => {
  const n = dims.reduce((a, b) => a * b, 1);
  return { type: 'float32', dims, data: Float32Array.from({ length: n }, (_, i) => Math.round(Math.cos(seed * 13 + i * 1.7) * 64) / 4) };
};
const build = (name: string, make: (g: GraphBuilder) => void, edit: (m: OnnxModel) => void = () => undefined): Uint8Array => {
  const g = createGraphBuilder({ name });
  make(g);
  const m = g.toModel();
  edit(m);
  return encodeModel(m);
};
const tensorOf = (elemType: number, dims?: (number | string)[]): OnnxType => ({
  tensorType: { elemType, ...(dims ? { shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } : {}) },
});
const setType = (m: OnnxModel, where: 'input' | 'output', name: string, type: OnnxType): void => {
  m.graph![where]!.find((v) => v.name === name)!.type = type;
};

/** `y = x[n, idx[n, j]]`: an index out of range fails the run (onnxruntime checks every index). */
const gather = build('gather', (g) => {
  g.input('x', 'float32', ['N', 5]);
  g.input('idx', 'int64', ['N', 2]);
  g.node('GatherElements', ['x', 'idx'], ['y'], { axis: 1 });
  g.output('y', 'float32', ['N', 2]);
});
const gatherItem = (seed: number, bad = false): NamedTensors => ({
  x: f32([1, 5], seed),
  idx: { type: 'int64', dims: [1, 2], data: new BigInt64Array([BigInt(seed % 5), bad ? 99n : BigInt((seed * 3) % 5)]) },
});

/** A sequence output beside a tensor: `s = [x, x]`, `y = 2x`. */
const sequenceOut = build(
  'sequence-out',
  (g) => {
    g.input('x', 'float32', ['N', 3]);
    g.node('SequenceConstruct', ['x', 'x'], ['s']);
    g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['y']);
    g.output('s', 'float32', ['N', 3]);
    g.output('y', 'float32', ['N', 3]);
  },
  (m) => setType(m, 'output', 's', { sequenceType: { elemType: tensorOf(1, ['N', 3]) } }),
);

/** A map output (ai.onnx.ml ZipMap: a sequence of maps) beside a tensor. */
const mapOut = build(
  'map-out',
  (g) => {
    g.input('x', 'float32', ['N', 2]);
    g.node('ZipMap', ['x'], ['m'], { classlabels_int64s: [0, 1] });
    g.node('Identity', ['x'], ['y']);
    g.output('m', 'float32', ['N']);
    g.output('y', 'float32', ['N', 2]);
  },
  (m) => {
    m.graph!.node![0]!.domain = 'ai.onnx.ml';
    m.opsetImport!.push({ domain: 'ai.onnx.ml', version: 3 });
    setType(m, 'output', 'm', { sequenceType: { elemType: { mapType: { keyType: 7, valueType: tensorOf(1) } } } });
  },
);

/** A sequence input: nothing onnxruntime-node can feed. */
const sequenceIn = build(
  'sequence-in',
  (g) => {
    g.input('s', 'float32', ['N', 3]);
    g.node('SequenceAt', ['s', g.constant('zero', 'int64', [], [0])], ['y']);
    g.output('y', 'float32', ['N', 3]);
  },
  (m) => setType(m, 'input', 's', { sequenceType: { elemType: tensorOf(1, ['N', 3]) } }),
);

/** Ranks left open: `x` has no shape, `y = reshape(x, shape)` neither (onnxruntime reports both as scalars). */
const openRank = build(
  'open-rank',
  (g) => {
    g.input('x', 'float32', ['N', 6]);
    g.input('shape', 'int64', [2]);
    g.node('Reshape', ['x', 'shape'], ['y']);
    g.node('Mul', ['x', g.constant('three', 'float32', [], [3])], ['z']);
    g.output('y', 'float32', ['N', 6]);
    g.output('z', 'float32', ['N', 6]);
  },
  (m) => {
    setType(m, 'input', 'x', tensorOf(1));
    setType(m, 'output', 'y', tensorOf(1));
    setType(m, 'output', 'z', tensorOf(1));
  },
);

/** An initializer that is also a graph input (a default the caller could override): `y = x + bias`. */
const withDefault = build('with-default', (g) => {
  g.input('x', 'float32', ['N', 2]);
  g.input('bias', 'float32', [2]);
  g.constant('bias', 'float32', [2], [10, 20]);
  g.node('Add', ['x', 'bias'], ['y']);
  g.output('y', 'float32', ['N', 2]);
});

/**
 * A large output: each request's 4 values tiled to 128 KiB (`[N, 4·2^13]`: above the 64 KiB an item's outputs may
 * take in a slab, so they come back by transfer), served from slabs of 256 KiB.
 */
const large = build('large', (g) => {
  g.input('x', 'float32', ['N', 4]);
  g.node('Tile', ['x', g.constant('reps', 'int64', [2], [1, 2 ** 13])], ['y']);
  g.output('y', 'float32', ['N', 2 ** 15]);
});
const LARGE_SLAB_BYTES = 256 * 1024;

describe('models that fail, cannot return a value, or stretch the interface (real onnxruntime-node)', () => {
  let executor: Executor;
  const refs: Record<string, Reference> = {};
  const load = (id: string, model: Uint8Array, more: Parameters<typeof service>[2] = {}): Promise<unknown> => {
    executor.register(service(id, model, more));
    return executor.load({ serviceId: id } as ParallelPlan, { deviceIds: ['cpu0'] });
  };
  beforeAll(async () => {
    executor = await startExecutor([]);
    for (const [name, bytes] of Object.entries({ gather, openRank, withDefault })) refs[name] = await reference(bytes);
  });
  afterAll(async () => {
    await executor?.close();
    for (const r of Object.values(refs)) await r.release();
  });

  it('fails only the request whose values the model refuses; the rest of its batch is answered', async () => {
    await load('gather', gather);
    const good = [1, 2, 3, 4, 5, 6, 7, 8].map((s) => gatherItem(s));
    await expectServedAsReference(executor, 'gather', refs['gather']!, good);
    const items = [1, 2, 3, 4, 5, 6, 7, 8].map((s) => gatherItem(s, s === 4 || s === 7));
    const expected = await Promise.all(items.map((it, i) => (i === 3 || i === 6 ? undefined : refs['gather']!.run(it))));
    const served = await submitAll(executor, 'gather', items);
    expect(Math.max(...served.batchSizes)).toBeGreaterThan(1);
    served.results.forEach((r, i) => {
      if (i === 3 || i === 6) expect(r.ok ? 'ok' : r.error.code).toBe('MODEL_ERROR');
      else if (!r.ok) throw new Error(`request ${i}: ${r.error.code} ${r.error.message}`);
      else expect(Array.from(r.outputs['y']!.data as Float32Array)).toEqual(Array.from(expected[i]!['y']!.data as Float32Array));
    });
  });

  it('fails only the refused request when the batch runs from input leases', async () => {
    await load('gather-leased', gather);
    const items = [1, 2, 3, 4, 5, 6].map((s) => gatherItem(s, s === 2));
    const expected = await Promise.all(items.map((it, i) => (i === 1 ? undefined : refs['gather']!.run(it))));
    const leased = items.map((it) => {
      const out: Record<string, NamedTensors[string]> = {};
      for (const [name, t] of Object.entries(it)) {
        const lease = executor.allocateInput('gather-leased', name, [...t.dims]);
        (lease.data as Float32Array | BigInt64Array).set(t.data as never);
        out[name] = lease;
      }
      return out;
    });
    const served = await submitAll(executor, 'gather-leased', leased);
    expect(Math.max(...served.batchSizes)).toBeGreaterThan(1);
    expect(executor.stats().services['gather-leased']!.inputLeases?.['x']?.slabBatches).toBeGreaterThan(0);
    served.results.forEach((r, i) => {
      if (i === 1) expect(r.ok ? 'ok' : r.error.code).toBe('MODEL_ERROR');
      else if (!r.ok) throw new Error(`request ${i}: ${r.error.code} ${r.error.message}`);
      else expect(Array.from(r.outputs['y']!.data as Float32Array)).toEqual(Array.from(expected[i]!['y']!.data as Float32Array));
    });
  });

  it('refuses outputNames and state names the model does not have, at load, with INVALID_OPTIONS', async () => {
    expect(await rejection(load('gather-misnamed', gather, { outputNames: ['nope'] }))).toMatchObject({ code: 'INVALID_OPTIONS' });
    const stateful = { stateful: { state: { idx: 'nope' } } };
    expect(await rejection(load('gather-misstated', gather, stateful))).toMatchObject({ code: 'INVALID_OPTIONS' });
  });

  it.each([
    ['sequence-out', sequenceOut, /output 's'.*sequence/],
    ['map-out', mapOut, /output 'm'.*(sequence|map)/],
  ])('%s: refuses at load, with LOAD_FAILED naming the non-tensor output; serves the tensors when asked for them only', async (id, bytes, message) => {
    const err = await rejection(load(id, bytes));
    expect(err.code).toBe('LOAD_FAILED');
    expect((err as Error).message).toMatch(message);
    await load(`${id}-tensors`, bytes, { outputNames: ['y'] });
    // Without a profile: measured at load, fetching only the outputs asked for.
    const { profile: _given, ...measured } = service(`${id}-measured`, bytes, { outputNames: ['y'] });
    executor.register(measured);
    await executor.load({ serviceId: `${id}-measured` } as ParallelPlan, { deviceIds: ['cpu0'] });
    const ref = await reference(bytes);
    try {
      const items = [1, 2, 3, 4].map((s) => ({ x: f32([1, id === 'map-out' ? 2 : 3], s) }));
      await expectServedAsReference(executor, `${id}-tensors`, ref, items, { outputNames: ['y'] });
      await expectServedAsReference(executor, `${id}-measured`, ref, items, { outputNames: ['y'] });
      expect(executor.itemSeparability(`${id}-measured`)).toBe('separable');
    } finally {
      await ref.release();
    }
  });

  it('refuses a model with a non-tensor input at load, with LOAD_FAILED naming it', async () => {
    const err = await rejection(load('sequence-in', sequenceIn));
    expect(err.code).toBe('LOAD_FAILED');
    expect((err as Error).message).toMatch(/input 's'.*sequence/);
  });

  it('serves inputs and outputs of open rank, whatever the request\'s rank', async () => {
    await load('open-rank', openRank);
    const shapes: [number[], bigint[]][] = [
      [[1, 6], [2n, 3n]],
      [[2, 3], [3n, 2n]],
      [[6], [1n, 6n]],
      [[1, 6], [6n, 1n]],
    ];
    const items = shapes.map(([dims, shape], s) => ({ x: f32(dims, s), shape: { type: 'int64' as const, dims: [2], data: new BigInt64Array(shape) } }));
    await expectServedAsReference(executor, 'open-rank', refs['openRank']!, items);
  });

  it('serves a model whose initializer is also an input with its default, and a request that overrides it with its own', async () => {
    await load('with-default', withDefault);
    await expectServedAsReference(executor, 'with-default', refs['withDefault']!, [1, 2, 3].map((s) => ({ x: f32([1, 2], s) })));
    const given = f32([2], 2);
    const x = f32([1, 2], 1);
    const out = await executor.submit('with-default', { x, bias: given });
    const [x0, x1] = Array.from(x.data as Float32Array);
    const [b0, b1] = Array.from(given.data as Float32Array);
    expect(Array.from(out['y']!.data as Float32Array)).toEqual([x0! + b0!, x1! + b1!]);
  });
});

describe('large outputs (real onnxruntime-node)', () => {
  // Larger than a slab is what matters, not larger in itself: 128 KiB answers and slabs of 256 KiB take the path that
  // 4 MiB answers and the default 8 MiB slabs took, at a thirty-second of the bytes (the case took ~21 s).
  let executor: Executor;
  let ref: Reference;
  beforeAll(async () => {
    ref = await reference(large);
    executor = createExecutor({
      devices: [{ id: 'cpu0', threads: 1, inputSlabBytes: LARGE_SLAB_BYTES }],
      launchWhenIdle: true,
      services: [service('large', large, { profile: affineProfile('cpu-1t', { fixedMs: 1, perItemMs: 1, maxBatch: 5 }), maxBatch: 5 })],
    });
    await executor.start();
  });
  afterAll(async () => {
    await executor?.close();
    await ref?.release();
  });

  it('answers large outputs exactly, through batches larger than a slab', async () => {
    const served = await expectServedAsReference(executor, 'large', ref, [1, 2, 3, 4, 5].map((s) => ({ x: f32([1, 4], s) })));
    expect(served.results).toHaveLength(5);
    // Five 128 KiB answers (640 KiB) do not fit one 256 KiB slab: some batch carried more than one of them.
    expect(Math.max(...served.batchSizes)).toBeGreaterThan(2);
  });
});
