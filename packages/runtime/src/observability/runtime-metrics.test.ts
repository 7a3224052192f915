import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { PromRegistry } from './load-prom-client.js';
import * as promClient from 'prom-client';
import { affineProfile, createManualClock, isEparaError } from '@epara/core';
import { createExecutor } from '../executor/create-executor.js';
import type { Executor } from '../executor/executor.js';
import { createManualTimers } from '../util/timers.js';
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
    expect(await sample(registry, 'epara_inference_request_success', { model: 'dbl' })).toBe(6);
    expect(await sample(registry, 'epara_inference_count', { model: 'dbl' })).toBe(6);
    expect(await sample(registry, 'epara_inference_exec_count', { model: 'dbl' })).toBe(stats.batches - 1);
    expect(await sample(registry, 'epara_inference_request_failure', { model: 'dbl', reason: 'MODEL_ERROR' })).toBe(1);
    expect(await sample(registry, 'epara_inference_batch_size_count', { model: 'dbl' })).toBe(stats.batches - 1);
    expect(await sample(registry, 'epara_inference_batch_size_sum', { model: 'dbl' })).toBe(6);
    expect(await sample(registry, 'epara_inference_compute_infer_duration_us', { model: 'dbl' })).toBeGreaterThan(0);
    expect(await sample(registry, 'epara_inference_pending_request_count', { model: 'dbl' })).toBe(0);
    expect(await sample(registry, 'epara_instances', { model: 'dbl', status: 'ready' })).toBe(1);
    const text = await metrics.metrics();
    expect(text).toContain('# TYPE epara_inference_request_success counter');
    expect(text).toMatch(/epara_device_memory_used_bytes\{device="d0"\} [1-9]/);
    expect(metrics.contentType).toContain('text/plain');
    metrics.close();
    expect(registry.getSingleMetric('epara_inference_request_success')).toBeUndefined();
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
    expect(await sample(metrics.registry, 'edge_requests_dropped', { model: 'dbl', reason: 'DEADLINE_EXCEEDED' })).toBe(1);
    metrics.observeRequest({ serviceId: 'dbl', category: 'latency', latencyMs: 12, outcome: 'ok' });
    metrics.observeRequest({ serviceId: 'dbl', category: 'latency', latencyMs: 80, outcome: 'late' });
    expect(await sample(metrics.registry, 'edge_goodput_requests', { model: 'dbl', category: 'latency' })).toBe(1);
    expect(await sample(metrics.registry, 'edge_requests_observed', { outcome: 'late' })).toBe(1);
    expect(await sample(metrics.registry, 'edge_request_duration_ms_count', { category: 'latency' })).toBe(2);
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
