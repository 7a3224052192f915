import { affineProfile } from '@epara/core';
import type { LocalExecutor, NamedTensors, ParallelPlan, ServiceSpec } from '@epara/core';
import { createFakeExecutor, createWebSocketTransport, createNode } from '@epara/mesh';
import type { FakeExecutor, MeshNode, Transport } from '@epara/mesh';
import { until, watch } from '../mesh/helpers.js';

export const PSK = 'dashboard-test-psk-0123456789';

/** Two latency services and a frequency one, so the page shows several categories. */
export const SERVICES: readonly ServiceSpec[] = [
  { id: 'detect', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 150 }, memory: { weightsBytes: 300e6, perItemBytes: 4e6 }, profiles: { cpu: affineProfile('cpu', { fixedMs: 6, perItemMs: 2, maxBatch: 8 }) } },
  { id: 'classify', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 80 }, memory: { weightsBytes: 60e6, perItemBytes: 1e6 }, profiles: { cpu: affineProfile('cpu', { fixedMs: 3, perItemMs: 1, maxBatch: 16 }) } },
  { id: 'video', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 15, stalenessMs: 200 }, memory: { weightsBytes: 200e6, perItemBytes: 2e6 }, profiles: { cpu: affineProfile('cpu', { fixedMs: 8, perItemMs: 3, maxBatch: 8 }) } },
];

export interface TestNode {
  readonly id: string;
  readonly node: MeshNode;
  readonly executor: FakeExecutor;
  readonly transport: Transport;
}

/**
 * The fake executor does not report devices; this one remembers the devices placement chose for each load,
 * so the page can group instances by device as it would with the real runtime.
 */
function withDevices(fake: FakeExecutor): LocalExecutor {
  const devices = new Map<string, readonly string[]>();
  const plans = new Map<string, Pick<ParallelPlan, 'requestStrategy' | 'serviceStrategy'>>();
  return {
    submit: (s, i, o) => fake.submit(s, i, o),
    estimate: (s) => fake.estimate(s),
    openStream: (s, o) => fake.openStream(s, o),
    unload: (id, o) => fake.unload(id, o),
    load: async (plan, o) => {
      const info = await fake.load(plan, o);
      if (o?.deviceIds) devices.set(info.instanceId, o.deviceIds);
      plans.set(info.instanceId, { requestStrategy: plan.requestStrategy, serviceStrategy: plan.serviceStrategy });
      return { ...info, ...plans.get(info.instanceId), ...(o?.deviceIds ? { deviceIds: o.deviceIds } : {}) };
    },
    // The fake reports every instance as batching on one device; report the plan's strategies instead.
    instances: () => fake.instances().map((i) => ({ ...i, ...plans.get(i.instanceId), ...(devices.has(i.instanceId) ? { deviceIds: devices.get(i.instanceId)! } : {}) })),
  };
}

/** Starts nodes n0…n{size−1} on WebSocket transports (127.0.0.1, port 0), PSK, placement on, two CPU devices each. */
export async function startWsCluster(size: number): Promise<TestNode[]> {
  const out: TestNode[] = [];
  for (let i = 0; i < size; i++) {
    const id = `n${i}`;
    const transport = createWebSocketTransport({ host: '127.0.0.1', port: 0 });
    const executor = createFakeExecutor({
      services: { detect: { serviceTimeMs: 12, batchSize: 4 }, classify: { serviceTimeMs: 4, batchSize: 8 }, video: { serviceTimeMs: 10, batchSize: 2 } },
      loadTimeMs: 300,
      tag: i,
    });
    const node = createNode({
      id,
      transport,
      executor: withDevices(executor),
      security: { psk: PSK },
      seeds: i === 0 ? [] : [out[0]!.node.address!],
      services: SERVICES,
      devices: [
        { id: `${id}-cpu0`, kind: 'cpu', memoryBytes: 1e9 },
        { id: `${id}-cpu1`, kind: 'cpu', memoryBytes: 1e9 },
      ],
      syncPeriodMs: 100,
      syncAckTimeoutMs: 400,
      placementPeriodMs: 60_000,
      placement: { initialDelayMs: 300, demand: [
        { serviceId: 'detect', ratePerServer: { n1: 250, n2: 150 } },
        { serviceId: 'classify', ratePerServer: { n0: 400, n2: 300 } },
        { serviceId: 'video', ratePerServer: {}, streams: [{ rateHz: 15, accessServer: 'n1' }] },
      ] },
    });
    watch(node);
    await node.start();
    out.push({ id, node, executor, transport });
  }
  return out;
}

export const tensor = (v: number): NamedTensors => ({ x: { type: 'float32', dims: [1], data: Float32Array.from([v]) } });

/** Waits for a condition on the events of the cluster's nodes (the mesh tests' helper; no polling). */
export { until };
