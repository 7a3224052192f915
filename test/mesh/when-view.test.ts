import { describe, expect, it } from 'vitest';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { ClusterView } from '@epara/core';
import { EparaError } from '@epara/core';
import { ECHO, PSK, startCluster } from './helpers.js';

const echoReadyOn = (serverId: string) => (v: ClusterView): boolean => v.entries[serverId]?.instances.some((i) => i.serviceId === 'echo' && i.status === 'ready') === true;

function lonely(id = 'solo') {
  const hub = createMemoryHub();
  return createNode({
    id,
    transport: createMemoryTransport({ hub, address: id }),
    executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: [] }),
    security: { psk: PSK },
    services: [ECHO],
    devices: [{ id: 'cpu0', kind: 'cpu', memoryBytes: 1e9 }],
    syncPeriodMs: 50,
    placement: false,
  });
}

describe('MeshNode.whenView', () => {
  it('resolves with the first view in which a peer that joins later shows its instance', async () => {
    const [a, b] = await startCluster({ size: 2, kind: 'memory', hosted: [] });
    try {
      let checks = 0;
      const waiting = a!.node.whenView((v) => {
        checks++;
        return echoReadyOn('n1')(v);
      });
      // Not there yet: the check ran at once and failed.
      expect(checks).toBeGreaterThanOrEqual(1);
      await b!.executor.load({ serviceId: 'echo' } as never, { instanceId: 'late' });
      const view = await waiting;
      expect(echoReadyOn('n1')(view)).toBe(true);
      expect(echoReadyOn('n1')(a!.node.view())).toBe(true);
    } finally {
      await Promise.all([a!.node.close(), b!.node.close()]);
    }
  });

  it("resolves on a change of this node's own entry, on a server alone (no peer's token to wait for)", async () => {
    const hub = createMemoryHub();
    const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: [] });
    const node = createNode({ id: 'solo', transport: createMemoryTransport({ hub, address: 'solo' }), executor, security: { psk: PSK }, services: [ECHO], syncPeriodMs: 50, placement: false });
    await node.start();
    try {
      let changes = 0;
      node.on('viewChanged', () => void (changes += 1));
      const waiting = node.whenView(echoReadyOn('solo'));
      await executor.load({ serviceId: 'echo' } as never, { instanceId: 'own' });
      // No timeout: before, only a peer's token raised viewChanged, so on a server alone this waited for ever.
      const view = await waiting;
      expect(echoReadyOn('solo')(view)).toBe(true);
      expect(changes).toBeGreaterThanOrEqual(1);
    } finally {
      await node.close();
    }
  });

  it('resolves at once when the view already holds, without waiting for a change', async () => {
    const node = lonely();
    await node.start();
    try {
      const view = await node.whenView((v) => v.entries['solo'] !== undefined);
      expect(view.entries['solo']?.serverId).toBe('solo');
    } finally {
      await node.close();
    }
  });

  it('rejects typed on timeout, abort, close, a bad option and a check that throws, and leaves no listener behind', async () => {
    const node = lonely();
    await node.start();
    const listeners = node.listenerCount('viewChanged');
    const never = (): boolean => false;
    await expect(node.whenView(never, { timeoutMs: 20 })).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    const ac = new AbortController();
    const aborted = node.whenView(never, { signal: ac.signal });
    ac.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(node.whenView(never, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(node.whenView(never, { timeoutMs: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await expect(node.whenView(never, { signal: 'stop' as never })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await expect(node.whenView(undefined as never)).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await expect(
      node.whenView(() => {
        throw new Error('boom');
      }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringContaining('boom') });
    expect(node.listenerCount('viewChanged')).toBe(listeners);
    const pending = node.whenView(never);
    await node.close();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EparaError);
    expect((err as EparaError).code).toBe('CLOSED');
    await expect(node.whenView(() => true)).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
