import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, input, startCluster, until } from './helpers.js';
import type { ClusterNode } from './helpers.js';

let cluster: ClusterNode[] = [];
afterEach(async () => closeAll(cluster));

describe('mesh streams', () => {
  it('pins a stream to a peer instance when there is none locally; results come back in order', async () => {
    cluster = await startCluster({ size: 2, kind: 'memory', hosted: [1], serviceTimeMs: 2 });
    await until(() => cluster[0]!.node.view().entries['n1']!.instances.length > 0, 'n0 sees n1 instance');
    const stream = await cluster[0]!.node.openStream('echo', { rateHz: 50, stalenessMs: 1000 });
    expect(stream.pinnedTo).toBe('n1');
    for (let i = 0; i < 10; i++) stream.push(input([i]));
    const summary = stream.close();
    const seen: number[] = [];
    for await (const r of stream) {
      expect(r.ok).toBe(true);
      if (r.ok) seen.push((r.outputs['x']!.data as Float32Array)[0]!);
    }
    expect(seen).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(await summary).toEqual({ pushed: 10, completed: 10, dropped: 0 });
  });

  it('pins locally when the local instance has spare rate', async () => {
    cluster = await startCluster({ size: 2, kind: 'memory', hosted: [0, 1], serviceTimeMs: 2 });
    const stream = await cluster[0]!.node.openStream('echo', { rateHz: 10, stalenessMs: 1000 });
    expect(stream.pinnedTo).toBe('n0');
    stream.push(input([3]));
    await stream.close();
  });
});

describe('mesh streams when the serving peer dies', () => {
  it('settles every unanswered frame with PEER_UNAVAILABLE and ends the iteration', async () => {
    cluster = await startCluster({ size: 2, kind: 'memory', hosted: [1], serviceTimeMs: 5 });
    await until(() => cluster[0]!.node.view().entries['n1']!.instances.length > 0, 'n0 sees n1 instance');
    const stream = await cluster[0]!.node.openStream('echo', { rateHz: 10, stalenessMs: 5000 });
    cluster[1]!.executor.freeze();
    for (let i = 0; i < 5; i++) stream.push(input([i]));
    await until(() => cluster[1]!.node.stats().connectedPeers === 1, 'link up');
    await cluster[1]!.transport.close();
    const results = [];
    for await (const r of stream) results.push(r);
    expect(results.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4]);
    for (const r of results) expect(!r.ok && r.error.code).toBe('PEER_UNAVAILABLE');
    expect(await stream.close()).toEqual({ pushed: 5, completed: 0, dropped: 5 });
  });
});
