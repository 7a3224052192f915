import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { closeAll, input, serverOf, startCluster, until } from './helpers.js';
import type { ClusterNode } from './helpers.js';

let cluster: ClusterNode[] = [];
afterEach(async () => closeAll(cluster));

describe('mesh offloading (memory transport)', () => {
  it('offloads to the peer that hosts the service and returns its exact result', async () => {
    cluster = await startCluster({ size: 3, kind: 'memory', hosted: [2] });
    await until(() => cluster[0]!.node.view().entries['n2']!.instances.some((i) => i.status === 'ready'), 'n0 sees n2 instance');
    const out = await cluster[0]!.node.submit('echo', input([1, 2, 3]));
    expect(serverOf(out)).toBe(2);
    expect(Array.from(out['x']!.data as Float32Array)).toEqual([2, 4, 6]);
    expect(cluster[0]!.node.stats().offloaded).toBe(1);
    expect(cluster[2]!.node.stats().received).toBe(1);
  });

  it('rejects at once with NO_INSTANCE when nobody hosts the service', async () => {
    cluster = await startCluster({ size: 3, kind: 'memory', hosted: [] });
    const err = await cluster[1]!.node.submit('echo', input([1])).catch((e: unknown) => e);
    expect(isEparaError(err) && err.code).toBe('NO_INSTANCE');
  });
});
