import type { Registry } from 'prom-client';
import type { BatchCompletedEvent, RequestDroppedEvent } from '../executor/executor-events.js';
import { loadPromClient } from './load-prom-client.js';
import type { PromRegistry } from './load-prom-client.js';
import { resolveRuntimeMetricsOptions } from './runtime-metrics-options.js';
import type { ResolvedRuntimeMetricsOptions, RuntimeMetricsOptions } from './runtime-metrics-options.js';

/** One request's outcome as the host saw it, for goodput per category (see {@link RuntimeMetrics.observeRequest}). */
export interface ObservedRequest {
  readonly serviceId: string;
  /** The service's category, e.g. `latency` or `frequency` (or `latency/single`). */
  readonly category: string;
  /** End-to-end latency the host measured, ms. */
  readonly latencyMs: number;
  /** `ok` within SLO, `late` answered after its deadline, or an error code (`DEADLINE_EXCEEDED`, `OVERLOADED`…). */
  readonly outcome: 'ok' | 'late' | string;
}

/** Prometheus metrics of one executor (see docs/observability.md for every name). */
export interface RuntimeMetrics {
  /** The registry holding the metrics (the one passed in, or a new one). */
  readonly registry: PromRegistry;
  /** Prometheus text exposition of the registry. */
  metrics(): Promise<string>;
  /** The `Content-Type` header to serve {@link RuntimeMetrics.metrics} with. */
  readonly contentType: string;
  /** Records one request's outcome: feeds `epara_goodput_requests` and the latency histogram. */
  observeRequest(request: ObservedRequest): void;
  /** Stops listening to the executor and removes the metrics from the registry. Idempotent. */
  close(): void;
}

/**
 * Registers Prometheus metrics for an executor: counters fed by its typed events (`batchCompleted`,
 * `requestDropped`), gauges read from `executor.stats()` at each scrape. Names follow Triton's
 * (`nv_inference_request_success` → `epara_inference_request_success`) where they mean the same.
 *
 * @throws EparaError `INVALID_OPTIONS` for bad options, or when the optional peer `prom-client` is missing.
 * @example
 * ```ts
 * import { createExecutor, createRuntimeMetrics } from '@epara/runtime';
 * const executor = createExecutor({ devices: [{ id: 'cpu0' }], services: [] });
 * const metrics = await createRuntimeMetrics({ executor });
 * const text = await metrics.metrics(); // serve on GET /metrics with metrics.contentType
 * metrics.close();
 * ```
 */
export async function createRuntimeMetrics(options: RuntimeMetricsOptions): Promise<RuntimeMetrics> {
  const o = resolveRuntimeMetricsOptions(options);
  const client = await loadPromClient(o.client);
  // A host's registry is a prom-client Registry (the structural type only keeps our published types standalone).
  const registry = (o.registry ?? new client.Registry()) as Registry;
  const before = new Set(registry.getMetricsAsArray().map((x) => x.name));
  const m = defineMetrics(client, registry, o);
  const names = registry.getMetricsAsArray().map((x) => x.name).filter((n) => !before.has(n));
  const onCompleted = (e: BatchCompletedEvent): void => {
    const model = e.serviceId;
    if (e.ok) {
      m.success.inc({ model }, e.size);
      m.count.inc({ model }, e.size);
      m.exec.inc({ model });
      m.compute.inc({ model }, e.runMs * 1000);
      m.overhead.inc({ model }, Math.max(0, e.durationMs - e.runMs) * 1000);
      m.batchSize.observe({ model }, e.size);
    } else {
      m.failure.inc({ model, reason: e.error ?? 'INTERNAL' }, e.size);
    }
  };
  const onDropped = (e: RequestDroppedEvent): void => {
    m.failure.inc({ model: e.serviceId, reason: e.code });
    m.dropped.inc({ model: e.serviceId, reason: e.code });
  };
  o.executor.on('batchCompleted', onCompleted);
  o.executor.on('requestDropped', onDropped);
  let closed = false;
  return {
    registry,
    contentType: registry.contentType,
    metrics: () => registry.metrics(),
    observeRequest(r) {
      const labels = { model: r.serviceId, category: r.category };
      m.requests.inc({ ...labels, outcome: r.outcome });
      if (r.outcome === 'ok') m.goodput.inc(labels);
      if (Number.isFinite(r.latencyMs) && r.latencyMs >= 0) m.latency.observe(labels, r.latencyMs);
    },
    close() {
      if (closed) return;
      closed = true;
      o.executor.off('batchCompleted', onCompleted);
      o.executor.off('requestDropped', onDropped);
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
}

type Client = Awaited<ReturnType<typeof loadPromClient>>;

function defineMetrics(client: Client, registry: Registry, o: ResolvedRuntimeMetricsOptions) {
  const p = o.prefix;
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[]) => new client.Counter({ name: p + name, help, labelNames, registers });
  return {
    // Triton: nv_inference_request_success / _failure (reason label as in Triton ≥ 24.x).
    success: counter('inference_request_success', 'Requests completed successfully (Triton nv_inference_request_success)', ['model']),
    failure: counter('inference_request_failure', 'Requests that failed or were dropped, by reason code (Triton nv_inference_request_failure)', ['model', 'reason']),
    // Triton: nv_inference_count (items inferred) and nv_inference_exec_count (model executions = batches).
    count: counter('inference_count', 'Items inferred, batched items counted one each (Triton nv_inference_count)', ['model']),
    exec: counter('inference_exec_count', 'Model executions: batches and packs (Triton nv_inference_exec_count)', ['model']),
    // Triton: nv_inference_compute_infer_duration_us (cumulative).
    compute: counter('inference_compute_infer_duration_us', 'Cumulative time inside the backend, µs (Triton nv_inference_compute_infer_duration_us)', ['model']),
    // Triton splits host transfer into compute_input + compute_output; ours is their sum (host ↔ device worker).
    overhead: counter(
      'inference_compute_io_duration_us',
      'Cumulative host-side time around backend runs (tensor transfer to and from the device worker), µs (Triton nv_inference_compute_input_duration_us + _output_)',
      ['model'],
    ),
    dropped: counter('requests_dropped', 'Requests or frames dropped before running, by reason (DEADLINE_EXCEEDED, STALE_FRAME)', ['model', 'reason']),
    batchSize: new client.Histogram({ name: p + 'inference_batch_size', help: 'Items per model execution', labelNames: ['model'], buckets: [...o.batchSizeBuckets], registers }),
    requests: counter('requests_observed', 'Requests the host reported through observeRequest, by outcome', ['model', 'category', 'outcome']),
    goodput: counter('goodput_requests', 'Requests completed within their SLO (goodput), by category', ['model', 'category']),
    latency: new client.Histogram({ name: p + 'request_duration_ms', help: 'End-to-end request latency the host observed, ms', labelNames: ['model', 'category'], buckets: [...o.latencyBucketsMs], registers }),
    ...defineGauges(client, registers, p, o.executor),
  };
}

type Stats = ReturnType<ResolvedRuntimeMetricsOptions['executor']['stats']>;

function defineGauges(client: Client, registers: Registry[], p: string, executor: ResolvedRuntimeMetricsOptions['executor']) {
  const stats = (): Stats => executor.stats();
  const instances = () => executor.instances();
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: { set(labels: Record<string, string>, v: number): void }, s: Stats) => void) =>
    new client.Gauge({
      name: p + name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        fill(this, stats());
      },
    });
  return {
    pending: gauge('inference_pending_request_count', 'Requests waiting in the executor queues (Triton nv_inference_pending_request_count)', ['model'], (g, s) => {
      for (const [model, v] of Object.entries(s.services)) g.set({ model }, v.queued);
    }),
    utilization: gauge('device_utilization', 'Busy fraction of the device since start, 0..1 (Triton nv_gpu_utilization)', ['device'], (g, s) => {
      for (const [device, v] of Object.entries(s.devices)) g.set({ device }, v.utilization);
    }),
    memUsed: gauge('device_memory_used_bytes', 'Model memory reserved on the device (Triton nv_gpu_memory_used_bytes)', ['device'], (g, s) => {
      for (const [device, v] of Object.entries(s.devices)) g.set({ device }, v.memoryUsedBytes);
    }),
    memTotal: gauge('device_memory_total_bytes', 'Memory budget of the device, +Inf when unbounded (Triton nv_gpu_memory_total_bytes)', ['device'], (g, s) => {
      for (const [device, v] of Object.entries(s.devices)) g.set({ device }, v.memoryBytes);
    }),
    restarts: gauge('device_worker_restarts', 'Times the device worker was restarted after a crash', ['device'], (g, s) => {
      for (const [device, v] of Object.entries(s.devices)) g.set({ device }, v.restarts);
    }),
    instances: gauge('instances', 'Model instances on this executor by status (loading, ready, draining)', ['model', 'status'], (g) => {
      const counts = new Map<string, number>();
      for (const i of instances()) counts.set(`${i.serviceId}\u0000${i.status}`, (counts.get(`${i.serviceId}\u0000${i.status}`) ?? 0) + 1);
      for (const [k, v] of counts) {
        const [model = '', status = ''] = k.split('\u0000');
        g.set({ model, status }, v);
      }
    }),
    streams: gauge('streams_open', 'Open frequency streams', [], (g, s) => g.set({}, s.streams.open)),
    frames: gauge('stream_frames', 'Stream frames by state since start (pushed, completed, dropped, stale)', ['state'], (g, s) => {
      for (const state of ['pushed', 'completed', 'dropped', 'stale'] as const) g.set({ state }, s.streams[state]);
    }),
  };
}
