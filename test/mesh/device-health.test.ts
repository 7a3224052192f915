import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, input, ready, serverOf, startCluster, until } from './helpers.js';
import type { ClusterNode } from './helpers.js';

/*
 * A device the executor reports failed (the runtime's `deviceFailed`, `stats().devices[id].failed`; the fake's
 * `failDevice`) is read by the mesh: left out of the devices the server reports to the placement leader and of the
 * free memory its view entry publishes, so placement avoids it — a load onto it would fail `WORKER_CRASHED` — until
 * the executor says it is back. One cluster of two serves the whole story; every wait is on an event.
 */

let cluster: ClusterNode[] = [];
afterEach(async () => closeAll(cluster));

const readyEcho = (c: ClusterNode): boolean => c.executor.instances().some((i) => i.serviceId === 'echo' && i.status === 'ready');

describe('a failed device (memory transport, placement on)', () => {
  it('is avoided by placement and published in the view until it is back; no load is tried on it', async () => {
    cluster = await startCluster({ size: 2, kind: 'memory', hosted: [], node: { placement: { initialDelayMs: 0 }, placementPeriodMs: 600_000 } });
    const [n0, n1] = cluster as [ClusterNode, ClusterNode];
    const deviceMemory = 1e9;
    await until(() => cluster.some(readyEcho), 'echo placed somewhere');
    // The server hosting echo loses its device: its instance drains away, and the leader places echo on the other.
    const [host, other] = readyEcho(n0) ? [n0, n1] : [n1, n0];
    host.executor.failDevice('cpu0');
    await until(() => readyEcho(other) && !readyEcho(host), `echo moved off ${host.id}'s failed device to ${other.id}`);
    // Published: every view shows the failed server with no device memory free.
    await until(() => cluster.every((c) => c.node.view().entries[host.id]?.freeMemoryBytes === 0), `every view shows ${host.id} with no device memory`);
    // Placing again does not try the failed device (a load there would fail WORKER_CRASHED).
    expect(n0.node.placeNow()).toBe(true);
    await until(() => ready(n0.node, other.id) && readyEcho(other), `n0's view shows echo ready on ${other.id}`);
    const out = await n0.node.submit('echo', input([3]), { deadline: Date.now() + 5000 });
    expect([serverOf(out), (out['x']!.data as Float32Array)[0]]).toEqual([cluster.indexOf(other), 6]);
    expect(host.executor.stats().failedLoads).toBe(0);
    // Back: the view shows its memory again, and placement may use it.
    host.executor.recoverDevice('cpu0');
    await until(() => cluster.every((c) => c.node.view().entries[host.id]?.freeMemoryBytes === deviceMemory), `every view shows ${host.id}'s device again`);
    other.executor.failDevice('cpu0');
    await until(() => readyEcho(host) && !readyEcho(other), `echo back on ${host.id}`);
    expect(cluster.map((c) => c.executor.stats().failedLoads)).toEqual([0, 0]);
  });
});
