import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, createGraphBuilder, type BatchDispatchedEvent, type Executor } from '@epara/runtime';
import type { NamedTensors } from '@epara/core';

/*
 * A model met for the first time is profiled at load, at batch sizes up to `maxBatch` (32). Items of 80 MB (a
 * `[N, 20000000]` float32 input and output) made that 32 copies of the item in, 32 out and the copies between:
 * `epara serve` grew to 13.6 GB of RSS while it loaded the model, before it served anything (measured under load) —
 * and the batches it then formed were as large. The profile (and with it the largest batch) stops where a batch's
 * inputs would hold more than one request may send (`maxRequestBytes`), or its outputs more than one may get
 * (`maxResponseBytes`). Small items here, with limits to match, stand for the large ones.
 */

const KIB = 1024;
/** `y = -x` over `x f32[N, 16384]`: 64 KiB an item in, 64 KiB out. */
const wide = (() => {
  const g = createGraphBuilder({ name: 'wide' });
  g.input('x', 'float32', ['N', 16_384]);
  g.node('Neg', ['x'], ['y']);
  g.output('y', 'float32', ['N', 16_384]);
  return g.toBytes();
})();
/** `y = Tile(x, [1, 4096])` over `x f32[N, 4]`: 16 bytes an item in, 64 KiB out. */
const fanOut = (() => {
  const g = createGraphBuilder({ name: 'fan-out' });
  g.input('x', 'float32', ['N', 4]);
  g.node('Tile', ['x', g.constant('reps', 'int64', [2], [1, 4096])], ['y']);
  g.output('y', 'float32', ['N', 16_384]);
  return g.toBytes();
})();

const service = (id: string, model: Uint8Array, more: object) => ({ id, model, sensitivity: 'latency' as const, slo: { kind: 'latency' as const, deadlineMs: 60_000 }, devices: ['cpu0'], maxBatch: 32, ...more });

describe('load-time profiling of a model with large items (real onnxruntime-node)', () => {
  let executor: Executor;
  const sizes = new Map<string, number[]>();
  beforeAll(async () => {
    executor = createExecutor({
      devices: [{ id: 'cpu0', threads: 1 }],
      launchWhenIdle: true,
      profiling: { warmup: 0, repetitions: 1 },
      services: [
        // Measured, not declared: no profile; sampleInputs so that the batch check runs at load.
        service('wide', wide, { maxRequestBytes: 256 * KIB, sampleInputs: { x: { type: 'float32', dims: [1, 16_384], data: new Float32Array(16_384).fill(1) } } }),
        service('fan-out', fanOut, { maxResponseBytes: 256 * KIB, sampleInputs: { x: { type: 'float32', dims: [1, 4], data: new Float32Array([1, 2, 3, 4]) } } }),
      ],
    });
    executor.on('batchDispatched', (e: BatchDispatchedEvent) => sizes.set(e.serviceId, [...(sizes.get(e.serviceId) ?? []), e.size]));
    await executor.start();
  });
  afterAll(async () => {
    await executor?.close();
  });

  /** Submits `n` requests at once and checks each answer; the batches the executor formed for them. */
  async function burst(id: string, n: number, item: (v: number) => NamedTensors, check: (out: NamedTensors, v: number) => void): Promise<number[]> {
    sizes.set(id, []);
    const outs = await Promise.all(Array.from({ length: n }, (_, v) => executor.submit(id, item(v))));
    outs.forEach((o, v) => check(o, v));
    return sizes.get(id)!;
  }

  it('batches inputs no larger together than one request may send', async () => {
    const batches = await burst(
      'wide',
      16,
      (v) => ({ x: { type: 'float32', dims: [1, 16_384], data: new Float32Array(16_384).fill(v) } }),
      (o, v) => expect((o['y']!.data as Float32Array)[16_383]).toBe(-v),
    );
    // 256 KiB: four items of 64 KiB.
    expect(Math.max(...batches)).toBeLessThanOrEqual(4);
    expect(Math.max(...batches)).toBeGreaterThan(1);
  });

  it('batches outputs no larger together than one request may get', async () => {
    const batches = await burst(
      'fan-out',
      16,
      (v) => ({ x: { type: 'float32', dims: [1, 4], data: new Float32Array([v, v, v, v]) } }),
      (o, v) => expect((o['y']!.data as Float32Array)[16_383]).toBe(v),
    );
    expect(Math.max(...batches)).toBeLessThanOrEqual(4);
    expect(Math.max(...batches)).toBeGreaterThan(1);
  });
});
