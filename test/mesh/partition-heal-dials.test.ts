import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { activeResources, aliveIds, closeAll, ECHO, input, leftOverAfter, PSK, ready, serverOf, startCluster, until, watch } from './helpers.js';
import type { ClusterNode } from './helpers.js';

/*
 * Dials made into a partition (probes of the far side's servers, held dead): their handshake frames are lost, and
 * each waits for an answer until the handshake's timeout. Every frame sent to that peer meanwhile queued behind it —
 * after the heal too — and went with it when it failed: with the default 5 s timeout, a request sent once the views
 * had converged again failed `PEER_UNAVAILABLE` ("peer n1 failed and no other server can take the request") when no
 * other server hosted the service; with the long timeout here, the views did not even converge again. A peer back
 * in the view is now dialed afresh.
 */

let cluster: ClusterNode[] = [];
afterEach(async () => {
  await closeAll(cluster);
  cluster = [];
});

/** Long enough that no dial made into the cut gives up before the test ends: only a fresh dial can link. */
const HANDSHAKE_TIMEOUT_MS = 120_000;

describe('a partition healed while dials into it wait for their handshake', () => {
  it('a request sent after the heal reaches the only host across the former cut, and close leaves nothing behind', async () => {
    const baseline = activeResources();
    const hub = createMemoryHub();
    const node = { security: { psk: PSK, handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS } };
    cluster = await startCluster({ size: 3, kind: 'memory', hosted: [1], hub, node });
    const [n0, n1, n2] = cluster.map((c) => c.node) as [MeshNode, MeshNode, MeshNode];
    // The cut: {n0, n1} | {n2, n3}. n3 joins the far half through n2 while it lasts, so every frame it sends n1 is a
    // handshake frame of a dial (it never had a link to n1), lost in the cut.
    const half = (address: string): number => (['n0', 'n1'].includes(address) ? 0 : 1);
    let lostToN1 = 0;
    hub.setFaults({
      drop: (link) => {
        const cut = half(link.from) !== half(link.to);
        if (cut && link.from === 'n3' && link.to === 'n1') lostToN1++;
        return cut;
      },
    });
    const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 5, maxQueue: 64 } }, hosted: [], tag: 3 });
    const transport = createMemoryTransport({ hub, address: 'n3' });
    const n3 = createNode({
      id: 'n3',
      transport,
      executor,
      ...node,
      seeds: [n2.address!],
      services: [ECHO],
      devices: [{ id: 'cpu0', kind: 'cpu', memoryBytes: 1e9 }],
      syncPeriodMs: 50,
      syncAckTimeoutMs: 400,
      placement: false,
    });
    watch(n3);
    await n3.start();
    cluster.push({ id: 'n3', node: n3, executor, transport });
    await until(() => aliveIds(n0).join() === 'n0,n1' && aliveIds(n2).join() === 'n2,n3' && aliveIds(n3).join() === 'n2,n3', 'each half sees only itself');
    // A dial from n3 to n1 waits on its lost handshake (its timeout is far off).
    await until(() => lostToN1 > 0, 'n3 dialed n1 into the cut');

    hub.setFaults({});
    await until(() => cluster.every((c) => aliveIds(c.node).join() === 'n0,n1,n2,n3'), 'every view holds all four again');
    await until(() => ready(n3, 'n1'), 'n3 sees the instance on n1');
    const out = await n3.submit('echo', input([7]), { deadline: Date.now() + 10_000 }).catch((err: unknown) => err);
    expect(isEparaError(out) ? `${out.code} ${out.message} ${JSON.stringify(out.details)}` : [serverOf(out as never), ((out as { x: { data: Float32Array } }).x.data)[0]]).toEqual([1, 14]);
    expect(n1.view().entries['n3']?.alive).toBe(true);
    // The dials left waiting in the cut (their handshake's timeout far off) end with the nodes: no timer or link stays.
    await closeAll(cluster);
    expect(await leftOverAfter(baseline)).toEqual([]);
  });
});
