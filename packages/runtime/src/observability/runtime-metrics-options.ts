import { invalidOption } from '@epara/core';
import type { Executor } from '../executor/executor.js';
// From core, not this folder's loader: a declaration naming the loader would reach prom-client's own types, which
// a host without the optional peer cannot resolve.
import type { PromClient, PromRegistry } from '@epara/core/internal';

/** What the runtime metrics read from an executor: its typed events and its `stats()` snapshot. */
export type MetricsExecutor = Pick<Executor, 'on' | 'off' | 'stats' | 'instances'>;

/** Options of {@link createRuntimeMetrics}. */
export interface RuntimeMetricsOptions {
  /** The executor to observe (`createExecutor(...)`). */
  readonly executor: MetricsExecutor;
  /** Registry to register the metrics in. @default a new prom-client `Registry` */
  readonly registry?: PromRegistry;
  /** Prefix of every metric name (Triton's is `nv_`). @default 'epara_' */
  readonly prefix?: string;
  /** The prom-client module, when it cannot be imported by name (bundled hosts). @default `import('prom-client')` */
  readonly client?: PromClient;
  /** Buckets of the batch-size histogram. @default [1, 2, 4, 8, 16, 32, 64] */
  readonly batchSizeBuckets?: readonly number[];
  /** Buckets of the request-duration histograms (host-observed and executor-recorded), ms (exported in seconds). @default [5, 10, 25, 50, 100, 250, 500, 1000, 2500] */
  readonly latencyBucketsMs?: readonly number[];
  /** Buckets of the queue-duration histogram, ms (exported in seconds). @default [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000] */
  readonly queueBucketsMs?: readonly number[];
  /**
   * Value of the `node` label on every series, which tells executors sharing one registry apart (and matches
   * the mesh metrics' `node` label). @default 'local'
   */
  readonly node?: string;
  /** Window of `device_utilization`, ms: the busy fraction over about this much recent time. @default 10000 */
  readonly utilizationWindowMs?: number;
  /** Clock for the utilization window, ms. @default `performance.now` */
  readonly now?: () => number;
}

/** Defaults of {@link RuntimeMetricsOptions}. */
export const DEFAULT_RUNTIME_METRICS_OPTIONS = {
  prefix: 'epara_',
  batchSizeBuckets: [1, 2, 4, 8, 16, 32, 64],
  latencyBucketsMs: [5, 10, 25, 50, 100, 250, 500, 1000, 2500],
  queueBucketsMs: [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000],
  node: 'local',
  utilizationWindowMs: 10_000,
} as const;

/** {@link RuntimeMetricsOptions} after defaults and validation (the registry is created later). */
export interface ResolvedRuntimeMetricsOptions {
  readonly executor: MetricsExecutor;
  readonly registry: PromRegistry | undefined;
  readonly prefix: string;
  readonly client: PromClient | undefined;
  readonly batchSizeBuckets: readonly number[];
  readonly latencyBucketsMs: readonly number[];
  readonly queueBucketsMs: readonly number[];
  readonly node: string;
  readonly utilizationWindowMs: number;
  readonly now: () => number;
}

/**
 * Fills and validates {@link RuntimeMetricsOptions}.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field, its value and what was expected.
 */
export function resolveRuntimeMetricsOptions(o: RuntimeMetricsOptions): ResolvedRuntimeMetricsOptions {
  if (typeof o !== 'object' || o === null) invalidOption('options', o, 'an object');
  const ex = o.executor as Partial<MetricsExecutor> | undefined;
  if (!ex || typeof ex.on !== 'function' || typeof ex.stats !== 'function') invalidOption('executor', o.executor, 'an Executor');
  const d = DEFAULT_RUNTIME_METRICS_OPTIONS;
  const prefix = o.prefix ?? d.prefix;
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:]?[a-zA-Z0-9_:]*$/.test(prefix)) invalidOption('prefix', prefix, 'a Prometheus name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)');
  const node = o.node ?? d.node;
  if (typeof node !== 'string' || node === '') invalidOption('node', node, 'a non-empty string');
  const utilizationWindowMs = o.utilizationWindowMs ?? d.utilizationWindowMs;
  if (!(utilizationWindowMs > 0) || !Number.isFinite(utilizationWindowMs)) invalidOption('utilizationWindowMs', utilizationWindowMs, 'a finite number > 0');
  const now = o.now ?? (() => performance.now());
  if (typeof now !== 'function') invalidOption('now', now, 'a function returning ms');
  return {
    executor: o.executor,
    registry: o.registry,
    prefix,
    client: o.client,
    batchSizeBuckets: buckets('batchSizeBuckets', o.batchSizeBuckets ?? d.batchSizeBuckets),
    latencyBucketsMs: buckets('latencyBucketsMs', o.latencyBucketsMs ?? d.latencyBucketsMs),
    queueBucketsMs: buckets('queueBucketsMs', o.queueBucketsMs ?? d.queueBucketsMs),
    node,
    utilizationWindowMs,
    now,
  };
}

/** Validates histogram buckets: a non-empty increasing list of finite numbers. */
export function buckets(field: string, v: readonly number[]): readonly number[] {
  const ok = Array.isArray(v) && v.length > 0 && v.every((x, i) => Number.isFinite(x) && (i === 0 || x > v[i - 1]!));
  if (!ok) invalidOption(field, v, 'a non-empty increasing array of finite numbers');
  return v;
}
