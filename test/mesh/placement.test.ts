import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, input, startCluster, until } from './helpers.js';
import type { ClusterNode } from './helpers.js';

let cluster: ClusterNode[] = [];
afterEach(async () => closeAll(cluster));

const readyEcho = (c: ClusterNode): boolean => c.executor.instances().some((i) => i.serviceId === 'echo' && i.status === 'ready');

describe('placement coordinator (memory transport)', () => {
  it('the lowest id leads: it places a hosted-nowhere service and every node applies its part', async () => {
    cluster = await startCluster({ size: 3, kind: 'memory', hosted: [], node: { placement: {}, placementPeriodMs: 200 } });
    const computed: string[] = [];
    for (const c of cluster) c.node.on('placementComputed', () => computed.push(c.id));
    // The leader announces its decision after applying its own part: wait for both, not one then the other.
    await until(() => cluster.some(readyEcho) && computed.length > 0, 'echo placed somewhere and the decision announced');
    expect(new Set(computed)).toEqual(new Set(['n0']));
    expect(cluster[1]!.node.stats().leader).toBe('n0');
    await until(() => Object.values(cluster[2]!.node.view().entries).some((e) => e.instances.some((i) => i.serviceId === 'echo' && i.status === 'ready')), 'n2 sees it');
    const out = await cluster[2]!.node.submit('echo', input([4]), { deadline: Date.now() + 1000 });
    expect((out['x']!.data as Float32Array)[0]).toBe(8);
  });

  it('fails over: when the leader dies the next lowest id re-places at once', async () => {
    cluster = await startCluster({ size: 3, kind: 'memory', hosted: [0], node: { placement: {}, placementPeriodMs: 60_000 } });
    const triggers: string[] = [];
    cluster[1]!.node.on('placementComputed', (e) => triggers.push(e.trigger));
    cluster[0]!.executor.freeze();
    await cluster[0]!.transport.close();
    await until(() => cluster[1]!.node.stats().leader === 'n1', 'n1 takes over');
    await until(() => triggers.includes('failure'), 'n1 re-placed after the failure');
    // The only instance died with n0: the new leader put echo back on an alive server.
    await until(() => cluster.slice(1).some(readyEcho), 'echo restored on n1 or n2');
    await until(() => Object.values(cluster[2]!.node.view().entries).some((e) => e.alive && e.instances.some((i) => i.serviceId === 'echo' && i.status === 'ready')), 'n2 sees it');
    const out = await cluster[2]!.node.submit('echo', input([1]), { deadline: Date.now() + 1000 });
    expect((out['x']!.data as Float32Array)[0]).toBe(2);
  });
});
