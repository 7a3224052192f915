import { createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import { createFakeExecutor } from '@epara/mesh/testing';
import { describe, expect, it, vi } from 'vitest';
import { EstimateTap } from './estimate-tap.js';

const x = { x: { type: 'float32' as const, dims: [1], data: new Float32Array(1) } };

describe('EstimateTap', () => {
  it('hands the node the estimate its routing reads, once per request, and keeps it for the decision log', async () => {
    const executor = createFakeExecutor({ services: { s: { serviceTimeMs: 5 } }, hosted: ['s'] });
    const estimate = vi.spyOn(executor, 'estimate');
    const tap = new EstimateTap(executor);
    const node = createNode({ id: 'a', transport: createMemoryTransport({ hub: createMemoryHub() }), executor: tap.executor, security: { insecure: true }, placement: false });
    await node.start();
    try {
      const done = node.submit('s', x, { deadline: Date.now() + 5000 });
      const read = tap.take();
      expect(estimate).toHaveBeenCalledTimes(1);
      expect(read.read).toBe(true);
      expect(read.estimate).toBe(estimate.mock.results[0]!.value);
      expect(read.estimate?.ready).toBe(true);
      await expect(done).resolves.toHaveProperty('x');
      // Taken once: the next request starts from nothing.
      expect(tap.take()).toEqual({ read: false, estimate: undefined });
      // A service this node does not host reads `undefined`, and says it read it.
      await expect(node.submit('other', x, { deadline: Date.now() + 5000 })).rejects.toMatchObject({ code: 'NO_INSTANCE' });
      expect(tap.take()).toEqual({ read: true, estimate: undefined });
    } finally {
      await node.close();
    }
    // Refused before routing (the node is closed): nothing was read.
    await expect(node.submit('s', x)).rejects.toMatchObject({ code: 'CLOSED' });
    expect(tap.take()).toEqual({ read: false, estimate: undefined });
  });

  it('passes every other call through to the executor', async () => {
    const executor = createFakeExecutor({ services: { s: { serviceTimeMs: 1 } } });
    const tap = new EstimateTap(executor);
    const info = await tap.executor.load({ serviceId: 's' } as never, { instanceId: 'i1' });
    expect(info.instanceId).toBe('i1');
    expect(tap.executor.instances().map((i) => i.instanceId)).toEqual(['i1']);
    await expect(tap.executor.submit('s', x)).resolves.toHaveProperty('x');
    const stream = tap.executor.openStream('s', { rateHz: 1, stalenessMs: 1000 });
    await stream.close();
    await tap.executor.unload('i1');
    expect(tap.executor.instances()).toEqual([]);
  });
});
