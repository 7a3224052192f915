import { afterEach, describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import { startCluster, until } from './helpers.js';
import type { ClusterNode } from './helpers.js';

let cluster: ClusterNode[] = [];
afterEach(async () => {
  await Promise.all(cluster.map((c) => c.node.close()));
  cluster = [];
});

const bytes = (n: number): NamedTensors => ({ x: { type: 'uint8', dims: [n], data: new Uint8Array(n) } });

describe('a request just over the frame size limit (WebSocket, PSK)', () => {
  it('is refused PROTOCOL_ERROR with its size at once, its links and peers untouched, and the next request fits', async () => {
    cluster = await startCluster({ size: 3, kind: 'ws', hosted: [1, 2], node: { limits: { maxFrameBytes: 64 * 1024 } } });
    const n0 = cluster[0]!.node;
    await until(() => ['n1', 'n2'].every((id) => n0.view().entries[id]!.instances.length > 0), 'n0 sees both instances');
    const left: string[] = [];
    n0.on('peerLeft', (e) => left.push(e.serverId));
    // 65 480 data bytes make a 65 552-byte submit frame: 16 bytes over.
    const err = await n0.submit('echo', bytes(65_480), { deadline: Date.now() + 5000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PROTOCOL_ERROR', details: { frameBytes: 65_552 } });
    expect(n0.stats()).toMatchObject({ offloaded: 0, connectedPeers: 2, alivePeers: 2, framesRejected: 0 });
    const out = await n0.submit('echo', bytes(65_400), { deadline: Date.now() + 5000 });
    expect(out['x']!.dims).toEqual([65_400]);
    expect(left).toEqual([]);
  });
});
