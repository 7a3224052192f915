import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterView, ServerEntry } from '@epara/core';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode, ViewSync, ViewSyncContext } from '@epara/mesh';
import { input, PSK, serverOf, until, watch } from './helpers.js';

/** A shared in-process registry standing in for a key-value store with watches. */
function registrySync(registry: Map<string, ServerEntry>) {
  return (ctx: ViewSyncContext): ViewSync => {
    let version = 0;
    let timer: ReturnType<typeof setInterval> | undefined;
    const listeners = new Map<string, ((e: unknown) => void)[]>();
    const sync = {
      on: (event: string, fn: (e: unknown) => void) => (listeners.set(event, [...(listeners.get(event) ?? []), fn]), sync),
      emit: (event: string, e?: unknown) => (listeners.get(event) ?? []).forEach((fn) => fn(e)),
    };
    const write = (): void => {
      registry.set(ctx.selfId, { serverId: ctx.selfId, epoch: ctx.epoch, version: ++version, updatedAt: ctx.clock.now(), alive: true, ...ctx.readSelf() });
      sync.emit('roundCompleted', { origin: ctx.selfId, round: version, hops: registry.size, durationMs: 0 });
    };
    const view = (): ClusterView => ({ entries: Object.fromEntries(registry) });
    return Object.assign(sync, {
      store: { view, get: (id: string) => registry.get(id), get self() { return registry.get(ctx.selfId)!; } },
      start: () => (write(), (timer = setInterval(write, 20))),
      stop: () => clearInterval(timer),
      reportDead: (id: string) => {
        const e = registry.get(id);
        if (e) registry.set(id, { ...e, alive: false });
      },
    }) as unknown as ViewSync;
  };
}

const nodes: MeshNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

describe('createNode({ viewSync })', () => {
  it('routes on a view fed by a plugged-in synchronization instead of the ring', async () => {
    const hub = createMemoryHub();
    const registry = new Map<string, ServerEntry>();
    for (const [i, id] of ['a', 'b'].entries()) {
      const node = createNode({
        id,
        transport: createMemoryTransport({ hub, address: id }),
        executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: i === 1 ? ['echo'] : [], tag: i }),
        security: { psk: PSK },
        viewSync: registrySync(registry),
        placement: false,
      });
      watch(node);
      await node.start();
      nodes.push(node);
    }
    await until(() => nodes[0]!.view().entries['b']?.instances.length === 1, 'a sees b in the registry');
    const out = await nodes[0]!.submit('echo', input([3]), { deadline: Date.now() + 1000 });
    expect(serverOf(out)).toBe(1);
    expect(nodes[0]!.stats().syncBytesSent).toBe(0);
  });
});
