import type { Registry } from 'prom-client';
import type { BatchCompletedEvent, RequestCompletedEvent, RequestDroppedEvent } from '../executor/executor-events.js';
import { loadPromClient } from './load-prom-client.js';
import type { PromRegistry } from '@epara/core/internal';
import { resolveRuntimeMetricsOptions } from './runtime-metrics-options.js';
import type { MetricsExecutor, ResolvedRuntimeMetricsOptions, RuntimeMetricsOptions } from './runtime-metrics-options.js';
import { attachShared, RecentUtilization, scrapeMetricFactories, type LabelSetter } from '@epara/core/internal';

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
  /** Records one request's outcome as the host saw it: feeds `epara_goodput_requests_total`, `epara_requests_observed_total` and `epara_request_duration_seconds`. */
  observeRequest(request: ObservedRequest): void;
  /** Stops listening to the executor and removes the metrics from the registry. Idempotent. */
  close(): void;
}

/**
 * Registers Prometheus metrics for an executor: counters fed by its typed events (`batchCompleted`,
 * `requestDropped`), gauges read from `executor.stats()` at each scrape. Names follow Triton's where they mean
 * the same (`nv_inference_request_success` → `epara_inference_request_success_total`) and Prometheus'
 * conventions: counters end in `_total`, durations are in seconds, sizes in bytes, and every series carries a
 * `node` label, so several executors can share one registry (docs/observability.md has the table).
 *
 * @throws EparaError `INVALID_OPTIONS` for bad options, when the optional peer `prom-client` is missing, or
 * when another executor with the same `node` label already uses the registry.
 * @example
 * ```ts
 * import { createExecutor, createRuntimeMetrics } from '@epara/runtime';
 * const executor = createExecutor({ devices: [{ id: 'cpu0' }], services: [] });
 * const metrics = await createRuntimeMetrics({ executor, node: 'edge-a' });
 * const text = await metrics.metrics(); // serve on GET /metrics with metrics.contentType
 * metrics.close();
 * ```
 */
export async function createRuntimeMetrics(options: RuntimeMetricsOptions): Promise<RuntimeMetrics> {
  const o = resolveRuntimeMetricsOptions(options);
  const client = await loadPromClient(o.client);
  // A host's registry is a prom-client Registry (the structural type only keeps our published types standalone).
  const registry = (o.registry ?? new client.Registry()) as Registry;
  const source: Source = { executor: o.executor, utilization: new RecentUtilization(o.utilizationWindowMs), now: o.now };
  const shared = attachShared(registry, { kind: 'executor', prefix: o.prefix }, o.node, source, (sources) => defineMetrics(client, registry, o, sources));
  const m = shared.metrics;
  const node = o.node;
  const onCompleted = (e: BatchCompletedEvent): void => {
    const model = e.serviceId;
    if (e.ok) {
      m.success.inc({ node, model }, e.size);
      m.count.inc({ node, model }, e.size);
      m.exec.inc({ node, model });
      m.compute.inc({ node, model }, e.runMs / 1000);
      m.overhead.inc({ node, model }, Math.max(0, e.durationMs - e.runMs) / 1000);
      m.batchSize.observe({ node, model }, e.size);
    } else {
      m.failure.inc({ node, model, reason: e.error ?? 'INTERNAL' }, e.size);
    }
  };
  // A drop is a failure that never ran: counted once, with its reason.
  const onDropped = (e: RequestDroppedEvent): void => m.failure.inc({ node, model: e.serviceId, reason: e.code });
  // Recorded by the executor for every queued request, not by the host (Triton's queue and request durations).
  const onRequest = (e: RequestCompletedEvent): void => {
    const model = e.serviceId;
    if (e.startedAt !== undefined) m.queueDuration.observe({ node, model }, Math.max(0, e.startedAt - e.enqueuedAt) / 1000);
    m.requestDuration.observe({ node, model, outcome: e.outcome }, Math.max(0, e.finishedAt - e.enqueuedAt) / 1000);
  };
  o.executor.on('batchCompleted', onCompleted);
  o.executor.on('requestDropped', onDropped);
  o.executor.on('requestCompleted', onRequest);
  let closed = false;
  return {
    registry,
    contentType: registry.contentType,
    metrics: () => registry.metrics(),
    observeRequest(r) {
      const labels = { node, model: r.serviceId, category: r.category };
      m.requests.inc({ ...labels, outcome: r.outcome });
      if (r.outcome === 'ok') m.goodput.inc(labels);
      if (Number.isFinite(r.latencyMs) && r.latencyMs >= 0) m.latency.observe(labels, r.latencyMs / 1000);
    },
    close() {
      if (closed) return;
      closed = true;
      o.executor.off('batchCompleted', onCompleted);
      o.executor.off('requestDropped', onDropped);
      o.executor.off('requestCompleted', onRequest);
      shared.detach(node);
    },
  };
}

/** One executor as the shared gauges read it at scrape time. */
interface Source {
  readonly executor: MetricsExecutor;
  readonly utilization: RecentUtilization;
  readonly now: () => number;
}

function defineMetrics(client: Client, registry: Registry, o: ResolvedRuntimeMetricsOptions, sources: ReadonlyMap<string, Source>) {
  const p = o.prefix;
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[]) => new client.Counter({ name: p + name, help, labelNames: ['node', ...labelNames], registers });
  /** A histogram in seconds, from bucket bounds given in ms. */
  const seconds = (name: string, help: string, labelNames: string[], bucketsMs: readonly number[]) =>
    new client.Histogram({ name: p + name, help, labelNames: ['node', ...labelNames], buckets: bucketsMs.map((ms) => ms / 1000), registers });
  return {
    // Triton: nv_inference_request_success / _failure (reason label as in Triton ≥ 24.x).
    success: counter('inference_request_success_total', 'Requests completed successfully (Triton nv_inference_request_success)', ['model']),
    failure: counter(
      'inference_request_failure_total',
      'Requests that failed, or were dropped before running, by reason code: DEADLINE_EXCEEDED, STALE_FRAME, MODEL_ERROR… (Triton nv_inference_request_failure)',
      ['model', 'reason'],
    ),
    // Triton: nv_inference_count (items inferred) and nv_inference_exec_count (model executions = batches).
    count: counter('inference_count_total', 'Items inferred, batched items counted one each (Triton nv_inference_count)', ['model']),
    exec: counter('inference_exec_count_total', 'Model executions: batches and packs (Triton nv_inference_exec_count)', ['model']),
    // Triton: nv_inference_compute_infer_duration_us (cumulative), here in seconds.
    compute: counter('inference_compute_infer_duration_seconds_total', 'Cumulative time inside the backend, s (Triton nv_inference_compute_infer_duration_us)', ['model']),
    // Triton splits host transfer into compute_input + compute_output; ours is their sum (host ↔ device worker).
    overhead: counter(
      'inference_compute_io_duration_seconds_total',
      'Cumulative host-side time around backend runs (tensor transfer to and from the device worker), s (Triton nv_inference_compute_input_duration_us + _output_)',
      ['model'],
    ),
    batchSize: new client.Histogram({ name: p + 'inference_batch_size', help: 'Items per model execution', labelNames: ['node', 'model'], buckets: [...o.batchSizeBuckets], registers }),
    requests: counter('requests_observed_total', 'Requests the host reported through observeRequest, by outcome', ['model', 'category', 'outcome']),
    goodput: counter('goodput_requests_total', 'Requests completed within their SLO (goodput), by category', ['model', 'category']),
    latency: seconds('request_duration_seconds', 'End-to-end request latency the host observed, s', ['model', 'category'], o.latencyBucketsMs),
    // Triton: nv_inference_queue_duration_us and nv_inference_request_duration_us, as histograms in seconds.
    queueDuration: seconds(
      'inference_queue_duration_seconds',
      'Time a request waited in the executor queue before its batch left for a device, s (Triton nv_inference_queue_duration_us)',
      ['model'],
      o.queueBucketsMs,
    ),
    requestDuration: seconds(
      'inference_request_duration_seconds',
      'Time from queueing to settling inside the executor, by outcome (ok or the error code), s (Triton nv_inference_request_duration_us)',
      ['model', 'outcome'],
      o.latencyBucketsMs,
    ),
    ...defineGauges(client, registers, p, sources),
  };
}

type Client = Awaited<ReturnType<typeof loadPromClient>>;
type Stats = ReturnType<MetricsExecutor['stats']>;
function defineGauges(client: Client, registers: Registry[], p: string, sources: ReadonlyMap<string, Source>) {
  type Fill = (g: LabelSetter, s: Stats, node: string, source: Source) => void;
  // Read at scrape time from every executor sharing the registry, each under its node label.
  const { gauge, mirror } = scrapeMetricFactories<Fill, Registry>(client, registers, p, (set, fill) => {
    for (const [node, source] of sources) fill(set, source.executor.stats(), node, source);
  });
  return {
    pending: gauge('inference_pending_request_count', 'Requests waiting in the executor queues (Triton nv_inference_pending_request_count)', ['model'], (g, s, node) => {
      for (const [model, v] of Object.entries(s.services)) g.set({ node, model }, v.queued);
    }),
    utilization: gauge('device_utilization', 'Busy fraction of the device over the recent window (utilizationWindowMs), 0..1 (Triton nv_gpu_utilization)', ['device'], (g, s, node, src) => {
      const t = src.now();
      for (const [device, v] of Object.entries(s.devices)) g.set({ node, device }, src.utilization.sample(device, t, v.busyMs, v.utilization));
    }),
    busy: mirror('device_busy_seconds_total', 'Cumulative time the device spent running batches, s (rate() of it is the utilization)', ['device'], (c, s, node) => {
      for (const [device, v] of Object.entries(s.devices)) c.set({ node, device }, v.busyMs / 1000);
    }),
    memUsed: gauge('device_memory_used_bytes', 'Model memory reserved on the device (Triton nv_gpu_memory_used_bytes)', ['device'], (g, s, node) => {
      for (const [device, v] of Object.entries(s.devices)) g.set({ node, device }, v.memoryUsedBytes);
    }),
    memTotal: gauge('device_memory_total_bytes', 'Memory budget of the device, +Inf when unbounded (Triton nv_gpu_memory_total_bytes)', ['device'], (g, s, node) => {
      for (const [device, v] of Object.entries(s.devices)) g.set({ node, device }, v.memoryBytes);
    }),
    restarts: mirror('device_worker_restarts_total', 'Times the device worker was restarted after a crash', ['device'], (c, s, node) => {
      for (const [device, v] of Object.entries(s.devices)) c.set({ node, device }, v.restarts);
    }),
    instances: gauge('instances', 'Model instances on this executor by status (loading, ready, draining)', ['model', 'status'], (g, _s, node, src) => {
      const counts = new Map<string, number>();
      for (const i of src.executor.instances()) counts.set(`${i.serviceId}\u0000${i.status}`, (counts.get(`${i.serviceId}\u0000${i.status}`) ?? 0) + 1);
      for (const [k, v] of counts) {
        const [model = '', status = ''] = k.split('\u0000');
        g.set({ node, model, status }, v);
      }
    }),
    streams: gauge('streams_open', 'Open frequency streams', [], (g, s, node) => g.set({ node }, s.streams.open)),
    frames: mirror('stream_frames_total', 'Stream frames by state (pushed, completed, dropped, stale)', ['state'], (c, s, node) => {
      for (const state of ['pushed', 'completed', 'dropped', 'stale'] as const) c.set({ node, state }, s.streams[state]);
    }),
  };
}
