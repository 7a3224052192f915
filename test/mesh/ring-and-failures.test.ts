import { afterEach, describe, expect, it } from 'vitest';
import { createNode, createWebSocketTransport, createFakeExecutor } from '@epara/mesh';
import type { NamedTensors } from '@epara/core';
import { aliveIds, closeAll, input, startCluster, until } from './helpers.js';
import type { ClusterNode } from './helpers.js';

let cluster: ClusterNode[] = [];
afterEach(async () => closeAll(cluster));

describe('ring sync over WebSocket (127.0.0.1)', () => {
  it('converges: a change on one node reaches all five', async () => {
    cluster = await startCluster({ size: 5, kind: 'ws', hosted: [] });
    const rounds = cluster[0]!.node.stats().syncRounds;
    expect(rounds).toBeGreaterThan(0);
    await cluster[4]!.executor.load({ serviceId: 'echo' } as never, { instanceId: 'late' });
    await until(() => cluster.every((c) => c.node.view().entries['n4']!.instances.some((i) => i.instanceId === 'late' && i.status === 'ready')), 'all see n4/late');
    for (const c of cluster) expect(aliveIds(c.node)).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    expect(cluster[2]!.node.stats().syncBytesSent).toBeGreaterThan(0);
  });

  it('refuses a peer with the wrong key: it never joins anyone view', async () => {
    cluster = await startCluster({ size: 2, kind: 'ws', hosted: [] });
    const intruder = createNode({
      id: 'evil',
      transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }),
      executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'] }),
      security: { psk: 'a-completely-different-key!!' },
      seeds: [cluster[0]!.node.address!],
      syncPeriodMs: 50,
      placement: false,
    });
    await intruder.start();
    let rounds = 0;
    cluster[0]!.node.on('syncCompleted', () => rounds++);
    await until(() => rounds >= 10, 'ten more sync rounds');
    expect(aliveIds(cluster[0]!.node)).toEqual(['n0', 'n1']);
    expect(aliveIds(intruder)).toEqual(['evil']);
    await intruder.close();
  });
});

describe('failures over WebSocket', () => {
  it('a node killed mid-load loses no accepted request, and placement restores the service', async () => {
    // No placement before the failure: a first placement racing the submits could put echo on n0 (their
    // arrivals are its demand), and then n1 would never get the requests the test kills it with.
    cluster = await startCluster({ size: 4, kind: 'ws', hosted: [1], serviceTimeMs: 10, node: { placement: { initialDelayMs: 600_000 }, placementPeriodMs: 600_000 } });
    const [n0, n1] = [cluster[0]!, cluster[1]!];
    await until(() => n0.node.view().entries['n1']!.instances.some((i) => i.status === 'ready'), 'n0 sees n1 instance');
    const left: string[] = [];
    n0.node.on('peerLeft', (e) => left.push(e.serverId));
    let received = 0;
    n1.node.on('requestReceived', () => void (received += 1));
    const results: Promise<NamedTensors>[] = [];
    for (let i = 0; i < 20; i++) results.push(n0.node.submit('echo', input([i]), { deadline: Date.now() + 2000 }));
    const all = Promise.allSettled(results);
    await until(() => received >= 5, 'n1 is busy with forwarded requests');
    // Kill n1: its executor never answers again and its sockets go away.
    n1.executor.freeze();
    await n1.transport.close();
    const settled = await all;
    expect(settled).toHaveLength(20);
    // Nothing else hosted echo, so the requests n1 held could not be retried: each got a typed rejection.
    for (const s of settled) {
      if (s.status === 'rejected') expect(['PEER_UNAVAILABLE', 'DEADLINE_INFEASIBLE']).toContain((s.reason as { code: string }).code);
    }
    expect(settled.filter((s) => s.status === 'rejected').length).toBeGreaterThan(0);
    await until(() => left.includes('n1'), 'n0 marks n1 dead');
    // The leader (n0) re-placed at once after the failure: echo is back on an alive server.
    await until(() => cluster.slice(0, 1).concat(cluster.slice(2)).some((c) => c.executor.instances().some((i) => i.serviceId === 'echo' && i.status === 'ready')), 'echo restored');
    await until(() => Object.values(n0.node.view().entries).some((e) => e.alive && e.instances.some((i) => i.serviceId === 'echo' && i.status === 'ready')), 'view shows echo');
    const out = await n0.node.submit('echo', input([7]), { deadline: Date.now() + 2000 });
    expect((out['x']!.data as Float32Array)[0]).toBe(14);
  });
});
