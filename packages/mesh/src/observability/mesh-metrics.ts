import { invalidOption } from '@epara/core';
import type { Registry } from 'prom-client';
import type { MeshNode } from '../node/mesh-node.js';
import type { NodeEvents } from '../node/node-events.js';
import { loadPromClient } from './load-prom-client.js';
import type { PromClient, PromClientModule, PromRegistry } from './load-prom-client.js';

/** What the mesh metrics read from a node: its typed events, `stats()` and `view()`. */
export type MetricsNode = Pick<MeshNode, 'on' | 'off' | 'stats' | 'view'>;

/** Options of {@link createMeshMetrics}. */
export interface MeshMetricsOptions {
  /** The node to observe (`createNode(...)`). */
  readonly node: MetricsNode;
  /** Registry to register the metrics in (share one with `createRuntimeMetrics`). @default a new prom-client `Registry` */
  readonly registry?: PromRegistry;
  /** Prefix of every metric name. @default 'epara_' */
  readonly prefix?: string;
  /** The prom-client module, when it cannot be imported by name. @default `import('prom-client')` */
  readonly client?: PromClient;
  /** Clock for the view's age (same clock as the node's). @default Date.now */
  readonly now?: () => number;
}

/** Prometheus metrics of one mesh node (see docs/observability.md). */
export interface MeshMetrics {
  readonly registry: PromRegistry;
  metrics(): Promise<string>;
  readonly contentType: string;
  /** Stops listening to the node and removes the metrics from the registry. Idempotent. */
  close(): void;
}

type Handlers = { [K in keyof NodeEvents]?: (...args: NodeEvents[K]) => void };

/**
 * Registers Prometheus metrics for a mesh node: offloads, rejections by code, sync rounds and lag (age of
 * each peer's entry in this node's view), peers, placement, fed by the node's typed events and read from
 * `node.stats()` / `node.view()` at each scrape.
 *
 * @throws EparaError `INVALID_OPTIONS` for bad options, or when the optional peer `prom-client` is missing.
 * @example
 * ```ts
 * import { createMeshMetrics } from '@epara/mesh';
 * const metrics = await createMeshMetrics({ node });
 * const text = await metrics.metrics();
 * ```
 */
export async function createMeshMetrics(options: MeshMetricsOptions): Promise<MeshMetrics> {
  if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
  const node = options.node as Partial<MetricsNode> | undefined;
  if (!node || typeof node.on !== 'function' || typeof node.stats !== 'function' || typeof node.view !== 'function') invalidOption('node', options.node, 'a MeshNode');
  const p = options.prefix ?? 'epara_';
  if (typeof p !== 'string' || !/^[a-zA-Z_:]?[a-zA-Z0-9_:]*$/.test(p)) invalidOption('prefix', p, 'a Prometheus name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)');
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') invalidOption('now', now, 'a function returning ms');
  const client = await loadPromClient(options.client);
  // A host's registry is a prom-client Registry (the structural type only keeps our published types standalone).
  const registry = (options.registry ?? new client.Registry()) as Registry;
  const before = new Set(registry.getMetricsAsArray().map((x) => x.name));
  const handlers = defineMetrics(client, registry, p, options.node, now);
  const names = registry.getMetricsAsArray().map((x) => x.name).filter((n) => !before.has(n));
  for (const [event, fn] of Object.entries(handlers)) options.node.on(event as keyof NodeEvents, fn as never);
  let closed = false;
  return {
    registry,
    contentType: registry.contentType,
    metrics: () => registry.metrics(),
    close() {
      if (closed) return;
      closed = true;
      for (const [event, fn] of Object.entries(handlers)) options.node.off(event as keyof NodeEvents, fn as never);
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
}

function defineMetrics(client: PromClientModule, registry: Registry, p: string, node: MetricsNode, now: () => number): Handlers {
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[]) => new client.Counter({ name: p + name, help, labelNames, registers });
  const offloads = counter('offloads', 'Requests this node forwarded to a peer (retry="true" after a peer failed)', ['model', 'peer', 'retry']);
  const rejected = counter('requests_rejected', 'Requests this node rejected, by code (NO_INSTANCE, OVERLOADED, DEADLINE_INFEASIBLE…)', ['model', 'code']);
  const syncDuration = new client.Histogram({
    name: p + 'sync_round_duration_ms',
    help: 'Time for a ring round this node started to come back, ms',
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers,
  });
  const peerEvents = counter('peer_events', 'Peers that joined or left this node\'s view', ['event', 'reason']);
  const placements = counter('placements_computed', 'Placements this node computed as leader, by trigger', ['trigger']);
  const framesRejected = counter('frames_rejected', 'Frames from peers that failed validation, by code', ['code']);
  defineGauges(client, registers, p, node, now);
  return {
    requestOffloaded: (e) => offloads.inc({ model: e.serviceId, peer: e.to, retry: String(e.retry) }),
    requestRejected: (e) => rejected.inc({ model: e.serviceId, code: String(e.code) }),
    syncCompleted: (e) => syncDuration.observe(e.durationMs),
    peerJoined: () => peerEvents.inc({ event: 'joined', reason: '' }),
    peerLeft: (e) => peerEvents.inc({ event: 'left', reason: String(e.reason) }),
    placementComputed: (e) => placements.inc({ trigger: e.trigger }),
    frameRejected: (e) => framesRejected.inc({ code: e.code }),
  };
}

type Setter = { set(labels: Record<string, string>, v: number): void };

function defineGauges(client: PromClientModule, registers: Registry[], p: string, node: MetricsNode, now: () => number): void {
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Setter) => void) =>
    new client.Gauge({
      name: p + name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        fill(this);
      },
    });
  gauge('node_requests', 'Counters from node.stats(): submitted, ran_locally, offloaded, retried, received, rejected', ['kind'], (g) => {
    const s = node.stats();
    const kinds = { submitted: s.submitted, ran_locally: s.ranLocally, offloaded: s.offloaded, retried: s.retried, received: s.received, rejected: s.rejected };
    for (const [kind, v] of Object.entries(kinds)) g.set({ kind }, v);
  });
  gauge('forwards_in_flight', 'Forwarded requests waiting for their peer', [], (g) => g.set({}, node.stats().inFlightForwards));
  gauge('peers', 'Peers connected and alive in the view', ['state'], (g) => {
    const s = node.stats();
    g.set({ state: 'connected' }, s.connectedPeers);
    g.set({ state: 'alive' }, s.alivePeers);
  });
  gauge('sync_rounds', 'Ring rounds this node completed', [], (g) => g.set({}, node.stats().syncRounds));
  gauge('sync_bytes_sent', 'Bytes of ring-sync frames this node sent', [], (g) => g.set({}, node.stats().syncBytesSent));
  gauge('bytes_sent', 'Bytes this node sent to peers', [], (g) => g.set({}, node.stats().bytesSent));
  gauge('placements_applied', 'Placements this node applied', [], (g) => g.set({}, node.stats().placementsApplied));
  gauge('sync_lag_ms', 'Age of each server\'s entry in this node\'s view (now − updatedAt), ms: the sync lag', ['peer'], (g) => {
    const t = now();
    for (const [peer, e] of Object.entries(node.view().entries)) if (e.alive) g.set({ peer }, Math.max(0, t - e.updatedAt));
  });
}
