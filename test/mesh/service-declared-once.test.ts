import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latencyAt, type ServiceSpec } from '@epara/core';
import { createExecutor, type Executor, type ExecutorServiceOptions } from '@epara/runtime';
import { createNode, createWebSocketTransport, type MeshNode } from '@epara/mesh';
import { doubler, flat, item, values } from '../runtime/helpers.js';
import { PSK } from './helpers.js';

/*
 * One declaration per service: core's ServiceSpec fields (SLO, memory, profiles) plus the runtime's model. The
 * executor and the mesh node take the same object; the executor plans from the declared profile of its
 * device's profile key instead of measuring one at load.
 */
const declared = flat(25);
const DOUBLE = {
  id: 'double',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 2000 },
  memory: { weightsBytes: 1e6, perItemBytes: 1e4 },
  profiles: { 'cpu-1t': declared },
  networkBudgetMs: 5,
  model: doubler({ fixedMs: 1 }),
  devices: ['cpu0'],
} as const satisfies ExecutorServiceOptions & ServiceSpec;

describe('a service declared once', () => {
  let executor: Executor;
  let node: MeshNode;
  beforeAll(async () => {
    executor = createExecutor({ devices: [{ id: 'cpu0' }], backend: { kind: 'fake' }, services: [DOUBLE] });
    await executor.start();
    node = createNode({ id: 'n1', transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }), executor, services: [DOUBLE], security: { psk: PSK }, placement: false });
    await node.start();
  }, 30_000);
  afterAll(async () => {
    await node?.close();
    await executor?.close();
  });

  it('feeds the executor: its instance plans from the declared profile, not a measured one', () => {
    const [inst] = executor.instances();
    expect(inst?.serviceId).toBe('double');
    // The fake model runs in about 1 ms; the declared profile says 25 ms per batch.
    expect(inst?.runMs).toBeCloseTo(latencyAt(declared, inst!.batchSize), 6);
  });

  it('feeds the mesh node with the same object, which serves it', async () => {
    const out = await node.submit('double', item(3, 4), { deadline: Date.now() + 2000 });
    expect(values(out)).toEqual([7, 9]);
  });
});
