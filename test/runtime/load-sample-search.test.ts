import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger, NamedTensors } from '@epara/core';
import { createExecutor, createGraphBuilder, type Executor, type ExecutorServiceOptions } from '@epara/runtime';

/*
 * The load-time sample search of the executor, for a service loaded with neither a profile nor `sampleInputs`
 * (what `epara serve` gives a model it knows nothing of): an integer input of fixed shape the model divides by,
 * or reads as a count, fails on zeros and is tried again with ones; the item found becomes the service's sample,
 * so the batch check at load and every later load use it instead of searching again.
 */

const lines: { msg: string; serviceId?: string }[] = [];
const logger: Logger = {
  debug: () => undefined,
  info: (o, msg) => void lines.push({ msg: msg ?? '', ...(o as { serviceId?: string }) }),
  warn: (o, msg) => void lines.push({ msg: msg ?? '', ...(o as { serviceId?: string }) }),
  error: (o, msg) => void lines.push({ msg: msg ?? '', ...(o as { serviceId?: string }) }),
};

/** y = a / d over int64 `[batch, 2]`: onnxruntime refuses an integer division by zero. */
function divModel(): Uint8Array {
  const g = createGraphBuilder({ name: 'div', seed: 1 });
  g.input('a', 'int64', ['batch', 2]);
  g.input('d', 'int64', ['batch', 2]);
  g.node('Div', ['a', 'd'], ['y']);
  g.output('y', 'int64', ['batch', 2]);
  return g.toBytes();
}

/**
 * x f32 `[batch, n]` (free n) and a fixed-shape `k` int32 `[batch, 1]`: y = x · 1/k with k an integer divisor
 * first (`Div(k, k)` fails on zero), so the search must size `n` and fill `k` with ones.
 */
function scaledModel(): Uint8Array {
  const g = createGraphBuilder({ name: 'scaled', seed: 1 });
  g.input('x', 'float32', ['batch', 'n']);
  g.input('k', 'int32', ['batch', 1]);
  const one = g.op('Div', ['k', 'k']);
  const kf = g.op('Cast', [g.op('Mul', ['k', one])], { to: 1 });
  g.node('Div', ['x', kf], ['y']);
  g.output('y', 'float32', ['batch', 'n']);
  return g.toBytes();
}

const service = (id: string, model: Uint8Array): ExecutorServiceOptions => ({ id, model, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 30_000 }, maxBatch: 4 });
const i64 = (values: number[]): NamedTensors[string] => ({ type: 'int64', dims: [1, values.length], data: BigInt64Array.from(values.map(BigInt)) });

let ex: Executor;
beforeAll(() => {
  ex = createExecutor({ logger, devices: [{ id: 'cpu0', threads: 1 }], profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 }, services: [service('div', divModel()), service('scaled', scaledModel())] });
});
afterAll(async () => {
  await ex?.close();
});

describe('a load with no sample searches one, retrying integer inputs of fixed shape with ones', () => {
  it('loads a model that divides by a fixed-shape integer input, and answers as onnxruntime does', async () => {
    const first = await ex.load({ serviceId: 'div' }, { deviceIds: ['cpu0'] });
    expect(lines.find((l) => l.serviceId === 'div' && /failed on its load-time sample/.test(l.msg))?.msg).toMatch(/zeros shaped a \[1,2\], d \[1,2\].*profiled on a \[1,2\], d \[1,2\] \(ones\)/);
    const out = await ex.submit('div', { a: i64([9, -8]), d: i64([2, 3]) });
    expect(Array.from(out['y']!.data as BigInt64Array, Number)).toEqual([4, -2]);
    // A zero divisor in a request is that request's model error.
    await expect(ex.submit('div', { a: i64([1, 2]), d: i64([1, 0]) })).rejects.toMatchObject({ code: 'MODEL_ERROR' });
    // Checked at load with the item found (ones, then twos), not left to the first request.
    expect(ex.itemSeparability('div')).toBe('separable');
    // Kept as the service's sample: a later load runs on it at once, with no search and no such line.
    await ex.unload(first.instanceId);
    const before = lines.length;
    await ex.load({ serviceId: 'div' }, { deviceIds: ['cpu0'] });
    expect(lines.slice(before).filter((l) => /failed on its load-time sample/.test(l.msg))).toEqual([]);
  });

  it('sizes a free dim and fills the fixed integer input with ones in one search', async () => {
    await ex.load({ serviceId: 'scaled' }, { deviceIds: ['cpu0'] });
    expect(lines.find((l) => l.serviceId === 'scaled' && /failed on its load-time sample/.test(l.msg))?.msg).toMatch(/zeros shaped x \[1,1\], k \[1,1\]/);
    const out = await ex.submit('scaled', { x: { type: 'float32', dims: [1, 3], data: Float32Array.from([2, 4, 6]) }, k: { type: 'int32', dims: [1, 1], data: Int32Array.from([2]) } });
    expect(Array.from(out['y']!.data as Float32Array)).toEqual([1, 2, 3]);
  });
});
