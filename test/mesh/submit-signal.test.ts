import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { closeAll, input, startCluster, type ClusterNode } from './helpers.js';

let cluster: ClusterNode[] = [];
afterEach(async () => closeAll(cluster));

describe('mesh submit signal validation', () => {
  it('rejects a signal that is not an AbortSignal with INVALID_OPTIONS, and still serves with a real one', async () => {
    cluster = await startCluster({ size: 1, kind: 'memory', hosted: [0] });
    const node = cluster[0]!.node;
    for (const bad of ['stop', 7, {}, { aborted: false }]) {
      const err = await node.submit('echo', input([1]), { signal: bad as unknown as AbortSignal }).catch((e: unknown) => e);
      expect(isEparaError(err) && err.code).toBe('INVALID_OPTIONS');
    }
    const err = await node.submit('echo', input([1]), { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(isEparaError(err) && err.code).toBe('ABORTED');
    const out = await node.submit('echo', input([1, 2]), { signal: new AbortController().signal });
    expect(Array.from(out['x']!.data as Float32Array)).toEqual([2, 4]);
  });
});
