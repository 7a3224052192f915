import { EparaError } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { createMemoryHub } from '../transport/memory-hub.js';
import { createMemoryTransport } from '../transport/memory-transport.js';
import { createNode } from './create-node.js';

const x = { x: { type: 'float32' as const, dims: [1], data: new Float32Array(1) } };

describe('MeshNode drain and advertise', () => {
  it('drain refuses new submits with CLOSED, lets accepted ones finish, then closes', async () => {
    const executor = createFakeExecutor({ services: { s: { serviceTimeMs: 30 } }, hosted: ['s'] });
    const node = createNode({ id: 'a', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false });
    await node.start();
    const accepted = [node.submit('s', x), node.submit('s', x)];
    const drained = node.drain({ timeoutMs: 2000 });
    expect(node.draining).toBe(true);
    await expect(node.submit('s', x)).rejects.toMatchObject({ code: 'CLOSED' });
    const results = await Promise.allSettled(accepted);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    await drained;
    await expect(node.submit('s', x)).rejects.toBeInstanceOf(EparaError);
    expect(node.drain()).toBe(drained);
  });

  it('drain waits as long as it is told — past the platform timer limit, or unbounded — and refuses a bad timeout', async () => {
    const executor = createFakeExecutor({ services: { s: { serviceTimeMs: 30 } }, hosted: ['s'] });
    // closeTimeoutMs 0: whatever drain stops waiting for is cut off by close() with CLOSED at once.
    const make = (id: string) => createNode({ id, transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false, closeTimeoutMs: 0 });
    for (const [id, timeoutMs] of [['long', 1e10], ['unbounded', Infinity]] as const) {
      const node = make(id);
      await node.start();
      const accepted = node.submit('s', x);
      await node.drain({ timeoutMs });
      await expect(accepted).resolves.toBeDefined();
    }
    const node = make('bad');
    await node.start();
    for (const timeoutMs of [-1, Number.NaN, '5' as unknown as number]) await expect(node.drain({ timeoutMs })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    expect(node.draining).toBe(false);
    await node.close();
  });

  it('announces the advertise address instead of the bound one', async () => {
    const executor = createFakeExecutor({ services: {} });
    const node = createNode({ id: 'b', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false, advertise: 'ws://10.0.0.9:7400/epara', syncPeriodMs: 10 });
    await node.start();
    expect(node.address).toBe('ws://10.0.0.9:7400/epara');
    await new Promise((r) => node.once('syncCompleted', r));
    expect(node.view().entries['b']?.address).toBe('ws://10.0.0.9:7400/epara');
    await node.close();
    expect(() => createNode({ id: 'c', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, advertise: '' })).toThrow(/advertise/);
  });

  it('carries a priority and rejects a non-integer one', async () => {
    const executor = createFakeExecutor({ services: { s: { serviceTimeMs: 1 } }, hosted: ['s'] });
    const node = createNode({ id: 'd', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false });
    await node.start();
    await expect(node.submit('s', x, { priority: 5 })).resolves.toBeDefined();
    await expect(node.submit('s', x, { priority: 1.5 })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await node.close();
  });
});
