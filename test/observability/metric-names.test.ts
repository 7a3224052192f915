/*
 * Scrapes a live registry shared by a real executor (fake backend) and two mesh nodes after some traffic,
 * and checks every metric family against the Prometheus naming conventions the docs promise: counters end in
 * `_total` and are typed counter, durations are in seconds and sizes in bytes (no `_ms`, `_us`), every series
 * has a `node` label, and names are snake_case under the `epara_` prefix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { affineProfile } from '@epara/core';
import { createExecutor, createRuntimeMetrics, fakeModelBytes, type Executor } from '@epara/runtime';
import { createMemoryHub, createMemoryTransport, createMeshMetrics, createNode, type MeshNode } from '@epara/mesh';
import { createFakeExecutor } from '@epara/mesh/testing';

interface Family {
  readonly name: string;
  readonly type: string;
  readonly samples: { readonly name: string; readonly labels: Record<string, string> }[];
}

/** Parses the text exposition format into families (enough of it for names, types and labels). */
function parse(text: string): Family[] {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      current = { name: type[1]!, type: type[2]!, samples: [] };
      families.set(current.name, current);
      continue;
    }
    if (line === '' || line.startsWith('#') || current === undefined) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (!sample) throw new Error(`unparsable sample line: ${line}`);
    const labels = Object.fromEntries([...(sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    current.samples.push({ name: sample[1]!, labels });
  }
  return [...families.values()];
}

describe('metric names on a live registry (runtime + mesh, shared)', () => {
  const registry = new Registry();
  let executor: Executor;
  let nodes: MeshNode[] = [];
  let families: Family[] = [];

  beforeAll(async () => {
    executor = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }],
      services: [{
        id: 'dbl', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 10_000 }, devices: ['d0'], plan: { batchSize: 2 },
        model: fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }], outputs: [{ name: 'y', from: 'x', scale: 2 }], fixedMs: 1, failIfAnyEquals: -7 }),
        profile: affineProfile('cpu-1t', { fixedMs: 1, perItemMs: 0, maxBatch: 8 }),
      }],
      launchWhenIdle: true,
    });
    await executor.start();
    const hub = createMemoryHub();
    const common = { security: { insecure: true }, syncPeriodMs: 20, placement: false } as const;
    const gpu = createNode({ id: 'gpu', transport: createMemoryTransport({ hub, address: 'gpu' }), executor, ...common });
    const edge = createNode({ id: 'edge', transport: createMemoryTransport({ hub, address: 'edge' }), executor: createFakeExecutor({ services: {} }), seeds: ['gpu'], ...common });
    nodes = [gpu, edge];
    const runtime = await createRuntimeMetrics({ executor, registry, node: 'gpu' });
    const meshGpu = await createMeshMetrics({ node: gpu, registry });
    const meshEdge = await createMeshMetrics({ node: edge, registry });
    await gpu.start();
    await edge.start();
    const x = (v: number) => ({ x: { type: 'float32' as const, dims: [1, 2], data: new Float32Array([v, v]) } });
    // The edge learns of gpu's instance through the ring: wait on its sync rounds, not on wall time.
    while (!edge.view().entries['gpu']?.instances.some((i) => i.serviceId === 'dbl' && i.status === 'ready')) await new Promise((r) => edge.once('syncCompleted', r));
    await Promise.all([edge.submit('dbl', x(1)), gpu.submit('dbl', x(2))]);
    // A failing model run and an unknown service, after the good ones (a failing item fails its whole batch).
    await gpu.submit('dbl', x(-7)).catch(() => undefined);
    await edge.submit('nope', x(3)).catch(() => undefined);
    runtime.observeRequest({ serviceId: 'dbl', category: 'latency', latencyMs: 3, outcome: 'ok' });
    families = parse(await registry.metrics());
    for (const m of [runtime, meshGpu, meshEdge]) m.close();
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await executor.close();
  });

  it('exposes the runtime and mesh families, each with samples after traffic', () => {
    const names = families.map((f) => f.name);
    for (const expected of ['epara_inference_request_success_total', 'epara_inference_request_failure_total', 'epara_offloads_total', 'epara_requests_rejected_total', 'epara_device_utilization', 'epara_sync_lag_seconds']) {
      expect(names).toContain(expected);
    }
    expect(families.find((f) => f.name === 'epara_offloads_total')!.samples.length).toBeGreaterThan(0);
  });

  it('follows the conventions: counters _total, base units, a node label on every series', () => {
    const problems: string[] = [];
    for (const f of families) {
      if (!/^epara_[a-z0-9]+(_[a-z0-9]+)*$/.test(f.name)) problems.push(`${f.name}: not snake_case under epara_`);
      if (f.type === 'counter' && !f.name.endsWith('_total')) problems.push(`${f.name}: a counter not ending in _total`);
      if (f.type !== 'counter' && f.name.endsWith('_total')) problems.push(`${f.name}: ends in _total but is a ${f.type}`);
      if (/_(ms|us|milliseconds|microseconds|kb|mb)(_|$)/.test(f.name)) problems.push(`${f.name}: not in a base unit (seconds, bytes)`);
      if (/duration|latency|lag|time/.test(f.name) && !/_seconds(_total)?$/.test(f.name)) problems.push(`${f.name}: a time not in seconds`);
      for (const s of f.samples) if (!s.labels['node']) problems.push(`${s.name}: series without a node label`);
    }
    expect(problems).toEqual([]);
  });

  it('tells the two nodes apart in one registry', () => {
    const nodesSeen = new Set(families.find((f) => f.name === 'epara_node_requests_total')!.samples.map((s) => s.labels['node']));
    expect([...nodesSeen].sort()).toEqual(['edge', 'gpu']);
  });
});
