import { createFakeExecutor, createNode } from '@epara/mesh';
import { connectNats, createNatsOffloader, createNatsTransport, createNatsViewSync } from '@epara/mesh-nats';
import type { FakeExecutor, MeshNode } from '@epara/mesh';
import type { NatsAuth, NatsOffloader } from '@epara/mesh-nats';
import type { ServiceSpec } from '@epara/core';
import { affineProfile } from '@epara/core';

/** The one service of the demo: an image model with a 200 ms SLO (a fake executor stands in for the runtime). */
export const DETECT: ServiceSpec = {
  id: 'detect',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 200 },
  memory: { weightsBytes: 50e6, perItemBytes: 2e6 },
  profiles: { cpu: affineProfile('cpu', { fixedMs: 8, perItemMs: 2, maxBatch: 8 }) },
};

/** One edge server: its NATS connection, mesh node (view kept in NATS KV) and queue-group offloader. */
export interface EdgeServer {
  readonly id: string;
  readonly nc: Awaited<ReturnType<typeof connectNats>>;
  readonly node: MeshNode;
  readonly offloader: NatsOffloader;
  readonly executor: FakeExecutor;
}

/** Where the cluster runs. */
export interface ClusterConfig {
  readonly servers: string;
  readonly auth?: NatsAuth;
  /** Shared by every server (≥ 16 bytes): peers prove it before any mesh message. */
  readonly psk: string;
  /** Subject prefix and KV bucket, so several demos can share one NATS. */
  readonly namespace: string;
  /** Which servers host `detect`. */
  readonly hosts: readonly number[];
}

/**
 * Starts one edge server. Its single NATS connection carries everything: the node's view (JetStream KV
 * instead of the ring: no seeds needed), its mesh links (PSK handshake), and its offloads: `routeRequest`
 * decides to offload, the `detect` queue group picks the server (the node joins it when it hosts `detect`).
 */
export async function startEdgeServer(index: number, config: ClusterConfig): Promise<EdgeServer> {
  const id = `edge-${index}`;
  const nc = await connectNats({ servers: config.servers, name: id, ...(config.auth ? { auth: config.auth } : {}) });
  const hosts = config.hosts.includes(index);
  // In production: `createExecutor(...)` from @epara/runtime. The fake keeps the demo model-free.
  const executor = createFakeExecutor({ services: { detect: { serviceTimeMs: 10, maxQueue: 64 } }, hosted: hosts ? ['detect'] : [], tag: index });
  let offloader!: NatsOffloader;
  const transport = createNatsTransport({ connection: nc, name: id, subjectPrefix: config.namespace, keepaliveIntervalMs: 200, deadPeerTimeoutMs: 1000 });
  const node = createNode({
    id,
    transport,
    executor,
    security: { psk: config.psk },
    viewSync: (ctx) => createNatsViewSync({ ...ctx, connection: nc, bucket: config.namespace, periodMs: 200 }),
    services: [DETECT],
    devices: [{ id: 'cpu0', kind: 'cpu', memoryBytes: 4e9 }],
    // The node serves what its executor hosts and offloads through the queue groups (not over links).
    offloader: (ctx) => (offloader = createNatsOffloader({ ...ctx, connection: nc, subjectPrefix: config.namespace })),
    placement: false,
  });
  await node.start();
  return { id, nc, node, offloader, executor };
}

/** Stops a server cleanly (its KV entry is deleted, its links close with a goodbye). */
export async function stopEdgeServer(s: EdgeServer): Promise<void> {
  await s.node.close(); // closes its offloader too
  if (!s.nc.isClosed()) await s.nc.close();
}

/** Alive servers in a view, sorted. */
export function aliveIn(view: { entries: Readonly<Record<string, { alive: boolean }>> }): string[] {
  return Object.entries(view.entries)
    .filter(([, e]) => e.alive)
    .map(([id]) => id)
    .sort();
}
