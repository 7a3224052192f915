import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, createGraphBuilder, type Executor, type GraphBuilder } from '@epara/runtime';
import type { NamedTensors } from '@epara/core';
import { service } from './ground-truth.js';
import { rejection } from './helpers.js';

/*
 * Models whose output size an input's value sets: a 24-byte request to `Range` asked for 10^8 elements and held its
 * device (and ~1 GB) while the host copied and encoded them. The response limit refuses such outputs in the device
 * worker, typed, before they reach the host; the device serves on.
 */

const build = (name: string, make: (g: GraphBuilder) => void): Uint8Array => {
  const g = createGraphBuilder({ name });
  make(g);
  return g.toBytes();
};
/** `r = Range(0, n)`, int64: 8·n bytes from an 8-byte scalar. */
const range = build('range', (g) => {
  g.input('n', 'int64', []);
  g.node('Range', [g.constant('s', 'int64', [], [0]), 'n', g.constant('d', 'int64', [], [1])], ['r']);
  g.output('r', 'int64', ['k']);
});
/** `y = ConstantOfShape(shape)`: float32 zeros of the shape a request gives. */
const constantOfShape = build('constant-of-shape', (g) => {
  g.input('shape', 'int64', [2]);
  g.node('ConstantOfShape', ['shape'], ['y']);
  g.output('y', 'float32', ['a', 'b']);
});
/** `y = Tile(x, [1, reps])` over batched `x f32[N, 4]`: the repeat count, shared by a batch, sets the width. */
const tile = build('tile', (g) => {
  g.input('x', 'float32', ['N', 4]);
  g.input('reps', 'int64', [2]);
  g.node('Tile', ['x', 'reps'], ['y']);
  g.output('y', 'float32', ['N', 'w']);
});
/** `y = Expand(x, shape)`, uint8 (a different element size). */
const expand = build('expand', (g) => {
  g.input('x', 'uint8', [1]);
  g.input('shape', 'int64', [1]);
  g.node('Expand', ['x', 'shape'], ['y']);
  g.output('y', 'uint8', ['k']);
});

const i64 = (dims: number[], values: number[]): NamedTensors[string] => ({ type: 'int64', dims, data: BigInt64Array.from(values.map(BigInt)) });
const rangeItem = (n: number): NamedTensors => ({ n: i64([], [n]) });
const KIB = 1024;

describe('the response limit (real onnxruntime-node)', () => {
  let executor: Executor;
  beforeAll(async () => {
    executor = createExecutor({
      devices: [{ id: 'cpu0', threads: 1 }],
      launchWhenIdle: true,
      // Executor-wide: 64 KiB a request, unless the service says otherwise.
      maxResponseBytes: 64 * KIB,
      services: [
        service('range', range, { sampleInputs: rangeItem(4) }),
        service('range-big', range, { sampleInputs: rangeItem(4), maxResponseBytes: 1024 * KIB }),
        service('constant-of-shape', constantOfShape, { sampleInputs: { shape: i64([2], [1, 1]) } }),
        service('tile', tile, { sampleInputs: { x: { type: 'float32', dims: [1, 4], data: new Float32Array(4) }, reps: i64([2], [1, 1]) } }),
        // Profiled at load (no declared profile) on items of 16 KiB, up to batches of 8: 128 KiB, above the limit
        // of one request — the executor's own runs at load are not refused.
        service('tile-measured', tile, {
          profile: undefined,
          maxBatch: 8,
          sampleInputs: { x: { type: 'float32', dims: [1, 4], data: new Float32Array(4) }, reps: i64([2], [1, 1024]) },
        }),
        service('expand', expand, { sampleInputs: { x: { type: 'uint8', dims: [1], data: new Uint8Array([7]) }, shape: i64([1], [1]) } }),
      ],
    });
    await executor.start();
  });
  afterAll(async () => {
    await executor?.close();
  });

  it('refuses a response above the executor-wide limit with OUT_OF_MEMORY and its sizes, and serves the next request', async () => {
    const err = (await rejection(executor.submit('range', rangeItem(100_000)))) as { code?: string; details?: Record<string, unknown> };
    expect(err.code).toBe('OUT_OF_MEMORY');
    expect(err.details).toMatchObject({ reason: 'response-too-large', outputBytes: 800_000, maxResponseBytes: 64 * KIB, output: 'r' });
    // At the limit exactly: served.
    const out = await executor.submit('range', rangeItem((64 * KIB) / 8));
    expect(out['r']!.dims).toEqual([8192]);
    expect((out['r']!.data as BigInt64Array)[8191]).toBe(8191n);
    const over = (await rejection(executor.submit('range', rangeItem((64 * KIB) / 8 + 1)))) as { code?: string; details?: Record<string, unknown> };
    expect(over).toMatchObject({ code: 'OUT_OF_MEMORY', details: { outputBytes: 64 * KIB + 8 } });
  });

  it("takes a service's own limit over the executor's", async () => {
    const out = await executor.submit('range-big', rangeItem(100_000));
    expect(out['r']!.dims).toEqual([100_000]);
    const err = (await rejection(executor.submit('range-big', rangeItem(200_000)))) as { code?: string; details?: Record<string, unknown> };
    expect(err).toMatchObject({ code: 'OUT_OF_MEMORY', details: { reason: 'response-too-large', outputBytes: 1_600_000, maxResponseBytes: 1024 * KIB } });
  });

  it('refuses ConstantOfShape, Expand and Tile outputs a small request asks to be large; requests within the limit are answered', async () => {
    const cos = (await rejection(executor.submit('constant-of-shape', { shape: i64([2], [1000, 1000]) }))) as { code?: string; details?: Record<string, unknown> };
    expect(cos).toMatchObject({ code: 'OUT_OF_MEMORY', details: { outputBytes: 4_000_000 } });
    expect((await executor.submit('constant-of-shape', { shape: i64([2], [3, 5]) }))['y']!.dims).toEqual([3, 5]);
    const ex = (await rejection(executor.submit('expand', { x: { type: 'uint8', dims: [1], data: new Uint8Array([9]) }, shape: i64([1], [100_000]) }))) as { code?: string; details?: Record<string, unknown> };
    expect(ex).toMatchObject({ code: 'OUT_OF_MEMORY', details: { outputBytes: 100_000 } });
    const small = await executor.submit('expand', { x: { type: 'uint8', dims: [1], data: new Uint8Array([9]) }, shape: i64([1], [64 * KIB]) });
    expect(small['y']!.dims).toEqual([64 * KIB]);
    const x = { type: 'float32' as const, dims: [1, 4], data: new Float32Array([1, 2, 3, 4]) };
    const tiled = (await rejection(executor.submit('tile', { x, reps: i64([2], [1, 10_000]) }))) as { code?: string; details?: Record<string, unknown> };
    expect(tiled).toMatchObject({ code: 'OUT_OF_MEMORY', details: { outputBytes: 160_000, requests: 1 } });
    const ok = await executor.submit('tile', { x, reps: i64([2], [1, 2]) });
    expect(Array.from(ok['y']!.data as Float32Array)).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
  });

  it('counts the limit per request of a batch: a batch within n times it is answered, its requests alike', async () => {
    // Eight requests sharing one repeat count run as one batch where the model stacks; each gets 16 KiB.
    const x = (v: number): NamedTensors[string] => ({ type: 'float32', dims: [1, 4], data: new Float32Array([v, v, v, v]) });
    const reps = i64([2], [1, 1024]);
    const outs = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((v) => executor.submit('tile', { x: x(v), reps })));
    outs.forEach((o, i) => {
      expect(o['y']!.dims).toEqual([1, 4096]);
      expect((o['y']!.data as Float32Array)[4095]).toBe(i + 1);
    });
  });

  it("loads a model whose load-time batches hold more than one request's limit, and serves its requests", async () => {
    const x = { type: 'float32' as const, dims: [1, 4], data: new Float32Array([1, 2, 3, 4]) };
    const outs = await Promise.all([1, 2, 3].map(() => executor.submit('tile-measured', { x, reps: i64([2], [1, 1024]) })));
    for (const o of outs) expect(o['y']!.dims).toEqual([1, 4096]);
  });

  it('refuses a limit that is not a positive number of bytes', () => {
    expect(() => createExecutor({ devices: [{ id: 'cpu0' }], maxResponseBytes: 0 })).toThrow(/maxResponseBytes/);
    expect(() => createExecutor({ devices: [{ id: 'cpu0' }], services: [service('r', range, { maxResponseBytes: -1 })] })).toThrow(/services\[0\]\.maxResponseBytes/);
  });
});
