import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { EparaError, toEparaError, type NamedTensors, type PlacedInstance, type ServiceSpec } from '@epara/core';
import { createNode, createWebSocketTransport, type MeshNode, type MeshStream } from '@epara/mesh';
import { createExecutor, type Executor, type ExecutorServiceOptions } from '@epara/runtime';
import { deviceOf, nodeIds } from './placement.js';
import type { FrameOutcome, ServingStream, ServingSystem } from './system.js';

/** Options of {@link startEpara}. */
export interface EparaClusterOptions {
  readonly nodes: number;
  readonly specs: readonly ServiceSpec[];
  readonly services: readonly ExecutorServiceOptions[];
  /** The initial placement to load (from core's `placeServices`). */
  readonly placement: readonly PlacedInstance[];
  /** Ring sync period, ms. */
  readonly syncPeriodMs: number;
}

/** The EPARA side of the demo: a mesh of nodes on loopback WebSockets, each with a runtime executor. */
export interface EparaCluster extends ServingSystem {
  readonly nodes: readonly MeshNode[];
  readonly executors: readonly Executor[];
}

async function until(check: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > limitMs) throw new EparaError('INTERNAL', `demo cluster: timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Starts the EPARA cluster: one executor (one 1-thread worker device) and one node per server, joined over
 * WebSockets on 127.0.0.1 with a fresh pre-shared key, then loads the placement through the executors and
 * waits until every node's view shows every instance ready.
 */
export async function startEpara(o: EparaClusterOptions): Promise<EparaCluster> {
  const ids = nodeIds(o.nodes);
  const psk = randomBytes(32);
  const executors: Executor[] = [];
  const nodes: MeshNode[] = [];
  const offloads: Record<string, number> = {};
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.close().catch(() => undefined)));
    await Promise.all(executors.map((e) => e.close().catch(() => undefined)));
  };
  try {
    for (const [i, id] of ids.entries()) {
      // Work-conserving batching: on a 1-thread CPU device a fuller batch gains little per item (the detector
      // gains ~1.0–1.5×), so a partial batch runs as soon as the device idles rather than waiting for slack.
      const executor = createExecutor({ launchWhenIdle: true, devices: [{ id: 'cpu0', threads: 1, memoryBytes: deviceOf().memoryBytes }], services: o.services });
      executors.push(executor);
      const node = createNode({
        id,
        transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }),
        executor,
        security: { psk },
        seeds: i === 0 ? [] : [nodes[0]!.address!],
        services: o.specs,
        devices: [deviceOf()],
        syncPeriodMs: o.syncPeriodMs,
        placement: false,
      });
      node.on('requestOffloaded', (e) => (offloads[e.serviceId] = (offloads[e.serviceId] ?? 0) + 1));
      nodes.push(node);
      await node.start();
    }
    await until(() => nodes.every((n) => Object.values(n.view().entries).filter((e) => e.alive).length === o.nodes), 'every node to see every node');
    await Promise.all(
      o.placement.map((p) => executors[ids.indexOf(p.serverId)]!.load(p.plan, { instanceId: p.instanceId, deviceIds: p.deviceIds })),
    );
    const readyEverywhere = (): boolean =>
      nodes.every((n) => o.placement.every((p) => n.view().entries[p.serverId]?.instances.some((i) => i.instanceId === p.instanceId && i.status === 'ready')));
    await until(readyEverywhere, 'every node to see every instance ready');
  } catch (err) {
    await close();
    throw err;
  }
  return {
    name: 'EPARA',
    nodes,
    executors,
    submit: (node, serviceId, inputs, deadline) => nodes[node]!.submit(serviceId, inputs, { deadline }),
    openStream: async (node, serviceId, rateHz) => adaptStream(await nodes[node]!.openStream(serviceId, { rateHz }), ids),
    offloads: () => ({ ...offloads }),
    close,
  };
}

function adaptStream(stream: MeshStream, ids: readonly string[]): ServingStream {
  const waiting = new Map<number, (o: FrameOutcome) => void>();
  const consumer = (async () => {
    try {
      for await (const r of stream) {
        const settle = waiting.get(r.seq);
        waiting.delete(r.seq);
        settle?.(r.ok ? { ok: true } : { ok: false, code: r.error.code });
      }
    } catch (err) {
      const code = toEparaError(err).code;
      for (const settle of waiting.values()) settle({ ok: false, code });
      waiting.clear();
    }
  })();
  return {
    servedAt: Math.max(0, ids.indexOf(stream.pinnedTo)),
    push(frame: NamedTensors, settled: (o: FrameOutcome) => void): void {
      const seq = stream.push(frame);
      waiting.set(seq, settled);
    },
    async close(): Promise<void> {
      await stream.close();
      await consumer;
      for (const settle of waiting.values()) settle({ ok: false, code: 'CLOSED' });
      waiting.clear();
    },
  };
}

