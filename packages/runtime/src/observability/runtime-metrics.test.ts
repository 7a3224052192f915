import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { PromRegistry } from './load-prom-client.js';
import * as promClient from 'prom-client';
import { affineProfile, createManualClock, isEparaError } from '@epara/core';
import { createExecutor } from '../executor/create-executor.js';
import type { Executor } from '../executor/executor.js';
import { createManualTimers } from '@epara/core/testing';
import { fakeModelBytes } from '../devices/fake-backend.js';
import { createRuntimeMetrics } from './runtime-metrics.js';

const doubler = fakeModelBytes({
  inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }],
  outputs: [{ name: 'y', from: 'x', scale: 2, offset: 1 }],
  fixedMs: 2,
  failIfAnyEquals: -7,
});
const item = (v: number) => ({ x: { type: 'float32' as const, dims: [1, 2], data: new Float32Array([v, v]) } });
const flat = (ms: number) => affineProfile('cpu-1t', { fixedMs: ms, perItemMs: 0, maxBatch: 64 });
const latency = { sensitivity: 'latency' as const, slo: { kind: 'latency' as const, deadlineMs: 10_000 } };

/** Value of one sample in the registry, by metric name and labels. */
async function sample(metricsRegistry: PromRegistry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  // The metrics' registry is the prom-client Registry it was created with; its published type is structural.
  const registry = metricsRegistry as Registry;
  const base = name.replace(/_(count|sum)$/, '');
  const data = await (registry.getSingleMetric(name) ?? registry.getSingleMetric(base))?.get();
  const values = data?.values.filter((v) => (v as { metricName?: string }).metricName === undefined || (v as { metricName?: string }).metricName === name);
  return values?.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

describe('createRuntimeMetrics (real executor, fake backend)', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  it('counts successes, failures, executions and batch sizes from the executor events', async () => {
    ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }],
      services: [{ id: 'dbl', model: doubler, ...latency, profile: flat(2), plan: { batchSize: 4 }, devices: ['d0'] }],
      launchWhenIdle: true,
    });
    await ex.start();
    const registry = new Registry();
    const metrics = await createRuntimeMetrics({ executor: ex, registry });
    await Promise.all(Array.from({ length: 6 }, (_, i) => ex!.submit('dbl', item(i))));
    await ex.submit('dbl', item(-7)).catch(() => undefined);
    const stats = ex.stats().services['dbl']!;
    expect(await sample(registry, 'epara_inference_request_success_total', { node: 'local', model: 'dbl' })).toBe(6);
    expect(await sample(registry, 'epara_inference_count_total', { model: 'dbl' })).toBe(6);
    expect(await sample(registry, 'epara_inference_exec_count_total', { model: 'dbl' })).toBe(stats.batches - 1);
    expect(await sample(registry, 'epara_inference_request_failure_total', { model: 'dbl', reason: 'MODEL_ERROR' })).toBe(1);
    expect(await sample(registry, 'epara_inference_batch_size_count', { model: 'dbl' })).toBe(stats.batches - 1);
    expect(await sample(registry, 'epara_inference_batch_size_sum', { model: 'dbl' })).toBe(6);
    expect(await sample(registry, 'epara_inference_compute_infer_duration_seconds_total', { model: 'dbl' })).toBeGreaterThan(0);
    expect(await sample(registry, 'epara_inference_pending_request_count', { model: 'dbl' })).toBe(0);
    expect(await sample(registry, 'epara_instances', { model: 'dbl', status: 'ready' })).toBe(1);
    // Queue and request durations are recorded by the executor itself, one observation per request.
    // A failed batch reports no dispatch time, so only the six that ran to outputs have a queue observation.
    expect(await sample(registry, 'epara_inference_queue_duration_seconds_count', { model: 'dbl' })).toBe(6);
    expect(await sample(registry, 'epara_inference_request_duration_seconds_count', { model: 'dbl', outcome: 'ok' })).toBe(6);
    expect(await sample(registry, 'epara_inference_request_duration_seconds_count', { model: 'dbl', outcome: 'MODEL_ERROR' })).toBe(1);
    const queued = (await sample(registry, 'epara_inference_queue_duration_seconds_sum', { model: 'dbl' }))!;
    const total = (await sample(registry, 'epara_inference_request_duration_seconds_sum', { model: 'dbl', outcome: 'ok' }))!;
    expect(queued).toBeGreaterThanOrEqual(0);
    // Each ok request's duration includes its queue wait and a 2 ms run.
    expect(total).toBeGreaterThan(6 * 0.002 * 0.5);
    const text = await metrics.metrics();
    expect(text).toContain('# TYPE epara_inference_request_success_total counter');
    expect(text).toContain('# TYPE epara_inference_queue_duration_seconds histogram');
    expect(text).toMatch(/epara_inference_request_duration_seconds_bucket\{le="\+Inf",node="local",model="dbl",outcome="ok"\} 6/);
    expect(text).toMatch(/epara_device_memory_used_bytes\{node="local",device="d0"\} [1-9]/);
    expect(metrics.contentType).toContain('text/plain');
    metrics.close();
    expect(registry.getSingleMetric('epara_inference_request_success_total')).toBeUndefined();
  });

  it('counts drops by reason, and goodput per category from observeRequest', async () => {
    const clock = createManualClock(0);
    const timers = createManualTimers();
    ex = createExecutor({
      backend: { kind: 'fake' },
      clock,
      timers,
      adaptLatency: false,
      batchWait: 'until-deadline',
      guardMs: 1,
      devices: [{ id: 'd0' }],
      services: [{ id: 'dbl', model: doubler, ...latency, profile: flat(10), plan: { batchSize: 8 }, devices: ['d0'] }],
    });
    await ex.start();
    const metrics = await createRuntimeMetrics({ executor: ex, prefix: 'edge_', client: promClient });
    const late = ex.submit('dbl', item(1), { deadline: 50 });
    clock.set(60);
    timers.fire(60);
    const code = await late.then(() => 'resolved', (e: unknown) => (isEparaError(e) ? e.code : 'untyped'));
    expect(code).toBe('DEADLINE_EXCEEDED');
    expect(await sample(metrics.registry, 'edge_inference_request_failure_total', { model: 'dbl', reason: 'DEADLINE_EXCEEDED' })).toBe(1);
    // A dropped request never reached a device: no queue observation, a request duration of exactly its 60 ms wait.
    expect(await sample(metrics.registry, 'edge_inference_queue_duration_seconds_count', { model: 'dbl' })).toBeUndefined();
    expect(await sample(metrics.registry, 'edge_inference_request_duration_seconds_count', { outcome: 'DEADLINE_EXCEEDED' })).toBe(1);
    expect(await sample(metrics.registry, 'edge_inference_request_duration_seconds_sum', { outcome: 'DEADLINE_EXCEEDED' })).toBeCloseTo(0.06, 9);
    metrics.observeRequest({ serviceId: 'dbl', category: 'latency', latencyMs: 12, outcome: 'ok' });
    metrics.observeRequest({ serviceId: 'dbl', category: 'latency', latencyMs: 80, outcome: 'late' });
    expect(await sample(metrics.registry, 'edge_goodput_requests_total', { model: 'dbl', category: 'latency' })).toBe(1);
    expect(await sample(metrics.registry, 'edge_requests_observed_total', { outcome: 'late' })).toBe(1);
    expect(await sample(metrics.registry, 'edge_request_duration_seconds_count', { category: 'latency' })).toBe(2);
    expect(await sample(metrics.registry, 'edge_request_duration_seconds_sum', { category: 'latency' })).toBeCloseTo(0.092, 6);
    metrics.close();
  });

  it('lets two executors share one registry, told apart by their node label', async () => {
    const make = () =>
      createExecutor({
        backend: { kind: 'fake' },
        devices: [{ id: 'd0' }],
        services: [{ id: 'dbl', model: doubler, ...latency, profile: flat(2), plan: { batchSize: 1 }, devices: ['d0'] }],
        launchWhenIdle: true,
      });
    const [a, b] = [make(), make()];
    try {
      await Promise.all([a.start(), b.start()]);
      const registry = new Registry();
      const ma = await createRuntimeMetrics({ executor: a, registry, node: 'edge-a' });
      const mb = await createRuntimeMetrics({ executor: b, registry, node: 'edge-b' });
      await expect(createRuntimeMetrics({ executor: b, registry, node: 'edge-b' })).rejects.toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'node' } });
      await a.submit('dbl', item(1));
      await Promise.all([b.submit('dbl', item(2)), b.submit('dbl', item(3))]);
      expect(await sample(registry, 'epara_inference_request_success_total', { node: 'edge-a', model: 'dbl' })).toBe(1);
      expect(await sample(registry, 'epara_inference_request_success_total', { node: 'edge-b', model: 'dbl' })).toBe(2);
      const text = await registry.metrics();
      expect(text).toMatch(/epara_instances\{node="edge-a",model="dbl",status="ready"\} 1/);
      expect(text).toMatch(/epara_instances\{node="edge-b",model="dbl",status="ready"\} 1/);
      ma.close();
      // The other executor's metrics stay until it closes too.
      expect(await sample(registry, 'epara_inference_request_success_total', { node: 'edge-b', model: 'dbl' })).toBe(2);
      mb.close();
      expect(registry.getMetricsAsArray()).toHaveLength(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('reports device utilization over the recent window, not since start', async () => {
    let t = 0;
    let busyMs = 0;
    const stats = () => ({ services: {}, devices: { d0: { busyMs, utilization: busyMs / Math.max(1, t), memoryUsedBytes: 0, memoryBytes: 1, restarts: 0 } }, streams: { open: 0, pushed: 0, completed: 0, dropped: 0, stale: 0 } });
    const executor = { on: () => undefined, off: () => undefined, stats, instances: () => [] } as never;
    const registry = new Registry();
    const metrics = await createRuntimeMetrics({ executor, registry, utilizationWindowMs: 1000, now: () => t });
    // Idle for 10 s, then fully busy for the last second: since start that is ~9%, recently it is 100%.
    t = 10_000;
    expect(await sample(registry, 'epara_device_utilization', { device: 'd0' })).toBe(0);
    t = 11_000;
    busyMs = 1000;
    expect(await sample(registry, 'epara_device_utilization', { device: 'd0' })).toBe(1);
    expect(await sample(registry, 'epara_device_busy_seconds_total', { device: 'd0' })).toBe(1);
    t = 12_000;
    expect(await sample(registry, 'epara_device_utilization', { device: 'd0' })).toBe(0);
    metrics.close();
  });

  it('rejects bad options with INVALID_OPTIONS naming the field', async () => {
    await expect(createRuntimeMetrics({ executor: {} as never })).rejects.toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'executor' } });
    const executor = { on: () => undefined, off: () => undefined, stats: () => undefined, instances: () => [] } as never;
    await expect(createRuntimeMetrics({ executor, prefix: '9bad-' })).rejects.toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'prefix' } });
    await expect(createRuntimeMetrics({ executor, client: {} as never })).rejects.toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'client' } });
    await expect(createRuntimeMetrics({ executor, batchSizeBuckets: [4, 2] })).rejects.toMatchObject({ details: { field: 'batchSizeBuckets' } });
  });
});
