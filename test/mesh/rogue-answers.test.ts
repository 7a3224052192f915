import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterView, ServerEntry } from '@epara/core';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode, secureConnection } from '@epara/mesh';
import type { MeshNode, Transport, ViewSync, ViewSyncContext } from '@epara/mesh';
import { decodeFrame, encodeFrame } from '@epara/mesh/wire';
import { ECHO, input, PSK, serverOf, until, watch } from './helpers.js';

/*
 * A peer that answers what it was never asked, and answers twice: an authenticated server (a bug, a replay)
 * sends a result for every request id before the one it got — ids the origin sent to another server — and repeats
 * its own answers. An answer must belong to its request: a result settles only a request that went to the server
 * answering, once; every other request gets its own answer.
 */

/** A view every node reads from one map (no ring): the test decides who is in it. */
function sharedView(registry: Map<string, ServerEntry>) {
  return (ctx: ViewSyncContext): ViewSync => {
    let version = 0;
    const write = (): void => void registry.set(ctx.selfId, { serverId: ctx.selfId, epoch: ctx.epoch, version: ++version, updatedAt: ctx.clock.now(), alive: true, ...ctx.readSelf() });
    return {
      on: () => undefined,
      store: { view: (): ClusterView => ({ entries: Object.fromEntries(registry) }), get: (id: string) => registry.get(id), get self() { return registry.get(ctx.selfId)!; } },
      start: write,
      stop: () => undefined,
      reportDead: () => undefined,
    } as unknown as ViewSync;
  };
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

/**
 * A rogue server: answers each submit right, twice, and forges a result for the `forgeBelow` ids before it that
 * it never got (the origin sent those elsewhere). Ids after it are not forged: the origin may have sent them here
 * already, and a wrong answer to a request a server did get is a lying server, which no origin can tell apart.
 */
async function startRogue(transport: Transport, forgeBelow: number): Promise<{ received: number[] }> {
  const received: number[] = [];
  transport.on('connectionAccepted', ({ connection: raw }) => {
    void secureConnection(raw, { psk: PSK, selfId: 'n2', role: 'server' }).then(({ connection }) =>
      connection.on('frameReceived', ({ frame }) => {
        const m = decodeFrame(frame);
        if (m.type !== 'submit') return;
        received.push(m.requestId);
        const x = m.inputs['x']!.data as Float32Array;
        const right = encodeFrame({ type: 'result', requestId: m.requestId, outputs: { x: { type: 'float32', dims: [x.length], data: x.map((v) => 2 * v) }, server: { type: 'float32', dims: [1], data: Float32Array.of(2) } } });
        connection.send(right);
        connection.send(right);
        for (let id = m.requestId - forgeBelow; id < m.requestId; id++) {
          if (id <= 0 || received.includes(id)) continue;
          connection.send(encodeFrame({ type: 'result', requestId: id, outputs: { x: { type: 'float32', dims: [1], data: Float32Array.of(999) }, server: { type: 'float32', dims: [1], data: Float32Array.of(66) } } }));
        }
      }),
    );
  });
  await transport.listen();
  return { received };
}

describe('a peer answering requests it never got, and answering twice', () => {
  it('settles each request with its own answer, from the server it went to, once', async () => {
    const hub = createMemoryHub();
    const registry = new Map<string, ServerEntry>();
    const make = async (id: string, hosted: boolean, tag: number): Promise<MeshNode> => {
      const node = createNode({
        id,
        transport: createMemoryTransport({ hub, address: id }),
        executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 100 } }, hosted: hosted ? ['echo'] : [], tag }),
        security: { psk: PSK },
        services: [ECHO],
        viewSync: sharedView(registry),
        placement: false,
      });
      watch(node);
      await node.start();
      closers.push(() => node.close());
      return node;
    };
    const n0 = await make('n0', false, 0);
    await make('n1', true, 1);
    const rogueTransport = createMemoryTransport({ hub, address: 'rogue' });
    closers.push(() => rogueTransport.close());
    const rogue = await startRogue(rogueTransport, 12);
    await until(() => n0.view().entries['n1']?.instances.length === 1, 'n0 sees the instance of n1');

    // Requests to n1 first (the rogue not in the view yet): they wait there, 100 ms each.
    const toN1 = [1, 2, 3, 4, 5].map((v) => n0.submit('echo', input([v]), { deadline: Date.now() + 10_000 }));
    const instance = { instanceId: 'echo@n2', serviceId: 'echo', status: 'ready' as const, requestStrategy: 'batching' as const, serviceStrategy: 'single' as const, batchSize: 1, capacityPerSec: 1000, loadPerSec: 0, waitMs: 0, runMs: 1 };
    registry.set('n2', { serverId: 'n2', epoch: 1, version: 1, updatedAt: Date.now(), alive: true, address: 'rogue', instances: [instance], load: 0, freeMemoryBytes: 1e9, arrivalRates: {} });
    // Now the rogue, idle, is the better choice: it answers, twice, and forges results for n1's requests.
    const toRogue = [6, 7].map((v) => n0.submit('echo', input([v]), { deadline: Date.now() + 10_000 }));
    const outs = await Promise.all([...toN1, ...toRogue]);

    expect(rogue.received.length).toBeGreaterThan(0);
    expect(outs.map((o) => (o['x']!.data as Float32Array)[0])).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(outs.slice(0, 5).map(serverOf)).toEqual([1, 1, 1, 1, 1]);
    expect(outs.map(serverOf)).not.toContain(66);
  });
});
