import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors, StreamResult } from '@epara/core';
import { createDevice, createExecutor, type Executor } from '@epara/runtime';
import { models, seededFloats } from '../fixtures/models.js';

const clsItem = (seed: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 3, 48, 192], data: seededFloats(3 * 48 * 192, seed) } });
const detItem = (seed: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 3, 64, 64], data: seededFloats(3 * 64 * 64, seed) } });
const vadFrame = (seed: number): NamedTensors => ({
  input: { type: 'float32', dims: [1, 512], data: seededFloats(512, seed) },
  sr: { type: 'int64', dims: [], data: new BigInt64Array([16000n]) },
});
const arr = (o: NamedTensors, name: string): number[] => Array.from(o[name]!.data as Float32Array);

describe('executor on onnxruntime-node with real models', () => {
  let ex: Executor;
  beforeAll(async () => {
    ex = createExecutor({
      devices: [{ id: 'cpu0', threads: 1 }, { id: 'cpu1', threads: 1 }],
      launchWhenIdle: true,
      profiling: { warmup: 1, repetitions: 2 },
      services: [
        // No profile: measured at load with the sample input (batch 1, 2, 4).
        { id: 'cls', model: models.ocrCls, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 5000 }, sampleInputs: clsItem(0), maxBatch: 4, devices: ['cpu0'] },
        { id: 'cls1', model: models.ocrCls, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 5000 }, plan: { batchSize: 1 }, sampleInputs: clsItem(0), maxBatch: 1, devices: ['cpu1'] },
        { id: 'det', model: models.ocrDet, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 10_000 }, plan: { batchSize: 2 }, sampleInputs: detItem(0), devices: ['cpu1'] },
        {
          id: 'vad',
          model: models.sileroVad,
          sensitivity: 'frequency',
          slo: { kind: 'frequency', rateHz: 31.25, stalenessMs: 10_000 },
          plan: { batchSize: 2, capacityPerSec: 1000 },
          stateful: { state: { state: 'stateN' } },
          sampleInputs: vadFrame(0),
          devices: ['cpu0'],
        },
      ],
    });
    await ex.start();
  });
  afterAll(async () => {
    await ex.close();
  });

  it('measured a monotone profile for the classifier at load and runs batches equal to single runs', async () => {
    const info = ex.instances().find((i) => i.serviceId === 'cls')!;
    // The batch with the best measured items/s among those within 2·L(b) ≤ D (every b ≤ maxBatch here): the
    // rule the allocator uses; on a measured profile that may be below maxBatch.
    expect(info.batchSize).toBeGreaterThanOrEqual(1);
    expect(info.batchSize).toBeLessThanOrEqual(4);
    expect(info.runMs).toBeGreaterThan(0);
    const sizes: number[] = [];
    const onBatch = (e: { serviceId: string; size: number }): void => {
      if (e.serviceId === 'cls') sizes.push(e.size);
    };
    ex.on('batchDispatched', onBatch);
    const batched = await Promise.all([1, 2, 3, 4, 5, 6].map((s) => ex.submit('cls', clsItem(s))));
    ex.off('batchDispatched', onBatch);
    const single: NamedTensors[] = [];
    for (const s of [1, 2, 3, 4, 5, 6]) single.push(await ex.submit('cls1', clsItem(s)));
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    batched.forEach((b, i) => {
      const a = arr(b, 'softmax_0.tmp_0');
      const e = arr(single[i]!, 'softmax_0.tmp_0');
      expect(b['softmax_0.tmp_0']!.dims).toEqual([1, 2]);
      a.forEach((v, k) => expect(v).toBeCloseTo(e[k]!, 4));
    });
    // Different inputs give different outputs: the split did not mix items up.
    expect(arr(batched[0]!, 'softmax_0.tmp_0')).not.toEqual(arr(batched[1]!, 'softmax_0.tmp_0'));
  });

  it('runs the PP-OCR detector at a small resolution, one per-pixel map per image', async () => {
    const [a, b] = await Promise.all([ex.submit('det', detItem(1)), ex.submit('det', detItem(2))]);
    const name = Object.keys(a!)[0]!;
    expect(a![name]!.dims).toEqual([1, 1, 64, 64]);
    expect(b![name]!.dims).toEqual([1, 1, 64, 64]);
    for (const v of arr(a!, name)) expect(v >= 0 && v <= 1).toBe(true);
  });

  it('carries Silero VAD state per stream, packed across streams, equal to sequential runs', async () => {
    const frames = 5;
    const streams = [ex.openStream('vad', { rateHz: 31.25 }), ex.openStream('vad', { rateHz: 31.25 })];
    const collected = streams.map(async (s) => {
      const out: StreamResult[] = [];
      for await (const r of s) out.push(r);
      return out;
    });
    for (let k = 0; k < frames; k++) streams.forEach((s, j) => s.push(vadFrame(100 * j + k)));
    await Promise.all(streams.map((s) => s.close()));
    const results = await Promise.all(collected);
    // Reference: the same frames run one by one with the state fed back by hand.
    const device = createDevice({ id: 'ref' });
    await device.loadModel('vad', { path: models.sileroVad });
    for (let j = 0; j < 2; j++) {
      let state = new Float32Array(2 * 128);
      for (let k = 0; k < frames; k++) {
        const out = await device.run('vad', { ...vadFrame(100 * j + k), state: { type: 'float32', dims: [2, 1, 128], data: state } });
        state = new Float32Array(out['stateN']!.data as Float32Array);
        const r = results[j]![k]!;
        expect(r.ok).toBe(true);
        if (r.ok) expect(arr(r.outputs, 'output')[0]).toBeCloseTo(arr(out, 'output')[0]!, 5);
      }
    }
    await device.close();
  });
});
