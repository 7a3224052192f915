import { afterEach, describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import { createFakeExecutor, createNode, createWebSocketTransport } from '@epara/mesh';
import { ECHO, PSK, startCluster, until, watch } from './helpers.js';
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

describe('peers with different frame size limits (WebSocket, PSK)', () => {
  it('each sends the other at most its limit: a request over the peer’s limit is refused PROTOCOL_ERROR naming it, once, and the link never churns', async () => {
    const small = 64 * 1024;
    const make = (id: string, maxFrameBytes: number | undefined, hosted: boolean, seeds: string[]): ClusterNode => {
      const transport = createWebSocketTransport({ host: '127.0.0.1', port: 0, ...(maxFrameBytes ? { maxFrameBytes } : {}) });
      const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: hosted ? ['echo'] : [], tag: hosted ? 1 : 0 });
      const node = createNode({ id, transport, executor, security: { psk: PSK }, seeds, services: [ECHO], syncPeriodMs: 50, syncAckTimeoutMs: 400, placement: false, ...(maxFrameBytes ? { limits: { maxFrameBytes } } : {}) });
      watch(node);
      return { id, node, executor, transport };
    };
    // n0 takes frames of the default size (16 MiB); n1, which serves, takes 64 KiB.
    const n1 = make('n1', small, true, []);
    await n1.node.start();
    const n0 = make('n0', undefined, false, [n1.node.address!]);
    await n0.node.start();
    cluster = [n0, n1];
    await until(() => n0.node.view().entries['n1']?.instances.length === 1 && n0.node.stats().connectedPeers === 1, 'n0 sees n1’s instance over a link');
    const left: string[] = [];
    for (const c of cluster) c.node.on('peerLeft', (e) => left.push(e.serverId));
    // 100 000 bytes: within n0's limit, over n1's.
    const errs = await Promise.all([1, 2, 3].map(() => n0.node.submit('echo', bytes(100_000), { deadline: Date.now() + 2000 }).catch((e: unknown) => e)));
    for (const err of errs) expect(err).toMatchObject({ code: 'PROTOCOL_ERROR', details: { peer: 'n1', peerMaxFrameBytes: small } });
    expect((errs[0] as { details: { frameBytes: number } }).details.frameBytes).toBeGreaterThan(small);
    const out = await n0.node.submit('echo', bytes(60_000), { deadline: Date.now() + 5000 });
    expect(out['x']!.dims).toEqual([60_000]);
    // Nothing crossed over the limit: no frame refused, no link dropped, nobody left a view.
    expect(left).toEqual([]);
    expect(n1.node.stats().framesRejected).toBe(0);
    expect(n0.node.stats()).toMatchObject({ connectedPeers: 1, alivePeers: 1 });
  });
});
