import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryHub } from '@epara/mesh';
import type { ParallelPlan } from '@epara/core';
import { aliveIds, closeAll, startCluster, until } from './helpers.js';
import type { ClusterNode } from './helpers.js';

/*
 * A one-way partition on the ring (in-process nodes, memory network): n1 no longer hears n0, its ring predecessor,
 * while every other way passes. n1 got every token from n0: it must still learn what changes in the cluster.
 */

let cluster: ClusterNode[] = [];
afterEach(async () => {
  await closeAll(cluster);
  cluster = [];
});

const hosts = (c: ClusterNode, id: string, instanceId: string): boolean => c.node.view().entries[id]?.instances.some((i) => i.instanceId === instanceId && i.status === 'ready') === true;

describe('a one-way partition on the ring', () => {
  it('a server that no longer hears its predecessor still learns the cluster’s changes, and everyone keeps everyone alive', async () => {
    const hub = createMemoryHub();
    cluster = await startCluster({ size: 3, kind: 'memory', hosted: [], hub });
    const [n0, n1, n2] = cluster as [ClusterNode, ClusterNode, ClusterNode];
    hub.setFaults({ drop: (link) => link.from === 'n0' && link.to === 'n1' });
    // A change at n2 after the cut: n1 learns it — before, n1 heard tokens only from n0 and its view froze.
    await n2.executor.load({ serviceId: 'echo' } as ParallelPlan, { instanceId: 'late' });
    await until(() => hosts(n1, 'n2', 'late') && hosts(n0, 'n2', 'late'), 'n0 and n1 see the instance n2 loaded after the cut', 30_000);
    await n0.executor.load({ serviceId: 'echo' } as ParallelPlan, { instanceId: 'late0' });
    await until(() => hosts(n1, 'n0', 'late0') && hosts(n2, 'n0', 'late0'), 'n1 and n2 see the instance n0 loaded after the cut', 30_000);
    expect(cluster.map((c) => aliveIds(c.node).join())).toEqual(['n0,n1,n2', 'n0,n1,n2', 'n0,n1,n2']);
  }, 60_000);
});
