import { invalidOption } from '../errors/epara-error.js';
import type { PromRegistry } from './prom-client-port.js';

type Registry = PromRegistry;

/**
 * Metrics shared by every source (executor, node) registered in one registry under one prefix: each source's
 * series carry its own `node` label, so two executors in one process share one registry without a name clash.
 * The metrics leave the registry when the last source closes.
 */
export interface SharedMetrics<M, S> {
  readonly metrics: M;
  /** The sources attached now, for gauges that read them at scrape time. */
  readonly sources: ReadonlyMap<string, S>;
  /** Detaches one source; removes the metrics from the registry when it was the last. */
  detach(node: string): void;
}

interface Entry<M, S> {
  readonly metrics: M;
  readonly sources: Map<string, S>;
  readonly names: readonly string[];
}

const byRegistry = new WeakMap<Registry, Map<string, Entry<unknown, unknown>>>();

/**
 * Attaches `source` as node `node` to the metrics `kind` + `prefix` of `registry`, defining them with `define`
 * (given the live source map) the first time.
 *
 * @throws EparaError `INVALID_OPTIONS` when a source with the same node label is already attached.
 */
export function attachShared<M, S>(
  registry: Registry,
  key: { readonly kind: string; readonly prefix: string },
  node: string,
  source: S,
  define: (sources: ReadonlyMap<string, S>) => M,
): SharedMetrics<M, S> {
  let kinds = byRegistry.get(registry);
  if (kinds === undefined) byRegistry.set(registry, (kinds = new Map()));
  const id = `${key.kind}\u0000${key.prefix}`;
  let entry = kinds.get(id) as Entry<M, S> | undefined;
  if (entry === undefined) {
    const sources = new Map<string, S>();
    const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
    const metrics = define(sources);
    const names = registry.getMetricsAsArray().map((m) => m.name).filter((n) => !before.has(n));
    entry = { metrics, sources, names };
    kinds.set(id, entry as Entry<unknown, unknown>);
  }
  if (entry.sources.has(node)) invalidOption('node', node, `a node label not yet used by another ${key.kind} in this registry`);
  entry.sources.set(node, source);
  const e = entry;
  return {
    metrics: e.metrics,
    sources: e.sources,
    detach() {
      if (!e.sources.delete(node) || e.sources.size > 0) return;
      for (const name of e.names) registry.removeSingleMetric(name);
      kinds?.delete(id);
    },
  };
}

/**
 * Busy fraction of a device over the recent window, from its cumulative busy time sampled at each scrape: the
 * change since the oldest sample still inside the window (the first scrape falls back to `sinceStart`).
 */
export class RecentUtilization {
  readonly #windowMs: number;
  readonly #samples = new Map<string, { t: number; busyMs: number }[]>();

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  sample(device: string, t: number, busyMs: number, sinceStart: number): number {
    let list = this.#samples.get(device);
    if (list === undefined) this.#samples.set(device, (list = []));
    // Keep the newest sample at or before the window's start, so the window is always fully covered.
    while (list.length > 1 && list[1]!.t <= t - this.#windowMs) list.shift();
    const oldest = list[0];
    list.push({ t, busyMs });
    if (oldest === undefined || t <= oldest.t) return sinceStart;
    return Math.min(1, Math.max(0, (busyMs - oldest.busyMs) / (t - oldest.t)));
  }
}
