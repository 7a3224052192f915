import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { PromRegistry } from './load-prom-client.js';
import { isEparaError } from '@epara/core';
import { createNode } from '../node/create-node.js';
import type { MeshNode } from '../node/mesh-node.js';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { createMemoryHub } from '../transport/memory-hub.js';
import { createMemoryTransport } from '../transport/memory-transport.js';
import { createMeshMetrics } from './mesh-metrics.js';

/** Resolves once `check` holds, re-checked on every event of `nodes` (a ring emits `syncCompleted` each period). */
function until(nodes: readonly MeshNode[], check: () => boolean, what: string): Promise<void> {
  const events = ['peerJoined', 'peerLeft', 'syncCompleted', 'requestOffloaded', 'requestCompleted', 'requestRejected'] as const;
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      for (const n of nodes) for (const e of events) n.off(e, recheck);
      if (err) reject(err);
      else resolve();
    };
    const recheck = (): void => void (check() && done());
    const timer = setTimeout(() => done(new Error(`timed out waiting until ${what}`)), 10_000);
    for (const n of nodes) for (const e of events) n.on(e, recheck);
    recheck();
  });
}

async function sample(metricsRegistry: PromRegistry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  // The metrics' registry is the prom-client Registry it was created with; its published type is structural.
  const registry = metricsRegistry as Registry;
  const data = await registry.getSingleMetric(name)?.get();
  return data?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

describe('createMeshMetrics (two nodes on the memory transport)', () => {
  let nodes: MeshNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    nodes = [];
  });

  it('counts offloads, rejections and sync rounds; reports sync lag per peer', async () => {
    const hub = createMemoryHub();
    const common = { security: { insecure: true }, syncPeriodMs: 20, placement: false } as const;
    const server = createNode({
      id: 'gpu',
      transport: createMemoryTransport({ hub, address: 'gpu' }),
      executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'] }),
      ...common,
    });
    await server.start();
    const edge = createNode({
      id: 'edge',
      transport: createMemoryTransport({ hub, address: 'edge' }),
      executor: createFakeExecutor({ services: {} }),
      seeds: ['gpu'],
      ...common,
    });
    nodes = [edge, server];
    const registry = new Registry();
    const metrics = await createMeshMetrics({ node: edge, registry });
    await edge.start();
    await until(nodes, () => edge.view().entries['gpu']?.instances.some((i) => i.serviceId === 'echo' && i.status === 'ready') === true, 'edge sees echo');
    const x = { x: { type: 'float32' as const, dims: [1], data: Float32Array.of(3) } };
    await edge.submit('echo', x, { deadline: Date.now() + 2000 });
    await edge.submit('echo', x, { deadline: Date.now() + 2000 });
    const code = await edge.submit('nope', x, { deadline: Date.now() + 2000 }).then(() => 'resolved', (e: unknown) => (isEparaError(e) ? e.code : 'untyped'));
    await until(nodes, () => edge.stats().syncRounds > 0, 'a ring round');

    expect(await sample(registry, 'epara_offloads_total', { node: 'edge', model: 'echo', peer: 'gpu', retry: 'false' })).toBe(2);
    expect(await sample(registry, 'epara_requests_rejected_total', { model: 'nope', reason: code })).toBe(1);
    expect(await sample(registry, 'epara_node_requests_total', { kind: 'offloaded' })).toBe(edge.stats().offloaded);
    expect(await sample(registry, 'epara_peers', { state: 'alive' })).toBeGreaterThanOrEqual(1);
    const lag = await sample(registry, 'epara_sync_lag_seconds', { peer: 'gpu' });
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(10);
    const text = await metrics.metrics();
    expect(text).toContain('# TYPE epara_sync_round_duration_seconds histogram');
    expect(text).toMatch(/epara_sync_round_duration_seconds_count\{node="edge"\} [1-9]/);
    metrics.close();
    metrics.close();
    expect(registry.getMetricsAsArray()).toHaveLength(0);
  });

  it("drops a peer's offload series once the view forgot the peer: peers that come and go do not grow the registry", async () => {
    const hub = createMemoryHub();
    // A dead peer is forgotten 200 ms after its last stamp.
    const common = { security: { insecure: true }, syncPeriodMs: 20, placement: false, deadRetentionMs: 200 } as const;
    const edge = createNode({ id: 'edge', transport: createMemoryTransport({ hub, address: 'edge' }), executor: createFakeExecutor({ services: {} }), ...common });
    await edge.start();
    nodes = [edge];
    const registry = new Registry();
    const metrics = await createMeshMetrics({ node: edge, registry });
    const x = { x: { type: 'float32' as const, dims: [1], data: Float32Array.of(3) } };
    for (const id of ['gpu1', 'gpu2']) {
      const gpu = createNode({ id, transport: createMemoryTransport({ hub, address: id }), executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'] }), seeds: ['edge'], ...common });
      nodes.push(gpu);
      await gpu.start();
      await until(nodes, () => edge.view().entries[id]?.instances.some((i) => i.status === 'ready') === true, `edge sees echo on ${id}`);
      await edge.submit('echo', x, { deadline: Date.now() + 2000 });
      expect(await sample(registry, 'epara_offloads_total', { peer: id })).toBe(1);
      await gpu.close();
      await until(nodes, () => edge.view().entries[id] === undefined, `edge forgot ${id}`);
    }
    // Each peer's series went with the peer.
    expect(await sample(registry, 'epara_offloads_total', { peer: 'gpu1' })).toBeUndefined();
    expect(await sample(registry, 'epara_offloads_total', { peer: 'gpu2' })).toBeUndefined();
    metrics.close();
  });

  it('rejects bad options with INVALID_OPTIONS naming the field', async () => {
    await expect(createMeshMetrics({ node: {} as never })).rejects.toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'node' } });
    const node = { id: 'n', on: () => undefined, off: () => undefined, stats: () => undefined, view: () => undefined } as never;
    await expect(createMeshMetrics({ node, prefix: 'bad prefix' })).rejects.toMatchObject({ details: { field: 'prefix' } });
  });
});
