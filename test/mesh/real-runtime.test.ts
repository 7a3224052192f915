import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import { createExecutor } from '@epara/runtime';
import type { Executor } from '@epara/runtime';
import { createFakeExecutor, createNode, createWebSocketTransport } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { models, seededFloats } from '../fixtures/models.js';
import { PSK, until, watch } from './helpers.js';

const clsItem = (seed: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 3, 48, 192], data: seededFloats(3 * 48 * 192, seed) } });
const probs = (o: NamedTensors): number[] => Array.from(o['softmax_0.tmp_0']!.data as Float32Array);

describe('mesh with the real runtime executor (PP-OCR classifier on onnxruntime-node)', () => {
  let runtime: Executor;
  let edge: MeshNode;
  let server: MeshNode;
  beforeAll(async () => {
    runtime = createExecutor({
      devices: [{ id: 'cpu0', threads: 1 }],
      launchWhenIdle: true,
      profiling: { warmup: 1, repetitions: 2 },
      services: [{ id: 'cls', model: models.ocrCls, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 5000 }, sampleInputs: clsItem(0), maxBatch: 4, devices: ['cpu0'] }],
    });
    await runtime.start();
    const common = { security: { psk: PSK }, syncPeriodMs: 50, placement: false } as const;
    server = createNode({ id: 'gpu-box', transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }), executor: runtime, ...common });
    await server.start();
    // The edge node hosts nothing: every request it takes is offloaded.
    edge = createNode({
      id: 'edge',
      transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }),
      executor: createFakeExecutor({ services: {} }),
      seeds: [server.address!],
      ...common,
    });
    await edge.start();
    watch(server, edge);
    await until(() => edge.view().entries['gpu-box']?.instances.some((i) => i.serviceId === 'cls' && i.status === 'ready') === true, 'edge sees cls');
  }, 60_000);
  afterAll(async () => {
    await edge?.close();
    await server?.close();
    await runtime?.close();
  });

  it('offloads real inferences over WebSocket and returns exactly what the model computes locally', async () => {
    const remote = await Promise.all([1, 2, 3].map((s) => edge.submit('cls', clsItem(s), { deadline: Date.now() + 5000 })));
    const local = await Promise.all([1, 2, 3].map((s) => runtime.submit('cls', clsItem(s))));
    remote.forEach((r, i) => {
      expect(r['softmax_0.tmp_0']!.dims).toEqual([1, 2]);
      probs(r).forEach((v, k) => expect(v).toBeCloseTo(probs(local[i]!)[k]!, 5));
    });
    expect(edge.stats().offloaded).toBe(3);
    expect(server.stats().received).toBe(3);
  });
});
