import { afterEach, describe, expect, it } from 'vitest';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { FakeExecutor, MeshNode, NodeEvents } from '@epara/mesh';
import type { InstanceInfo, LocalExecutor, ParallelPlan, ServiceSpec } from '@epara/core';
import { ECHO, PSK, closeAll, startCluster, until, watch } from './helpers.js';
import type { ClusterNode } from './helpers.js';

let cluster: ClusterNode[] = [];
afterEach(async () => closeAll(cluster));

type Computed = NodeEvents['placementComputed'][0];
const echoReady = (c: ClusterNode): boolean => c.executor.instances().some((i) => i.serviceId === 'echo' && i.status === 'ready');

describe('placement coordinator: first placement and forecast', () => {
  it('places for the host forecast at start, long before the first period, and re-places after a failure', async () => {
    // 2000 items/s forecast at n2: one echo instance serves ≈ 615/s, so every server's device gets one.
    // The minimum demand alone would give one instance; the period (60 s) would never come in this test. Locality
    // off: with it, the link delays the servers measure (wall time, seconds on a starved loop) could leave n0 and n1
    // out of reach of the demand entering at n2, and placement rightly put echo on n2 alone.
    const demand = [{ serviceId: 'echo', ratePerServer: { n2: 2000 } }];
    cluster = await startCluster({ size: 3, kind: 'memory', hosted: [], node: { placement: { demand, initialDelayMs: 100, locality: false }, placementPeriodMs: 60_000 } });
    await until(() => cluster.every(echoReady), 'echo placed on every server for the forecast');
    const leader = cluster[0]!.node.stats();
    expect(leader.leader).toBe('n0');
    const triggers: Computed['trigger'][] = [];
    cluster[1]!.node.on('placementComputed', (e) => triggers.push(e.trigger));
    cluster[0]!.executor.freeze();
    await cluster[0]!.transport.close();
    await until(() => triggers.includes('failure'), 'n1 re-placed after the leader died');
    // Still placed for the forecast on both survivors, and n1 answers placeNow as the new leader.
    await until(() => cluster.slice(1).every(echoReady), 'echo on n1 and n2');
    expect(cluster[1]!.node.placeNow()).toBe(true);
    expect(cluster[2]!.node.placeNow()).toBe(false);
    expect(triggers).toContain('manual');
  });

  it('a function forecast is read at each run; placeNow is the host trigger after it changes', async () => {
    let rate = 0;
    cluster = await startCluster({ size: 2, kind: 'memory', hosted: [], node: { placement: { demand: () => [{ serviceId: 'echo', ratePerServer: { n1: rate } }], initialDelayMs: 50 }, placementPeriodMs: 60_000 } });
    await until(() => cluster.filter(echoReady).length === 1, 'one instance for the minimum demand');
    rate = 1000;
    expect(cluster[0]!.node.placeNow()).toBe(true);
    await until(() => cluster.every(echoReady), 'a second instance for the new forecast');
  });
});

/** The fake executor, reporting the devices each instance was loaded on (as the runtime's executor can). */
function withDevices(inner: FakeExecutor, devices: Map<string, readonly string[]>): LocalExecutor {
  return {
    submit: (s, i, o) => inner.submit(s, i, o),
    estimate: (s) => inner.estimate(s),
    openStream: (s, o) => inner.openStream(s, o),
    unload: (id, o) => inner.unload(id, o),
    async load(plan: ParallelPlan, o: { instanceId?: string; deviceIds?: readonly string[] } = {}): Promise<InstanceInfo> {
      const info = await inner.load(plan, o);
      if (o.deviceIds) devices.set(info.instanceId, o.deviceIds);
      return info;
    },
    instances: () => inner.instances().map((i) => ({ ...i, ...(devices.has(i.instanceId) ? { deviceIds: devices.get(i.instanceId)! } : {}) })),
  };
}

describe('placement coordinator: host-loaded instances', () => {
  const DETECT: ServiceSpec = { ...ECHO, id: 'detect' };
  const nodes: MeshNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    nodes.length = 0;
  });

  it('adopts co-located host instances on their real device and never places them twice', async () => {
    const hub = createMemoryHub();
    const fakes: FakeExecutor[] = [];
    const computed: Computed[] = [];
    for (const [i, id] of ['n0', 'n1'].entries()) {
      const fake = createFakeExecutor({ services: { echo: { serviceTimeMs: 5 }, detect: { serviceTimeMs: 5 } }, tag: i });
      fakes.push(fake);
      const executor = withDevices(fake, new Map());
      if (id === 'n1') {
        // The host loads both services itself, on one device (multi-task), before placement runs.
        const plan = (serviceId: string): ParallelPlan => ({ serviceId, deviceKind: 'cpu', requestStrategy: 'batching', serviceStrategy: 'single', devices: 1, batchSize: 1, capacityPerSec: 200, memoryPerDeviceBytes: 11e6, expectedLatencyMs: 12, runMs: 6, goodputPerDevice: 1, utilization: 1, notes: [] });
        await executor.load(plan('echo'), { instanceId: 'host-echo', deviceIds: ['cpu1'] });
        await executor.load(plan('detect'), { instanceId: 'host-detect', deviceIds: ['cpu1'] });
      }
      const node = createNode({
        id,
        transport: createMemoryTransport({ hub, address: id }),
        executor,
        security: { psk: PSK },
        // Each seeds the other: the leader (n0) then waits for a peer before its first placement, rather than
        // placing alone when n1 is slow to join (at load 50 it placed both services on itself first).
        seeds: [i === 0 ? 'n1' : 'n0'],
        services: [ECHO, DETECT],
        devices: [0, 1].map((d) => ({ id: `cpu${d}`, kind: 'cpu', memoryBytes: 1e9 })),
        syncPeriodMs: 50,
        // The host co-locates on purpose, so it lets placement keep shared devices (EPARA's default gives each
        // service a device of its own when there are devices enough).
        placement: { demand: [{ serviceId: 'echo', ratePerServer: { n1: 20 } }, { serviceId: 'detect', ratePerServer: { n1: 20 } }], initialDelayMs: 100, multiTask: true },
        placementPeriodMs: 60_000,
      });
      node.on('placementComputed', (e) => computed.push(e));
      watch(node);
      await node.start();
      nodes.push(node);
    }
    await until(() => computed.length > 0, 'the leader placed');
    const decision = computed.at(-1)!.instances;
    const onN1 = decision.filter((p) => p.serverId === 'n1').map((p) => [p.instanceId, p.deviceIds.join()]);
    expect(onN1.sort()).toEqual([['host-detect', 'cpu1'], ['host-echo', 'cpu1']]);
    // The demand (20/s each) is covered by the adopted instances: nothing new is loaded anywhere.
    expect(decision.map((p) => p.instanceId).sort()).toEqual(['host-detect', 'host-echo']);
    expect(nodes[0]!.placeNow()).toBe(true);
    expect(fakes.map((f) => f.stats().loads)).toEqual([0, 2]);
    expect(fakes[1]!.instances().map((i) => i.instanceId).sort()).toEqual(['host-detect', 'host-echo']);
  });
});
